"""Colour code blocks in place with char formats; large ones in time slices.

Every code block is inserted as plain monospace text in its frame, the same from the first
streamed line to the last, and coloured afterwards: a small block at once, a large one a few
milliseconds at a time between frames (Pygments is linear but slow: at the fence close a
large block would be a visible freeze). A thread would not help:
lexing is pure Python and holds the GIL.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from functools import lru_cache

from pygments.styles import get_style_by_name  # type: ignore[import-untyped]
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor, QTextDocument

from streamdesk.ui.transcript.highlight import built, lexer_for, palette, warm

SLICE_S = 0.004  # GUI-thread time per slice; the rest of the frame stays free
LEXER_WAIT_MS = 20  # how often a block asks again whether its lexer has been built


@lru_cache(maxsize=512)
def _format(style: str, ttype: object) -> QTextCharFormat | None:
    """The char format Pygments' `style` gives a token type (None: the default colour)."""
    spec = get_style_by_name(style).style_for_token(ttype)
    if not (spec["color"] or spec["bold"] or spec["italic"]):
        return None
    f = QTextCharFormat()
    if spec["color"]:
        f.setForeground(QColor(f"#{spec['color']}"))
    if spec["bold"]:
        f.setFontWeight(QFont.Weight.Bold)
    if spec["italic"]:
        f.setFontItalic(True)
    return f


class TokenPainter:
    """Colour `code`, already in `doc` just after `anchor`, token by token with char formats.

    `anchor` is a QTextCursor on the character before the code: Qt moves it when text before
    it changes, so the colours stay aligned with their code while the reply keeps streaming.
    """

    def __init__(
        self, doc: QTextDocument, anchor: QTextCursor, code: str, lang: str, *, dark: bool
    ) -> None:
        self._doc = doc
        self._anchor = anchor
        self._style = palette(dark)["style"]
        self._lang = lang
        self._tokens: Iterator[tuple[int, object, str]] | None = None  # once the lexer is built
        self._code = code
        self._len = len(code)
        # Qt counts UTF-16 units, Python code points: characters beyond the BMP shift positions
        self._wide = [] if code.isascii() else [i for i, ch in enumerate(code) if ch > "\uffff"]

    def ready(self) -> bool:
        """Its lexer is built; if not, a worker thread builds it (compiling its regexes would
        freeze the window's thread for frames)."""
        if self._tokens is None and not built(self._lang):
            warm(self._lang)
            return False
        return True

    def paint(self, deadline: float | None = None) -> bool:
        """Colour tokens until `deadline` (perf_counter; None: all of them); True when done,
        False also while its lexer is not `ready`."""
        if self._tokens is None:
            if not self.ready():
                return False
            self._tokens = lexer_for(self._lang).get_tokens_unprocessed(self._code)
        base = self.position()
        c = QTextCursor(self._doc)
        c.beginEditBlock()
        try:
            while deadline is None or time.perf_counter() < deadline:
                tok = next(self._tokens, None)
                if tok is None:
                    return True
                index, ttype, value = tok
                fmt = _format(self._style, ttype)
                if fmt is None or not value.strip() or index + len(value) > self._len:
                    continue
                c.setPosition(base + self._utf16(index))
                c.setPosition(
                    base + self._utf16(index + len(value)), QTextCursor.MoveMode.KeepAnchor
                )
                c.mergeCharFormat(fmt)
            return False
        finally:
            c.endEditBlock()

    def position(self) -> int:
        """Where its code starts in the document now."""
        return self._anchor.position() + 1

    def end(self) -> int:
        """Where its code ends in the document now."""
        return self.position() + self._utf16(self._len)

    def in_place(self) -> bool:
        """The code is still just after the anchor (its message was not dropped or redrawn)."""
        base, end = self.position(), self.end()
        if end >= self._doc.characterCount():
            return False
        c = QTextCursor(self._doc)
        c.setPosition(base)
        c.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return c.selectedText() == self._code.replace("\n", "\u2029")

    def _utf16(self, index: int) -> int:
        return index + bisect_left(self._wide, index) if self._wide else index


class SlicedHighlight(QObject):
    """A `TokenPainter` run a slice per event-loop turn; `cancel()` stops it (document cleared
    or rebuilt)."""

    def __init__(
        self, doc: QTextDocument, anchor: QTextCursor, code: str, lang: str, *, dark: bool
    ) -> None:
        super().__init__(doc)
        self._painter = TokenPainter(doc, anchor, code, lang, dark=dark)
        self.done = False
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)
        self._timer.start()

    def cancel(self) -> None:
        self._timer.stop()
        self.done = True

    def _slice(self) -> None:
        """Lex and colour tokens until the slice's time is used up (asking again now and then
        while the lexer is being built)."""
        if not self._painter.ready():
            self._timer.setInterval(LEXER_WAIT_MS)
            return
        self._timer.setInterval(0)
        if self._painter.paint(time.perf_counter() + SLICE_S):
            self.cancel()


class HighlightQueue(QObject):
    """Code blocks shown plain and coloured later, one after another, a slice per event-loop
    turn under one time budget however many wait: a page of earlier messages is drawn at once
    and gains its colours once the reader stops paging (`QUIET_MS` after the last block came;
    colouring between steps would lengthen the frames of a fast scroll, and the reader does not
    read blocks flying past). The block added last (the nearest to a reader scrolling up) goes
    first; a block whose message left the document is skipped. Emits `drained` when none is
    left."""

    QUIET_MS = 80
    KEPT = 256  # waiting blocks beyond this are checked and the ones gone forgotten

    drained = Signal()

    def __init__(self, doc: QTextDocument) -> None:
        super().__init__(doc)
        self._waiting: list[TokenPainter] = []
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(self.QUIET_MS)
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)
        self._quiet.timeout.connect(self._timer.start)

    def add(self, painter: TokenPainter) -> None:
        self._waiting.append(painter)
        if len(self._waiting) > self.KEPT:
            self._waiting = [p for p in self._waiting if p.in_place()]
        self._timer.stop()
        self._quiet.start()

    def waiting(self) -> int:
        return len(self._waiting)

    def cancel(self) -> None:
        self._quiet.stop()
        self._timer.stop()
        self._waiting.clear()

    def _slice(self) -> None:
        deadline = time.perf_counter() + SLICE_S
        while self._waiting and time.perf_counter() < deadline:
            painter = self._waiting[-1]
            if painter.in_place() and not painter.ready():  # its lexer is being built
                self._timer.stop()
                self._quiet.start()
                return
            if not painter.in_place() or painter.paint(deadline):
                self._waiting.pop()
        if not self._waiting:
            self._timer.stop()
            self.drained.emit()
