"""How the transcript lays its messages out in a QTextDocument.

A message is a header frame, then (for replies) regions in the root frame: reasoning, the body
(committed blocks, then the live tail or open code fence) and a notice or failure box. Regions
are lengths from the header frame's end, so edits elsewhere never invalidate them. The body is
not inside a frame: Qt re-lays out a whole frame whenever anything inside it changes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

from PySide6.QtCore import QUrl, QUrlQuery
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QTextFrameFormat,
)

from streamdesk.core.markdown_blocks import Block, BlockSplitter
from streamdesk.ui.transcript.code_job import SlicedHighlight
from streamdesk.ui.transcript.highlight import (
    MAX_HIGHLIGHT,
    code_block_html,
    code_header_html,
    palette,
    warm,
)
from streamdesk.ui.transcript.message import Message
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

# (message key, role) -> the links to put on that message's header line, as (text, action);
# an empty action shows the text dimmed, without a link.
HeaderLinks = Callable[[object, str], Sequence[tuple[str, str]]]
# (message key, status, has text) -> the actions ("retry", "continue") on a stored reply's box
FailureActions = Callable[[object, str, bool], tuple[str, ...]]


def _gap_format() -> QTextBlockFormat:
    """An empty block Qt keeps around frames: no height, so it adds no uneven gap."""
    bf = QTextBlockFormat()
    bf.setLineHeight(0, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
    return bf


def _no_links(_key: object, _role: str) -> Sequence[tuple[str, str]]:
    return ()


def _no_actions(_key: object, _status: str, _has_text: bool) -> tuple[str, ...]:
    return ()


class DocumentLayout:
    """The messages of a transcript and their regions in `doc`; every edit of it goes here.

    Links it writes carry a per-document nonce, so a link the model wrote never passes for one
    of ours (`action_of`). `header_links` and `failure_actions` are asked for the links of a
    header line and the actions of a stored reply's failure box.
    """

    def __init__(
        self,
        doc: SafeDocument,
        *,
        dark: bool = False,
        header_links: HeaderLinks = _no_links,
        failure_actions: FailureActions = _no_actions,
    ) -> None:
        self._doc = doc
        self._dark = dark
        self.header_links = header_links
        self.failure_actions = failure_actions
        self._nonce = secrets.token_hex(8)
        self._messages: list[Message] = []
        self._codes: dict[int, str] = {}  # copy-code link number -> the code
        self._jobs: list[SlicedHighlight] = []
        self._batch_depth = 0
        self._indent_todo: list[QTextCursor] = []
        self._next_id = 0
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._set_end_margin()

    # -- messages ----------------------------------------------------------------------------

    @property
    def dark(self) -> bool:
        return self._dark

    @property
    def messages(self) -> Sequence[Message]:
        return self._messages

    def add_message(
        self, key: object, role: str, *, label: str = "", text: str = "", reasoning: str = ""
    ) -> Message:
        """A new message record at the end (nothing is drawn yet)."""
        m = Message(self._next_id, key, role, label=label, text=text, reasoning=reasoning)
        self._next_id += 1
        self._messages.append(m)
        return m

    def message_by_id(self, number: int) -> Message | None:
        return next((m for m in self._messages if m.id == number), None)

    def span(self, m: Message) -> tuple[int, int] | None:
        """Document positions (first, end) of `m`: header, body and any box."""
        if m.frame is None:
            return None
        return m.frame.firstPosition(), self._end(m)

    def code_text(self, number: int) -> str:
        """The code behind copy-code link `number` ("" if there is none)."""
        return self._codes.get(number, "")

    def clear(self) -> None:
        """Forget every message and empty the document."""
        for m in self._messages:
            m.frame = None
        self._messages.clear()
        self._empty_document()

    def start_over(self, *, dark: bool) -> None:
        """Empty the document but keep the messages, to draw them again in another theme."""
        self._dark = dark
        self._empty_document()

    def _empty_document(self) -> None:
        self._codes.clear()
        self._cancel_jobs()
        self._doc.clear()
        self._set_end_margin()

    def _set_end_margin(self) -> None:
        """Room below the last message (set again after `clear`, which resets the root frame)."""
        root = self._doc.rootFrame()
        ff = root.frameFormat()
        ff.setBottomMargin(END_MARGIN)
        root.setFrameFormat(ff)

    # -- links and formats -------------------------------------------------------------------

    def action_of(self, url: QUrl) -> tuple[str, int] | None:
        """(verb, message or code number) of a link this layout wrote; None for any other."""
        if url.scheme() != ACTION_SCHEME:
            return None
        q = QUrlQuery(url)
        if q.queryItemValue("t") != self._nonce:
            return None  # the model wrote an action link
        return url.path(), int(q.queryItemValue("n") or q.queryItemValue("m") or -1)

    def add_action_line(self, text: str, action: str) -> None:
        """Append a line that is one link to `action` (with no message)."""
        c = QTextCursor(self._doc)
        c.movePosition(QTextCursor.MoveOperation.End)
        c.insertText(text, self._fmt(href=self._href(action, m=-1)))

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

    def _dim(self) -> QTextCharFormat:
        return self._fmt(dim=True)

    # -- editing primitives ------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
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

    def _put_markdown(self, c: QTextCursor, text: str) -> None:
        # The importer starts a new block itself before a list (an empty block would turn into
        # an empty item) but merges a paragraph into the current block, which must be fresh.
        if not _LIST_START.match(text):
            self._new_block(c)
        start = c.position()
        c.insertMarkdown(break_long_runs(text.rstrip()), MARKDOWN_FEATURES)
        defang(self._doc, start, c.position())

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

    # -- where a message's regions are -------------------------------------------------------

    def _base(self, m: Message) -> int:
        """Where an assistant message's regions start: the block right after its header frame.

        The body is deliberately not inside a frame: Qt re-lays out a whole frame whenever
        anything inside it changes, which made every frame cost O(reply) (measured).
        """
        assert m.frame is not None
        return m.frame.lastPosition() + 1

    def _end(self, m: Message) -> int:
        """End of the message: before the next message's frame, or the end of the document."""
        later = self._messages[self._messages.index(m) + 1 :]
        nxt = next((x.frame for x in later if x.frame is not None), None)
        return nxt.firstPosition() - 1 if nxt is not None else self._doc.rootFrame().lastPosition()

    def _body_end(self, m: Message) -> int:
        return self._base(m) + m.reasoning_len + m.body_len

    def _live_end(self, m: Message) -> int:
        assert m.frame is not None
        return self._end(m) - m.notice_len

    # -- whole messages ----------------------------------------------------------------------

    def open_reply(self, m: Message) -> None:
        """The header bar of a streaming reply, and the reasoning it already has."""
        self._open_frame(m)
        if m.reasoning:
            self.append_reasoning(m, "")

    def render_static(self, m: Message) -> None:
        """Draw a whole stored message (a prompt, or a reply that is not streaming) at the end."""
        with self.batch():
            self._open_frame(m)
            if m.role == "user":  # static and short: the body lives inside the header frame
                assert m.frame is not None
                self._edit(
                    m.frame.lastPosition(), lambda c: self._put_text(c, m.text, QTextCharFormat())
                )
                return
            if m.reasoning:
                self.append_reasoning(m, "")
            if not m.actions and m.status != "complete":
                m.actions = self.failure_actions(m.key, m.status, bool(m.text))
            sp = BlockSplitter()
            self.replace_live(m, sp.feed(m.text) + sp.finish())
            self.add_failure(m)

    def _open_frame(self, m: Message) -> None:
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
        m.reasoning_len = m.body_len = m.notice_len = 0

    # -- a reply's body ----------------------------------------------------------------------

    def replace_live(self, m: Message, blocks: list[Block], *, tail: str = "") -> None:
        """Drop the live region (tail / open code), commit `blocks`, then show `tail`."""
        start = self._body_end(m)
        self._remove(start, self._live_end(m))
        for b in blocks:
            m.body_len += self._edit(self._body_end(m), partial(self._put_block, b=b))
        if tail.strip():
            self._edit(self._body_end(m), lambda c: self._put_markdown(c, tail))
        self._indent(start, self._live_end(m))

    def open_code(self, m: Message, lang: str) -> None:
        """Start showing an open fence as plain monospace text; highlighting comes at the close."""
        warm(lang)

        def put(c: QTextCursor) -> None:
            self._new_block(c)
            c.insertText(lang or "code", self._fmt(dim=True))
            c.insertBlock(self._code_block_format(), self._mono_format())

        start = self._live_end(m)
        self._edit(start, put)
        self._indent(start, self._live_end(m))

    def append_code(self, m: Message, text: str) -> None:
        """Grow the open fence that `open_code` started."""
        if text:
            mono = self._mono_format()
            self._edit(self._live_end(m), lambda c: c.insertText(text, mono))

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
        mono = self._mono_format()
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

    def _mono_format(self) -> QTextCharFormat:
        mono = QTextCharFormat()
        mono.setFont(self._mono)
        return mono

    def _code_block_format(self) -> QTextBlockFormat:
        bf = QTextBlockFormat()
        bf.setBackground(QColor(palette(self._dark)["bg"]))
        bf.setNonBreakableLines(True)
        return bf

    # -- a reply's reasoning, notice and failure box ------------------------------------------

    def append_reasoning(self, m: Message, text: str) -> None:
        """Reasoning under a toggle link, dimmed: shown whole as Markdown, then streamed
        appends as plain text (O(new text)); `refresh_reasoning` renders it all at the end."""
        assert m.frame is not None
        start = self._base(m)
        if m.reasoning_len and (m.collapsed or not text):
            return
        if m.reasoning_len:
            m.reasoning_len += self._edit(
                start + m.reasoning_len, lambda c: c.insertText(text, self._dim())
            )
            return

        def put(c: QTextCursor) -> None:
            arrow = "▸" if m.collapsed else "▾"
            self._new_block(c)
            c.insertText(f"{arrow} Reasoning", self._fmt(href=self._href("toggle", m=m.id)))
            if not m.collapsed:
                at = c.position()
                self._put_markdown(c, m.reasoning)
                dim = QTextCursor(self._doc)  # over the Markdown just inserted
                dim.setPosition(at)
                dim.setPosition(c.position(), QTextCursor.MoveMode.KeepAnchor)
                dim.mergeCharFormat(self._dim())

        m.reasoning_len = self._edit(start, put)
        self._indent(start, start + m.reasoning_len)

    def toggle_reasoning(self, m: Message) -> None:
        """Collapse or expand the reasoning of `m` (a click on its toggle link)."""
        if m.frame is None or not m.reasoning_len:
            return
        with self.batch():
            m.collapsed = not m.collapsed
            self.refresh_reasoning(m)

    def refresh_reasoning(self, m: Message) -> None:
        """Render the whole reasoning again (as Markdown, or just the toggle when collapsed)."""
        if m.frame is None or not m.reasoning_len:
            return
        start = self._base(m)
        self._remove(start, start + m.reasoning_len)
        m.reasoning_len = 0
        self.append_reasoning(m, "")

    def set_notice(self, m: Message, text: str) -> None:
        """A dimmed line under the reply ("Rate limited: retrying in 12 s"); "" removes it."""
        if m.frame is None:
            return
        end = self._end(m)
        self._remove(end - m.notice_len, end)
        m.notice_len = 0
        if text:
            dim = self._dim()
            m.notice_len = self._edit(self._end(m), lambda c: self._put_text(c, text, dim))
            self._indent(self._end(m) - m.notice_len, self._end(m))

    def add_failure(self, m: Message) -> None:
        """A marked box under the kept partial text: title, one sentence, actions, then any
        technical detail (the library's wording) dimmed and smaller on its own line."""
        if (m.status == "complete" and not m.failure_title) or m.frame is None:
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
        sentence, detail = split_detail(m.failure_text)
        if sentence:
            plain = QTextCharFormat()
            plain.setToolTip(m.failure_text)
            c.insertText(f": {sentence}", plain)
        for action in m.actions:
            verb = action.strip().lower()
            if verb in ("retry", "continue"):
                c.insertText("   ", QTextCharFormat())
                c.insertText(verb.capitalize(), self._fmt(href=self._href(verb, m=m.id)))
        if detail:
            small = self._dim()
            small.setFontPointSize(max(6.0, self._doc.defaultFont().pointSizeF() * 0.85))
            small.setToolTip(m.failure_text)
            self._put_text(c, f"Details: {detail}", small)


_PAREN = re.compile(r"\s*\(((?:[^()]|\([^()]*\))*)\)")
DETAIL_MIN = 40  # a parenthesis this long is a library's wording, not part of the sentence


def split_detail(text: str) -> tuple[str, str]:
    """Split a failure message into its sentence and the technical detail in long parentheses.

    "… broke during the reply (peer closed connection … (incomplete chunked read)); …" gives
    the sentence without the parenthesis and the parenthesis's text as the detail.
    """
    details: list[str] = []

    def cut(match: re.Match[str]) -> str:
        if len(match.group(1)) < DETAIL_MIN:
            return match.group(0)
        details.append(match.group(1).strip())
        return ""

    return _PAREN.sub(cut, text).strip(), "; ".join(details)
