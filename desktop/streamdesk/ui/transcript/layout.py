"""How the transcript lays messages out in its QTextDocument (a mixin of `TranscriptView`).

A message is a header frame, then (for replies) regions in the root frame: reasoning, the body
(committed blocks, then the live tail or open code fence) and a notice or failure box. Regions
are lengths from the header frame's end, so edits elsewhere never invalidate them. The body is
not inside a frame: Qt re-lays out a whole frame whenever anything inside it changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from PySide6.QtGui import (
    QColor,
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QTextFrameFormat,
)

from streamdesk.core.markdown_blocks import Block, BlockSplitter
from streamdesk.ui.transcript.code_job import SlicedHighlight
from streamdesk.ui.transcript.extras import DETAIL_MIN as DETAIL_MIN
from streamdesk.ui.transcript.extras import ReplyExtras
from streamdesk.ui.transcript.extras import split_detail as split_detail
from streamdesk.ui.transcript.highlight import (
    MAX_HIGHLIGHT,
    code_block_html,
    code_header_html,
    palette,
    warm,
)
from streamdesk.ui.transcript.reply_view import _Msg
from streamdesk.ui.transcript.safe_document import (
    MARKDOWN_FEATURES,
    SafeDocument,
    break_long_runs,
    defang,
)

SYNC_HIGHLIGHT = 2_000  # larger code blocks are coloured in slices: ~6 ms at this size
_LIST_START = re.compile(r"\s*(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
ACTION_SCHEME = "sd-action"
HEADER_PADDING = 8
BODY_INDENT = HEADER_PADDING  # the header bar's padding: body text lines up with it
MESSAGE_GAP = 14  # above each message's header bar
HEADER_GAP = 4  # between a reply's header bar and its body
END_MARGIN = 24  # below the last message, so a final code block is not flush with the edge
_INDENTED = QTextFormat.Property.UserProperty + 1


def _gap_format() -> QTextBlockFormat:
    """An empty block Qt keeps around frames: no height, so it adds no uneven gap."""
    bf = QTextBlockFormat()
    bf.setLineHeight(0, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
    return bf


def set_end_margin(doc: SafeDocument) -> None:
    """Room below the last message (set again after `clear`, which resets the root frame)."""
    root = doc.rootFrame()
    ff = root.frameFormat()
    ff.setBottomMargin(END_MARGIN)
    root.setFrameFormat(ff)


class DocumentBuilder(ReplyExtras):
    """Builds and edits the regions of each message; `TranscriptView` owns the state."""

    _doc: SafeDocument
    _dark: bool
    _nonce: str
    _msgs: list[_Msg]
    _codes: dict[int, str]
    _jobs: list[SlicedHighlight]
    _next_id: int
    _mono: QFont
    _batch_depth: int
    _indent_todo: list[QTextCursor]
    header_links: Callable[[object, str], Sequence[tuple[str, str]]]

    def failure_actions(self, key: object, status: str, has_text: bool) -> tuple[str, ...]:
        raise NotImplementedError  # TranscriptView

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
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            c.endEditBlock()
        if not self._batch_depth and self._indent_todo:
            todo, self._indent_todo = self._indent_todo, []
            c.beginEditBlock()  # tables exist only once the edit block ended (Qt scans frames)
            for r in todo:
                self._indent_now(r.selectionStart(), r.selectionEnd())
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
        """The header bar; spacing comes from frame margins only (gap blocks have no height)."""
        ff = QTextFrameFormat()
        ff.setPadding(HEADER_PADDING)
        ff.setTopMargin(MESSAGE_GAP)
        ff.setBottomMargin(HEADER_GAP if m.role == "assistant" else 0)
        bars = ("#1f2a3a", "#eef4ff") if m.role == "user" else ("#262a31", "#f3f4f6")
        ff.setBackground(QColor(bars[0] if self._dark else bars[1]))
        c = QTextCursor(self._doc)
        c.movePosition(QTextCursor.MoveOperation.End)
        if c.block().length() > 1:  # the previous reply ended in text or code: a fresh block
            c.insertBlock(_gap_format(), QTextCharFormat())
        c.setBlockFormat(_gap_format())
        m.frame = c.insertFrame(ff)
        after = QTextCursor(self._doc)
        after.setPosition(m.frame.lastPosition() + 1)
        after.setBlockFormat(_gap_format())
        head = "You" if m.role == "user" else " · ".join(x for x in ("Assistant", m.label) if x)
        c.insertText(head, self._fmt(bold=True))
        c.insertText("   ", QTextCharFormat())
        c.insertText("Copy", self._fmt(href=self._href("copy-msg", m=m.id)))
        for text, action in self.header_links(m.key, m.role):
            c.insertText("  ", QTextCharFormat())
            c.insertText(
                text, self._fmt(href=self._href(action, m=m.id)) if action else self._fmt(dim=True)
            )
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
        if not m.actions and m.status != "complete":
            m.actions = self.failure_actions(m.key, m.status, bool(m.text))
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
        self._indent(start, self._live_end(m))

    def _indent(self, start: int, end: int) -> None:
        """Line the blocks in [start, end] up with the text of the header bar above them.

        Inside a batch the range is kept as a cursor (Qt moves it with later edits) and indented
        when the batch ends. O(blocks in the range); a block or table already indented is left
        alone (a property marks it), so overlapping ranges never indent twice.
        """
        if not self._batch_depth:
            self._indent_now(start, end)
            return
        r = QTextCursor(self._doc)
        r.setPosition(start)
        r.setPosition(min(end, self._doc.characterCount() - 1), QTextCursor.MoveMode.KeepAnchor)
        self._indent_todo.append(r)

    def _indent_now(self, start: int, end: int) -> None:
        block = self._doc.findBlock(start)
        while block.isValid() and block.position() <= end:
            c = QTextCursor(block)
            table = c.currentTable()
            if table is not None:
                tf = table.format()
                if not tf.boolProperty(_INDENTED):
                    tf.setLeftMargin(tf.leftMargin() + BODY_INDENT)
                    tf.setProperty(_INDENTED, True)
                    table.setFormat(tf)
                block = self._doc.findBlock(table.lastPosition() + 1)
                continue
            frame = c.currentFrame()
            if frame is not None and frame != self._doc.rootFrame():  # a failure box: as is
                block = self._doc.findBlock(frame.lastPosition() + 1)
                continue
            bf = block.blockFormat()
            if not bf.boolProperty(_INDENTED):
                bf.setLeftMargin(bf.leftMargin() + BODY_INDENT)
                bf.setProperty(_INDENTED, True)
                c.setBlockFormat(bf)
            block = block.next()

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
        start = c.position()
        c.insertMarkdown(break_long_runs(text.rstrip()), MARKDOWN_FEATURES)
        defang(self._doc, start, c.position())

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

        start = self._live_end(m)
        self._edit(start, put)
        self._indent(start, self._live_end(m))

    def _append_code(self, m: _Msg, text: str) -> None:
        if text:
            mono = QTextCharFormat()
            mono.setFont(self._mono)
            self._edit(self._live_end(m), lambda c: c.insertText(text, mono))
