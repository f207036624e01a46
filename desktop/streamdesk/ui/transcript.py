"""The transcript: messages as framed blocks, the streaming reply rendered incrementally.

Each message is a QTextFrame: a header line, an optional reasoning region, the body, then a
notice or failure box. Regions are tracked as lengths relative to the frame start, so edits
elsewhere never invalidate them. The streaming reply commits finished Markdown blocks once
(`BlockSplitter`) and re-renders only the open tail, at most once per frame (16 ms timer).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QTimer, QUrl, QUrlQuery, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QPalette,
    QResizeEvent,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFrame,
    QTextFrameFormat,
)
from PySide6.QtWidgets import QTextBrowser, QToolButton, QWidget

from streamdesk.core.markdown_blocks import Block, BlockSplitter
from streamdesk.ui.code_job import SlicedHighlight
from streamdesk.ui.highlight import (
    COMMON,
    MAX_HIGHLIGHT,
    code_block_html,
    code_header_html,
    palette,
    warm,
)
from streamdesk.ui.safe_document import (
    MARKDOWN_FEATURES,
    SafeDocument,
    break_long_runs,
    is_safe_external,
)

FRAME_MS = 16
SYNC_HIGHLIGHT = 2_000  # larger code blocks are coloured in slices: ~6 ms at this size

# Qt's raster engine splits every fill taller than 64 lines across a thread pool and waits for
# it; for narrow fills (scroll bar, frame borders) the hand-off costs more than the fill: 2-6 ms
# per scroll-bar paint on 2 cores, 5-10x less without it (measured). Read when the pool is first
# created, i.e. at the first paint, so setting it at import is early enough.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
_LIST_START = re.compile(r"\s*(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
ACTION_SCHEME = "sd-action"


@dataclass
class _Msg:
    """What the document shows for one message, and where (lengths from the frame start)."""

    id: int
    key: object
    role: str
    label: str = ""
    text: str = ""
    reasoning: str = ""
    status: str = "complete"
    failure_title: str = ""
    failure_text: str = ""
    actions: tuple[str, ...] = ()
    frame: QTextFrame | None = None
    rsn_len: int = 0
    body_len: int = 0
    notice_len: int = 0
    collapsed: bool = False
    live: ReplyView | None = None


class ReplyView:
    """Handle for the streaming reply: appends are buffered, rendering is coalesced per frame."""

    def __init__(self, view: TranscriptView, msg: _Msg) -> None:
        self._view = view
        self._msg = msg
        self._parts: list[str] = []
        self._pending: list[str] = []
        self._pending_reasoning: list[str] = []
        self._notice = ""
        self._finished = False
        self._render_count = 0
        self._timer = QTimer(view)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._render)
        self._reset_render_state()

    def _reset_render_state(self) -> None:
        self._splitter = BlockSplitter()
        self._code_open = False
        self._code_done = 0
        self._tail_shown = ""

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def render_count(self) -> int:
        return self._render_count

    @property
    def finished(self) -> bool:
        return self._finished

    def append_text(self, text: str) -> None:
        if self._finished or not text:
            return
        self._parts.append(text)
        self._pending.append(text)
        self._schedule()

    def append_reasoning(self, text: str) -> None:
        if self._finished or not text:
            return
        self._msg.reasoning += text
        self._pending_reasoning.append(text)
        self._schedule()

    def set_notice(self, text: str) -> None:
        if self._finished:
            return
        self._notice = text
        with self._view._batch():
            self._view._set_notice(self._msg, text)

    def finish(
        self,
        status: str,
        *,
        failure_title: str = "",
        failure_text: str = "",
        actions: tuple[str, ...] = (),
    ) -> None:
        if self._finished:
            return
        self._timer.stop()
        with self._view._batch():
            self._render_frame()
            self._finished = True
            self._view._replace_live(self._msg, self._splitter.finish())
            self._code_open = False
            m = self._msg
            m.text, m.status, m.live = self.text, status, None
            m.failure_title, m.failure_text, m.actions = failure_title, failure_text, actions
            self._view._set_notice(m, "")
            self._view._add_failure(m)
        self._view._update_jump()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _render(self) -> None:
        """One frame: reasoning appended, new blocks committed once, the tail re-rendered."""
        with self._view._batch():
            self._render_frame()

    def _render_frame(self) -> None:
        view, m = self._view, self._msg
        if m.frame is None:
            return
        if self._pending_reasoning:
            view._append_reasoning(m, "".join(self._pending_reasoning))
            self._pending_reasoning.clear()
        if not self._pending:
            return
        sp = self._splitter
        blocks = sp.feed("".join(self._pending))
        self._pending.clear()
        self._render_count += 1
        if blocks:
            view._replace_live(m, blocks)
            self._code_open, self._tail_shown = False, ""
        if sp.in_code:
            if not self._code_open:
                view._replace_live(m, [])
                view._open_code(m, sp.code_lang)
                self._code_open, self._code_done = True, 0
            new = "".join(sp.code_parts[self._code_done :])
            self._code_done = len(sp.code_parts)
            view._append_code(m, new)
        elif sp.tail != self._tail_shown:
            self._tail_shown = sp.tail
            view._replace_live(m, [], tail=self._tail_shown)

    def _rebuild(self) -> None:
        """Re-render everything received so far (theme change): O(reply) once."""
        self._reset_render_state()
        self._pending = [self.text]
        self._render()


class TranscriptView(QTextBrowser):
    """Read-only transcript; model text is never interpreted as HTML, nothing is fetched."""

    retryRequested = Signal(object)
    continueRequested = Signal(object)
    copyRequested = Signal(str)
    linkActivated = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None, *, dark: bool = False) -> None:
        super().__init__(parent)
        self._doc = SafeDocument(self)
        self.setDocument(self._doc)
        self.setReadOnly(True)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self._dark = dark
        self._apply_palette()
        self._nonce = secrets.token_hex(8)
        self._msgs: list[_Msg] = []
        self._codes: dict[int, str] = {}
        self._jobs: list[SlicedHighlight] = []
        self._next_id = 0
        self._following = True
        self._scrolling = False
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.anchorClicked.connect(self._on_anchor)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)
        self._jump = QToolButton(self.viewport())
        self._jump.setText("↓ Jump to latest")
        self._jump.setToolTip("Follow the reply again")
        self._jump.clicked.connect(self.jump_to_latest)
        self._jump.hide()
        warm(COMMON)  # first use of a lexer compiles regexes: do it off the GUI thread now

    # -- public API ------------------------------------------------------------------------

    def add_user_message(self, text: str, key: object = None) -> None:
        m = self._new_msg(key, "user", text=text)
        self._render_static(m)

    def begin_assistant(self, key: object = None, *, label: str = "") -> ReplyView:
        for old in self._msgs:  # only the last message streams
            if old.live is not None and not old.live.finished:
                old.live.finish("stopped")
        m = self._new_msg(key, "assistant", label=label)
        self._open_frame(m)
        m.live = ReplyView(self, m)
        self._update_jump()
        return m.live

    def add_assistant_message(
        self,
        text: str,
        *,
        reasoning: str = "",
        status: str = "complete",
        failure_title: str = "",
        failure_text: str = "",
        key: object = None,
        label: str = "",
    ) -> None:
        m = self._new_msg(key, "assistant", label=label, text=text, reasoning=reasoning)
        m.status, m.failure_title, m.failure_text = status, failure_title, failure_text
        m.collapsed = bool(reasoning)
        self._render_static(m)

    def clear_messages(self) -> None:
        for m in self._msgs:
            if m.live is not None:
                m.live._timer.stop()
                m.live._finished = True
            m.frame = None
        self._msgs.clear()
        self._codes.clear()
        self._cancel_jobs()
        self._doc.clear()
        self._following = True
        self._update_jump()

    def set_dark(self, dark: bool) -> None:
        if dark == self._dark:
            return
        self._dark = dark
        self._apply_palette()
        self._cancel_jobs()
        self._doc.clear()
        self._codes.clear()
        with self._batch():
            self._rebuild_all()

    def _rebuild_all(self) -> None:
        for m in self._msgs:
            if m.live is not None:
                self._open_frame(m)
                if m.reasoning:
                    self._append_reasoning(m, "")
                m.live._rebuild()
            else:
                self._render_static(m)

    def _apply_palette(self) -> None:
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Base, QColor("#1b1d21" if self._dark else "#ffffff"))
        pal.setColor(QPalette.ColorRole.Text, QColor("#e6e6e6" if self._dark else "#1f2328"))
        self.setPalette(pal)

    def is_following(self) -> bool:
        return self._following

    def jump_to_latest(self) -> None:
        self._following = True
        self._scroll_to_end()
        self._update_jump()

    def plain_text_of(self, key: object) -> str:
        for m in reversed(self._msgs):
            if m.key == key:
                return m.live.text if m.live is not None else m.text
        return ""

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        """The browser's own loader reads local files; only app resources are allowed."""
        return self._doc.loadResource(type, name)

    # -- building blocks -------------------------------------------------------------------

    def _new_msg(self, key: object, role: str, **kw: Any) -> _Msg:
        m = _Msg(id=self._next_id, key=key, role=role, **kw)
        self._next_id += 1
        self._msgs.append(m)
        return m

    def _href(self, verb: str, **params: int) -> str:
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{ACTION_SCHEME}:{verb}?{q}&t={self._nonce}"

    def _fmt(self, *, bold: bool = False, dim: bool = False, href: str = "") -> QTextCharFormat:
        f = QTextCharFormat()
        if bold:
            f.setFontWeight(QFont.Weight.Bold)
        if dim:
            f.setForeground(QColor(palette(self._dark)["dim"]))
        if href:
            f.setAnchor(True)
            f.setAnchorHref(href)
            f.setForeground(QColor("#58a6ff" if self._dark else "#0969da"))
        return f

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Group edits into one document change: one layout pass and one scroll per frame."""
        c = QTextCursor(self._doc)
        c.beginEditBlock()
        try:
            yield
        finally:
            c.endEditBlock()

    def _edit(self, pos: int, fn: Callable[[QTextCursor], object]) -> int:
        """Run an edit at `pos`; return how many characters it added (negative: removed)."""
        before = self._doc.characterCount()
        c = QTextCursor(self._doc)
        c.setPosition(pos)
        fn(c)
        return self._doc.characterCount() - before

    def _remove(self, start: int, end: int) -> None:
        """Remove [start, end); the block at `start` keeps its own format (Qt would not)."""
        if end > start:
            block = self._doc.findBlock(start)
            fmt = block.blockFormat()
            c = QTextCursor(self._doc)
            c.setPosition(start)
            c.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            c.removeSelectedText()
            if c.blockFormat() != fmt:
                c.setBlockFormat(fmt)

    def _new_block(self, c: QTextCursor, fmt: QTextCharFormat | None = None) -> None:
        c.insertBlock(QTextBlockFormat(), fmt or QTextCharFormat())

    def _put_text(self, c: QTextCursor, text: str, fmt: QTextCharFormat) -> None:
        self._new_block(c, fmt)
        c.insertText(text, fmt)

    def _open_frame(self, m: _Msg) -> None:
        ff = QTextFrameFormat()
        ff.setPadding(8)
        ff.setTopMargin(6)
        ff.setBottomMargin(6)
        if m.role == "user":
            ff.setBackground(QColor("#1f2a3a" if self._dark else "#eef4ff"))
        else:
            ff.setBorder(1)
            ff.setBorderBrush(QColor("#3a3f47" if self._dark else "#d0d7de"))
        c = QTextCursor(self._doc)
        c.movePosition(QTextCursor.MoveOperation.End)
        m.frame = c.insertFrame(ff)
        head = "You" if m.role == "user" else " · ".join(x for x in ("Assistant", m.label) if x)
        c.insertText(head, self._fmt(bold=True))
        c.insertText("   ", QTextCharFormat())
        c.insertText("Copy", self._fmt(href=self._href("copy-msg", m=m.id)))
        m.rsn_len = m.body_len = m.notice_len = 0

    def _render_static(self, m: _Msg) -> None:
        with self._batch():
            self._render_static_body(m)

    def _render_static_body(self, m: _Msg) -> None:
        self._open_frame(m)
        if m.role == "user":  # static and short: the body lives inside the header frame
            assert m.frame is not None
            self._edit(
                m.frame.lastPosition(), lambda c: self._put_text(c, m.text, QTextCharFormat())
            )
            return
        if m.reasoning:
            self._append_reasoning(m, "")
        sp = BlockSplitter()
        self._replace_live(m, sp.feed(m.text) + sp.finish())
        self._add_failure(m)

    def _base(self, m: _Msg) -> int:
        """Where an assistant message's regions start: the block right after its header frame.

        The body is deliberately not inside a frame: Qt re-lays out a whole frame whenever
        anything inside it changes, which made every frame cost O(reply) (measured).
        """
        assert m.frame is not None
        return m.frame.lastPosition() + 1

    def _end(self, m: _Msg) -> int:
        """End of the message: before the next message's frame, or the end of the document."""
        later = self._msgs[self._msgs.index(m) + 1 :]
        nxt = next((x.frame for x in later if x.frame is not None), None)
        return nxt.firstPosition() - 1 if nxt is not None else self._doc.rootFrame().lastPosition()

    def _body_end(self, m: _Msg) -> int:
        return self._base(m) + m.rsn_len + m.body_len

    def _insert_body(self, m: _Msg, fn: Callable[[QTextCursor], object]) -> None:
        m.body_len += self._edit(self._body_end(m), fn)

    def _live_end(self, m: _Msg) -> int:
        assert m.frame is not None
        return self._end(m) - m.notice_len

    def _replace_live(self, m: _Msg, blocks: list[Block], *, tail: str = "") -> None:
        """Drop the live region (tail / open code), commit `blocks`, then show `tail`."""
        start = self._body_end(m)
        self._remove(start, self._live_end(m))
        for b in blocks:
            self._insert_body(m, partial(self._put_block, b=b))
        if tail.strip():
            self._edit(self._body_end(m), lambda c: self._put_markdown(c, tail))

    def _put_block(self, c: QTextCursor, *, b: Block) -> None:
        if b.kind == "code":
            n = len(self._codes)
            self._codes[n] = b.text
            self._new_block(c)
            href = self._href("copy-code", n=n)
            if len(b.text) <= SYNC_HIGHLIGHT:
                c.insertHtml(code_block_html(b.text, b.lang, dark=self._dark, copy_href=href))
            else:
                self._put_large_code(c, b, href)
        else:
            self._put_markdown(c, b.text)

    def _put_large_code(self, c: QTextCursor, b: Block, href: str) -> None:
        """Plain monospace now (cheap), colours later in slices (see `code_job`)."""
        c.insertHtml(code_header_html(b.lang, dark=self._dark, copy_href=href))
        mono = QTextCharFormat()
        mono.setFont(self._mono)
        mono.setForeground(QColor(palette(self._dark)["fg"]))
        c.insertBlock(self._code_block_format(), mono)
        anchor = QTextCursor(c)  # on the separator before the code: inserting the code there
        anchor.setPosition(c.position() - 1)  # would move a cursor placed at the code's start
        c.insertText(b.text, mono)
        if b.lang.strip() and len(b.text) <= MAX_HIGHLIGHT:
            self._jobs = [j for j in self._jobs if not j.done]
            self._jobs.append(SlicedHighlight(self._doc, anchor, b.text, b.lang, dark=self._dark))

    def _cancel_jobs(self) -> None:
        for job in self._jobs:
            job.cancel()
        self._jobs.clear()

    def _put_markdown(self, c: QTextCursor, text: str) -> None:
        # The importer starts a new block itself before a list (an empty block would turn into
        # an empty item) but merges a paragraph into the current block, which must be fresh.
        if not _LIST_START.match(text):
            self._new_block(c)
        c.insertMarkdown(break_long_runs(text.rstrip()), MARKDOWN_FEATURES)

    def _code_block_format(self) -> QTextBlockFormat:
        bf = QTextBlockFormat()
        bf.setBackground(QColor(palette(self._dark)["bg"]))
        bf.setNonBreakableLines(True)
        return bf

    def _open_code(self, m: _Msg, lang: str) -> None:
        """Start showing an open fence as plain monospace text; highlighting comes at the close."""
        warm(lang)

        def put(c: QTextCursor) -> None:
            self._new_block(c)
            c.insertText(lang or "code", self._fmt(dim=True))
            mono = QTextCharFormat()
            mono.setFont(self._mono)
            c.insertBlock(self._code_block_format(), mono)

        self._edit(self._live_end(m), put)

    def _append_code(self, m: _Msg, text: str) -> None:
        if text:
            mono = QTextCharFormat()
            mono.setFont(self._mono)
            self._edit(self._live_end(m), lambda c: c.insertText(text, mono))

    def _append_reasoning(self, m: _Msg, text: str) -> None:
        """Reasoning streams as dimmed plain text under a toggle link; O(new text)."""
        assert m.frame is not None
        start = self._base(m)
        if m.rsn_len and (m.collapsed or not text):
            return
        if m.rsn_len:
            m.rsn_len += self._edit(start + m.rsn_len, lambda c: c.insertText(text, self._dim()))
            return

        def put(c: QTextCursor) -> None:
            arrow = "▸" if m.collapsed else "▾"
            self._new_block(c)
            c.insertText(f"{arrow} Reasoning", self._fmt(href=self._href("toggle", m=m.id)))
            if not m.collapsed:
                self._new_block(c, self._dim())
                c.insertText(m.reasoning, self._dim())

        m.rsn_len = self._edit(start, put)

    def _dim(self) -> QTextCharFormat:
        return self._fmt(dim=True)

    def _toggle_reasoning(self, m: _Msg) -> None:
        if m.frame is None or not m.rsn_len:
            return
        with self._batch():
            self._swap_reasoning(m)

    def _swap_reasoning(self, m: _Msg) -> None:
        start = self._base(m)
        self._remove(start, start + m.rsn_len)
        m.rsn_len = 0
        m.collapsed = not m.collapsed
        self._append_reasoning(m, "")

    def _set_notice(self, m: _Msg, text: str) -> None:
        if m.frame is None:
            return
        end = self._end(m)
        self._remove(end - m.notice_len, end)
        m.notice_len = 0
        if text:
            dim = self._dim()
            m.notice_len = self._edit(self._end(m), lambda c: self._put_text(c, text, dim))

    def _add_failure(self, m: _Msg) -> None:
        """A marked box under the kept partial text: title, one sentence, actions."""
        if m.status == "complete" or m.frame is None:
            return
        title = m.failure_title or {"stopped": "Stopped"}.get(m.status, "Failed")
        ff = QTextFrameFormat()
        ff.setBorder(1)
        ff.setPadding(6)
        ff.setTopMargin(6)
        warn = m.status in ("error", "partial")
        ff.setBorderBrush(QColor("#cf222e" if warn else palette(self._dark)["dim"]))
        c = QTextCursor(self._doc)
        c.setPosition(self._end(m))
        c.insertFrame(ff)
        c.insertText(title, self._fmt(bold=True))
        if m.failure_text:
            c.insertText(f": {m.failure_text}", QTextCharFormat())
        for action in m.actions:
            verb = action.strip().lower()
            if verb in ("retry", "continue"):
                c.insertText("   ", QTextCharFormat())
                c.insertText(verb.capitalize(), self._fmt(href=self._href(verb, m=m.id)))

    # -- links, copy, scrolling ----------------------------------------------------------------

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() != ACTION_SCHEME:
            if is_safe_external(url):
                self.linkActivated.emit(url)
            return
        q = QUrlQuery(url)
        if q.queryItemValue("t") != self._nonce:
            return  # the model wrote an action link: ignore it
        verb = url.path()
        num = int(q.queryItemValue("n") or q.queryItemValue("m") or -1)
        if verb == "copy-code":
            self._copy(self._codes.get(num, ""))
            return
        m = next((x for x in self._msgs if x.id == num), None)
        if m is None:
            return
        if verb == "copy-msg":
            self._copy(m.live.text if m.live is not None else m.text)
        elif verb == "toggle":
            self._toggle_reasoning(m)
        elif verb == "retry":
            self.retryRequested.emit(m.key)
        elif verb == "continue":
            self.continueRequested.emit(m.key)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copyRequested.emit(text)

    def _on_scrolled(self, value: int) -> None:
        if not self._scrolling:
            self._following = value >= self.verticalScrollBar().maximum() - 4
            self._update_jump()

    def _on_range(self, _lo: int, _hi: int) -> None:
        if self._following:
            self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        self._scrolling = True
        try:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())
        finally:
            self._scrolling = False

    def _update_jump(self) -> None:
        streaming = any(m.live is not None and not m.live.finished for m in self._msgs[-1:])
        self._jump.setVisible(not self._following and streaming)
        self._place_jump()

    def _place_jump(self) -> None:
        self._jump.adjustSize()
        vp = self.viewport()
        self._jump.move(
            vp.width() - self._jump.width() - 12, vp.height() - self._jump.height() - 12
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_jump()
