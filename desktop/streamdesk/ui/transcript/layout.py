"""How the transcript lays its messages out in a QTextDocument.

A message is a header frame, then (for replies) regions in the root frame: reasoning, the body
(committed blocks, then the live tail or open code fence) and a notice or failure box. Regions
are lengths from the header frame's end, so edits elsewhere never invalidate them. The body is
not inside a frame: Qt re-lays out a whole frame whenever anything inside it changes.

The look: one centred reading column (the root frame's side margins, `set_column`); a prompt is
a tinted block with a small caption, a reply sits on the page under a small quiet caption; body
blocks get line height and paragraph, heading and list spacing in one pass over what was just
inserted (`_style`); a code block is a frame with a header line (language, Copy) in the same
style from its first streamed line to its last, coloured in place once its fence closes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QUrl, QUrlQuery
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QTextFrame,
    QTextFrameFormat,
    QTextLayout,
    QTextLength,
    QTextOption,
    QTextTable,
    QTextTableCell,
    QTextTableFormat,
)

from streamdesk.core.markdown_blocks import Block, BlockSplitter
from streamdesk.core.wording import adds_to
from streamdesk.ui.plain_text import plain_tooltip
from streamdesk.ui.theme import colors
from streamdesk.ui.tools.blocks import TOOL_BLOCK, ToolBlockPainter, ToolBlockStyle
from streamdesk.ui.tools.state import CallState, RoundState
from streamdesk.ui.transcript.code_job import HighlightQueue, SlicedHighlight, TokenPainter
from streamdesk.ui.transcript.highlight import MAX_HIGHLIGHT, warm
from streamdesk.ui.transcript.line_breaks import keep_line_breaks, opens_fence, quoted_tables
from streamdesk.ui.transcript.message import Message
from streamdesk.ui.transcript.safe_document import (
    MARKDOWN_FEATURES,
    ZWSP,
    SafeDocument,
    break_long_runs,
    defang,
)
from streamdesk.ui.transcript.thumbnails import put_thumbnails

SYNC_HIGHLIGHT = 2_000  # larger code blocks are coloured in slices (this one: under a frame)
_LIST_START = re.compile(r"\s*(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_TABLE_ROW = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*\|", re.MULTILINE)  # a delimiter row
_QUOTE_START = re.compile(r" {0,3}((?:> ?)+)")  # a block quote's markers, nested ones too
QUOTE_INDENT = 40  # px per level of a block quote, as Qt's Markdown importer indents one
ACTION_SCHEME = "sd-action"
# What each action link does (the view's own and the history view's): its tooltip.
ACTION_TIPS = {
    "copy-code": "Copy the code",
    "copy-msg": "Copy the message",
    "toggle": "Show or hide the model's reasoning",
    "retry": "Send the request again",
    "continue": "Ask the model to go on from here",
    "edit": "Edit this prompt and send it again",
    "delete": "Delete this message",
    "regenerate": "Ask for another reply",
    "alt-prev": "Previous version",
    "alt-next": "Next version",
    "earlier": "Show earlier messages",
    "tool-toggle": "Show or hide the call's arguments and result",
}
COLUMN_CHARS = 84  # the reading column holds about this many average characters per line
COLUMN_MIN, COLUMN_MAX = 560, 860  # px of text
PAGE_MARGIN = 24  # the least margin either side of the column
PROMPT_PADDING = 12
EDIT_OUTLINE = 2  # px of accent border around the prompt being edited
CODE_PADDING = 12
CODE_WRAP_INDENT = 2  # characters a wrapped code line's continuation is indented by
CODE_RUN = 500  # characters of code without a space between two break opportunities (ZWSP)
_RUN_START = re.compile(r"\S*")
_LONG_RUN = re.compile(rf"\S{{{CODE_RUN + 1},}}")
TABLE_PADDING = 6  # around the text of a table cell
CELL_SLACK = 3  # px more a cell is given than its text measures: Qt rounds its width down
MESSAGE_GAP = 28  # above a prompt
REPLY_GAP = 14  # between a prompt and the caption of its reply
HEADER_GAP = 6  # between a reply's caption and its body
END_MARGIN = 32  # below the last message, so a final code block is not flush with the edge
LINE_HEIGHT = 135  # % of the font's line spacing: ~1.5 of the font size
# Sizes relative to the body font; spacing in ems of the body font.
CAPTION_SCALE, CODE_SCALE = 0.85, 0.92
HEADING_SCALE = {1: 1.5, 2: 1.3, 3: 1.15}
HEADING_ABOVE = {1: 1.5, 2: 1.3, 3: 1.1}
HEADING_BELOW, PARAGRAPH_BELOW, ITEM_BELOW = 0.4, 0.75, 0.25
_STYLED = QTextFormat.Property.UserProperty + 1  # a block or table `_style` has done
_CHROME = QTextFormat.Property.UserProperty + 2  # "header", "code" or "failure": ours, as is
# A Markdown table's longest word and longest line per column, px: [word, line, word, ...]
_COLUMN_TEXT = QTextFormat.Property.UserProperty + 3
_UNBOUNDED = 1e9  # px: a line as long as its text
_HEADING_ADJUSTMENT = 4  # Qt's importer: heading level n has FontSizeAdjustment 4 - n

# (message key, role) -> the links to put on that message's header line, as (text, action);
# an empty action shows the text dimmed, without a link.
HeaderLinks = Callable[[object, str], Sequence[tuple[str, str]]]
# (message key, status, has text) -> the actions ("retry", "continue") on a stored reply's box
FailureActions = Callable[[object, str, bool], tuple[str, ...]]


def _gap_format() -> QTextBlockFormat:
    """An empty block Qt keeps around frames: no height, so it adds no uneven gap."""
    bf = QTextBlockFormat()
    bf.setLineHeight(0, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
    bf.setProperty(_STYLED, True)
    return bf


def _tip(href: str) -> str:
    """What an action link of ours does (its verb: the path of `ACTION_SCHEME:verb?...`)."""
    return ACTION_TIPS.get(href.partition(":")[2].partition("?")[0], "")


def _no_links(_key: object, _role: str) -> Sequence[tuple[str, str]]:
    return ()


def _no_actions(_key: object, _status: str, _has_text: bool) -> tuple[str, ...]:
    return ()


def column_width_for(font: QFont) -> int:
    """Width in px of the reading column's text for body `font`: about `COLUMN_CHARS`
    average characters, within `COLUMN_MIN` and `COLUMN_MAX`."""
    column = QFontMetricsF(font).averageCharWidth() * COLUMN_CHARS
    return int(min(COLUMN_MAX, max(COLUMN_MIN, column)))


def chrome_kind(fmt: QTextFormat) -> str:
    """The kind of a frame or table the layout drew itself (header, code, failure); "" else."""
    return str(fmt.property(_CHROME) or "")


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
        self._colors = colors(dark)
        self.header_links = header_links
        self.failure_actions = failure_actions
        self._nonce = secrets.token_hex(8)
        self._messages: list[Message] = []
        self._codes: dict[int, str] = {}  # copy-code link number -> the code
        self._open_lines: dict[int, OpenCodeLine] = {}  # message id -> its open fence's last line
        self._jobs: list[SlicedHighlight] = []
        self._later_colours = HighlightQueue(doc)  # code of earlier pages, coloured after showing
        self._batch_depth = 0
        self._style_todo: list[tuple[QTextCursor, Sequence[int]]] = []
        self._next_id = 0
        self._above: Message | None = None  # set while earlier messages are inserted above it
        self._opening: list[TokenPainter] | None = None  # code of a chat being drawn to open
        self._tool_calls: dict[int, tuple[Message, CallState]] = {}  # Details link -> call
        self._mono_family = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
        self._width = 0  # the viewport's width, for the column
        self._measure()
        self._set_root_format()

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
        if self._above is None:
            self._messages.append(m)
        else:
            self._messages.insert(self._messages.index(self._above), m)
        return m

    @contextmanager
    def inserting_above(self, first: Message) -> Iterator[None]:
        """Messages added and drawn inside go above `first`, in order, in one document edit;
        the messages already drawn are not touched (their frames and regions stay valid)."""
        if first.frame is None:
            raise ValueError("inserting above a message that is not drawn")
        self._above = first
        try:
            with self.batch():
                yield
        finally:
            self._above = None

    @contextmanager
    def opening(self, height: int) -> Iterator[None]:
        """Messages drawn in one go for a view `height` pixels high that opens at the newest
        (a chat opened or drawn again): the small code blocks whose end may be on screen then
        are coloured before the next paint; those above, out of sight, once the reader pauses,
        nearest first. A text block is taken to be at least one line of code high, so tall
        paragraphs and images only make more code count as on screen."""
        self._opening = []
        try:
            yield
        finally:
            painters, self._opening = self._opening, None
            rows = int(height / (self._em * CODE_SCALE * LINE_HEIGHT / 100)) + 1
            last = self._doc.blockCount()
            for painter in painters:
                if last - self._doc.findBlock(painter.end()).blockNumber() <= rows:
                    painter.paint()
                else:
                    self._later_colours.add(painter)

    def drop_first(self, count: int) -> None:
        """Forget the first `count` messages and remove them from the document, in one edit
        (the reader went back to the newest: far pages need not stay laid out)."""
        gone, kept = self._messages[:count], self._messages[count:]
        nxt = next((m.frame for m in kept if m.frame is not None), None)
        first = next((m.frame for m in gone if m.frame is not None), None)
        if first is None:
            return
        end = nxt.firstPosition() - 1 if nxt is not None else self._doc.rootFrame().lastPosition()
        with self.batch():
            self._remove(first.firstPosition() - 1, end)
        for m in gone:
            m.frame = None
            if m.live is not None:
                m.live.detach()
        del self._messages[:count]

    def drop_last(self, count: int) -> None:
        """Forget the last `count` messages and remove them from the document, in one edit
        (the reader is far above them)."""
        gone = self._messages[len(self._messages) - count :] if count > 0 else []
        first = next((m.frame for m in gone if m.frame is not None), None)
        if first is None:
            return
        with self.batch():
            self._remove(first.firstPosition() - 1, self._doc.rootFrame().lastPosition())
        for m in gone:
            m.frame = None
            if m.live is not None:
                m.live.detach()
        del self._messages[len(self._messages) - count :]

    def set_lead_line(self, text: str, action: str) -> None:
        """The line above the first message: one link to `action` ("" text: no line)."""
        block = self._doc.begin()
        c = QTextCursor(block)
        c.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        c.beginEditBlock()
        c.setBlockFormat(QTextBlockFormat() if text else _gap_format())
        if text:
            c.insertText(text, self._fmt(href=self._href(action, m=-1)))
        else:
            c.removeSelectedText()
        c.endEditBlock()

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
        self._tool_calls.clear()
        self._empty_document()

    def start_over(self, *, dark: bool) -> None:
        """Empty the document but keep the messages, to draw them again (another theme or font).

        Every message forgets its frame first: the frames die with the document's contents,
        and a region is found from the next message's frame.
        """
        self._dark = dark
        self._colors = colors(dark)
        for m in self._messages:
            m.frame = None
        self._empty_document()
        self._measure()
        self._set_root_format()

    def _empty_document(self) -> None:
        self._codes.clear()
        self._open_lines.clear()
        self._cancel_jobs()
        self._doc.clear()
        self._set_root_format()

    def _measure(self) -> None:
        """Sizes that follow the body font (the user's font size setting)."""
        font = self._doc.defaultFont()
        self._pt = font.pointSizeF() if font.pointSizeF() > 0 else font.pixelSize() * 0.75
        metrics = QFontMetricsF(font)
        self._em = metrics.height() / 1.17  # ~the font's pixel size, without a QFontInfo
        self._column = column_width_for(font)
        self._doc.setIndentWidth(round(self._em * 1.6))  # per list level (bullet included)

    @property
    def colors(self) -> dict[str, str]:
        """The theme's colours the document is drawn in."""
        return dict(self._colors)

    @property
    def column_width(self) -> int:
        """Width of the reading column's text, px."""
        return self._column

    def set_column(self, viewport_width: int) -> None:
        """Centre the reading column in a viewport `viewport_width` px wide; a window too
        narrow for the column shares its text width among the columns of wide tables again."""
        if viewport_width != self._width:
            text = self._text_width()
            self._width = viewport_width
            self._set_root_format()
            if self._text_width() != text:
                self._refit_tables()

    def _text_width(self) -> int:
        """Width in px of the text: the column's, or less in a narrower viewport."""
        return min(self._column, self._width - 2 * PAGE_MARGIN) if self._width else self._column

    def _refit_tables(self) -> None:
        """Column widths of every Markdown table again, from what `_fit_columns` measured:
        O(tables), in one edit (the document is laid out again for the new width anyway)."""
        with self.batch():
            for frame in self._doc.rootFrame().childFrames():
                if isinstance(frame, QTextTable) and frame.format().hasProperty(_COLUMN_TEXT):
                    self._fit_columns(frame, frame.rows())

    def _set_root_format(self) -> None:
        """The column's side margins and the room below the last message (set again after
        `clear`, which resets the root frame)."""
        side = max(PAGE_MARGIN, (self._width - self._column) // 2)
        root = self._doc.rootFrame()
        ff = root.frameFormat()
        if ff.leftMargin() == side and ff.bottomMargin() == END_MARGIN:
            return
        ff.setLeftMargin(side)
        ff.setRightMargin(side)
        ff.setTopMargin(8)
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
        """Body-size text: bold, dimmed (secondary grey) or a link in the accent colour."""
        f = QTextCharFormat()
        if bold:
            f.setFontWeight(QFont.Weight.DemiBold)
        if dim:
            f.setForeground(QColor(self._colors["muted"]))
        if href:
            f.setAnchor(True)
            f.setAnchorHref(href)
            f.setForeground(QColor(self._colors["highlight"]))
            f.setToolTip(_tip(href))
        return f

    def _dim(self) -> QTextCharFormat:
        return self._fmt(dim=True)

    def _small(self, colour: str, href: str = "") -> QTextCharFormat:
        """Caption-size text in one of the theme's greys: a quiet link when `href` is given."""
        f = QTextCharFormat()
        f.setFontPointSize(self._pt * CAPTION_SCALE)
        f.setForeground(QColor(self._colors[colour]))
        if href:
            f.setAnchor(True)
            f.setAnchorHref(href)
            f.setToolTip(_tip(href))
        return f

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
        if not self._batch_depth and self._style_todo:
            todo, self._style_todo = self._style_todo, []
            c.beginEditBlock()  # tables exist only once the edit block ended (Qt scans frames)
            for r, table_quotes in todo:
                self._style_now(r.selectionStart(), r.selectionEnd(), table_quotes)
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
        c.insertBlock(self._text_block_format(), fmt)
        c.insertText(text, fmt)

    def _text_block_format(self, below: float = 0.0) -> QTextBlockFormat:
        """A block of plain text the layout writes itself (not Markdown): line height, spacing."""
        bf = QTextBlockFormat()
        bf.setLineHeight(LINE_HEIGHT, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        bf.setBottomMargin(below * self._em)
        bf.setProperty(_STYLED, True)
        return bf

    def _put_markdown(self, c: QTextCursor, text: str) -> None:
        # The importer starts a new block itself before a list (an empty block would turn into
        # an empty item) but merges a paragraph into the current block, which must be fresh.
        if not _LIST_START.match(text):
            self._new_block(c)
        start = c.position()
        c.insertMarkdown(break_long_runs(keep_line_breaks(text.rstrip())), MARKDOWN_FEATURES)
        defang(self._doc, start, c.position())
        quote = _QUOTE_START.match(text)
        if quote:  # the importer merged the quote's first paragraph into the fresh block
            code = opens_fence(text[quote.end() :])
            self._quote(self._doc.findBlock(start), quote.group(1).count(">"), code=code)
        table_quotes = quoted_tables(text)
        if table_quotes or _TABLE_ROW.search(text):  # a table is known once the edit block ends
            self._style(start, c.position(), table_quotes)
        else:  # in this edit: no second layout pass
            self._style_now(start, c.position())

    def _quote(self, block: QTextBlock, level: int, *, code: bool = False) -> None:
        """Indent `block` as a block quote of `level`, as the importer does every paragraph of
        a quote but a first one merged into an existing block (a quote streamed as the start
        of a block would show quoted while streaming and plain once committed); a `code`
        line keeps its lines unbroken."""
        bf = block.blockFormat()
        bf.setLeftMargin(QUOTE_INDENT * level)
        bf.setNonBreakableLines(code)
        bf.setProperty(QTextFormat.Property.BlockQuoteLevel, level)
        QTextCursor(block).setBlockFormat(bf)

    def _style(self, start: int, end: int, table_quotes: Sequence[int] = ()) -> None:
        """Give the blocks in [start, end] their spacing, line height and type sizes;
        `table_quotes` are the quote levels of its tables, in order (see `quoted_tables`).

        Inside a batch the range is kept as a cursor (Qt moves it with later edits) and styled
        when the batch ends. O(blocks in the range); a block or table already styled is left
        alone (a property marks it), so overlapping ranges never style twice.
        """
        if not self._batch_depth:
            self._style_now(start, end, table_quotes)
            return
        r = QTextCursor(self._doc)
        r.setPosition(start)
        r.setPosition(min(end, self._doc.characterCount() - 1), QTextCursor.MoveMode.KeepAnchor)
        self._style_todo.append((r, table_quotes))

    def _style_now(self, start: int, end: int, table_quotes: Sequence[int] = ()) -> None:
        tables = 0  # Markdown tables met so far
        block = self._doc.findBlock(start)
        while block.isValid() and block.position() <= end:
            c = QTextCursor(block)
            table = c.currentTable()
            if table is not None:
                tf = table.format()
                if not chrome_kind(tf):
                    if not tf.boolProperty(_STYLED):
                        quoted = table_quotes[tables] if tables < len(table_quotes) else 0
                        self._style_table(table, tf, quoted)
                    tables += 1
                block = self._doc.findBlock(table.lastPosition() + 1)
                continue
            frame = c.currentFrame()
            if frame is not None and frame != self._doc.rootFrame():  # ours: drawn styled
                block = self._doc.findBlock(frame.lastPosition() + 1)
                continue
            if not block.blockFormat().boolProperty(_STYLED):
                self._style_block(block, c)
            block = block.next()

    def _style_block(self, block: QTextBlock, c: QTextCursor) -> None:
        """Spacing and line height of one Markdown block; headings and inline code sized, a
        quote's text muted, the lines of a code block in a quote kept together."""
        bf = block.blockFormat()
        quote = bf.intProperty(QTextFormat.Property.BlockQuoteLevel)
        quoted_code = bool(quote) and bf.nonBreakableLines()  # the importer's code line
        level = 0
        spans: list[tuple[int, int, QTextCharFormat]] = []
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            fmt = frag.charFormat()
            if fmt.hasProperty(QTextFormat.Property.FontSizeAdjustment) and fmt.fontWeight() > 500:
                level = _HEADING_ADJUSTMENT - fmt.intProperty(
                    QTextFormat.Property.FontSizeAdjustment
                )
                fmt.clearProperty(QTextFormat.Property.FontSizeAdjustment)
                fmt.setFontPointSize(self._pt * HEADING_SCALE.get(level, 1.0))
                fmt.setFontWeight(QFont.Weight.DemiBold)
                spans.append((frag.position(), frag.length(), fmt))
            elif self._is_code(fmt):
                self._code_look(fmt)
                spans.append((frag.position(), frag.length(), fmt))
            it += 1
        em = self._em
        prev = block.previous()
        after_list = prev.isValid() and prev.textList() is not None
        if block.textList() is not None:
            bf.setTopMargin(0)
            bf.setBottomMargin(ITEM_BELOW * em)
        elif level:
            bf.setHeadingLevel(level)
            bf.setTopMargin(HEADING_ABOVE.get(level, 1.0) * em)
            bf.setBottomMargin(HEADING_BELOW * em)
        elif quoted_code:
            more = block.next().blockFormat().nonBreakableLines()  # not styled yet: still set
            bf.setTopMargin(0)
            bf.setBottomMargin(0 if more else PARAGRAPH_BELOW * em)
            bf.setNonBreakableLines(False)  # a long line wraps in the column, as code boxes do
        else:
            bf.setTopMargin(0.5 * em if after_list else 0)
            bf.setBottomMargin(PARAGRAPH_BELOW * em)
        height = 120 if level else LINE_HEIGHT
        bf.setLineHeight(height, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        bf.setProperty(_STYLED, True)
        c.setBlockFormat(bf)
        for pos, length, fmt in spans:
            c.setPosition(pos)
            c.setPosition(pos + length, QTextCursor.MoveMode.KeepAnchor)
            c.setCharFormat(fmt)
        if quote:  # quoted: indented and muted
            self._mute(block.position(), block.position() + block.length() - 1)

    def _mute(self, start: int, end: int) -> None:
        """The text in [start, end) in the theme's muted grey, as a block quote's is."""
        muted = QTextCharFormat()
        muted.setForeground(QColor(self._colors["muted"]))
        c = QTextCursor(self._doc)
        c.setPosition(start)
        c.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        c.mergeCharFormat(muted)

    def _is_code(self, fmt: QTextCharFormat) -> bool:
        return fmt.fontFixedPitch() or self._mono_family in (fmt.fontFamilies() or [])

    def _code_look(self, fmt: QTextCharFormat) -> None:
        """Inline code: ~0.92 of the body size (Qt's importer gives it the system fixed
        font's size) on a subtle background."""
        fmt.setFontPointSize(self._pt * CODE_SCALE)
        fmt.setBackground(QColor(self._colors["inline_code_bg"]))

    def _style_inline_code(self, start: int, end: int) -> None:
        """Inline code between `start` and `end` (table cells, which `_style_block` skips)."""
        c = QTextCursor(self._doc)
        block = self._doc.findBlock(start)
        while block.isValid() and block.position() <= end:
            it = block.begin()
            while not it.atEnd():
                frag = it.fragment()
                fmt = frag.charFormat()
                if self._is_code(fmt):
                    self._code_look(fmt)
                    c.setPosition(frag.position())
                    c.setPosition(frag.position() + frag.length(), QTextCursor.MoveMode.KeepAnchor)
                    c.setCharFormat(fmt)
                it += 1
            block = block.next()

    def _style_table(self, table: QTextTable, tf: QTextTableFormat, quoted: int = 0) -> None:
        """A Markdown table: thin grey rules, roomy cells, spaced like a paragraph; in a block
        quote of level `quoted`, indented and muted as the quote's text (Qt's importer puts
        it flush with the margin).

        The rules are the table's background showing through 1 px of cell spacing between
        cells filled with the page colour, not collapsed borders: Qt paints and lays out a
        collapsed border by looking each cell up again per edge, O(log document) each time,
        which made a table on screen the dearest thing to draw and dearer the longer the
        document. Margins and the cells' uneven padding put every rule and every glyph on
        the pixel a collapsed 1 px border gave them.
        """
        tf.setBorder(0)
        tf.setBorderCollapse(False)
        tf.setCellSpacing(1)
        tf.setCellPadding(0)
        tf.setBackground(QColor(self._colors["code_border"]))
        tf.setLeftMargin(1 + QUOTE_INDENT * quoted)
        tf.setRightMargin(2)
        tf.setTopMargin(0.25 * self._em + 1)
        tf.setBottomMargin(PARAGRAPH_BELOW * self._em + 2)
        tf.setProperty(_STYLED, True)
        table.setFormat(tf)
        self._hide_stray_line(table)
        for row in range(table.rows()):
            self._style_cells(table, row)
        self._style_inline_code(table.firstPosition(), table.lastPosition())
        if quoted:
            self._mute(table.firstPosition(), table.lastPosition())
        self._fit_columns(table, 0)

    def _hide_stray_line(self, table: QTextTable) -> None:
        """Qt's importer starts the first cell of a table right after a code block with an
        empty line, the cell's text then plain and indented as the quote around it: the line
        gets no height (removing it would move the regions measured before styling), the text
        is bold and aligned as the cell under it."""
        cell = table.cellAt(0, 0)
        first = cell.firstCursorPosition().block()
        text = first.next()
        if first.text() or text.position() > cell.lastPosition():
            return
        QTextCursor(first).setBlockFormat(_gap_format())
        below = table.cellAt(1, 0) if table.rows() > 1 else None
        c = QTextCursor(text)
        c.setBlockFormat(below.firstCursorPosition().blockFormat() if below else QTextBlockFormat())
        c.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        heading = QTextCharFormat()
        heading.setFontWeight(QFont.Weight.Bold)  # as the importer makes every header cell
        c.mergeCharFormat(heading)

    def _style_cells(self, table: QTextTable, row: int) -> None:
        """The page colour and padding of the cells of `row` (see `_style_table`)."""
        for col in range(table.columns()):
            cell = table.cellAt(row, col)
            cf = cell.format().toTableCellFormat()
            cf.setBackground(QColor(self._colors["page"]))
            cf.setLeftPadding(TABLE_PADDING + 0.5)
            cf.setTopPadding(TABLE_PADDING + 0.5)
            cf.setRightPadding(TABLE_PADDING - 0.5)
            cf.setBottomPadding(TABLE_PADDING - 0.5)
            cell.setFormat(cf)

    def _fit_columns(self, table: QTextTable, first_row: int) -> None:
        """Column widths that follow the text of the rows from `first_row` on, with what the
        rows above measured (kept in the table's format): O(new rows).

        Qt gives a table that fits its widest lines; one that does not gets the room shared
        evenly, breaking short words ("gamm/a") to feed a long column. Such a table gets
        `column_widths` as percentages instead: every column its longest word first."""
        tf = table.format()
        columns = table.columns()
        measured = [float(x) for x in tf.property(_COLUMN_TEXT) or ()]
        if len(measured) != 2 * columns:
            measured, first_row = [0.0] * (2 * columns), 0
        for row in range(first_row, table.rows()):
            for col in range(columns):
                word, line = self._cell_text_widths(table.cellAt(row, col))
                measured[2 * col] = max(measured[2 * col], word)
                measured[2 * col + 1] = max(measured[2 * col + 1], line)
        edges = tf.cellSpacing() * (columns + 1) + tf.leftMargin() + tf.rightMargin()
        room = self._text_width() - edges  # `set_column` fits them again for another width
        padding = 2 * TABLE_PADDING + CELL_SLACK
        widths = column_widths(measured[0::2], measured[1::2], room, padding)
        constraints = [QTextLength(QTextLength.Type.PercentageLength, w) for w in widths]
        if tf.property(_COLUMN_TEXT) == measured and tf.columnWidthConstraints() == constraints:
            return  # rows that change nothing: no second layout of the table
        tf.setProperty(_COLUMN_TEXT, measured)
        tf.setColumnWidthConstraints(constraints)
        table.setFormat(tf)

    def _cell_text_widths(self, cell: QTextTableCell) -> tuple[float, float]:
        """Widths in px of the longest word and the longest line of `cell`'s text."""
        word = line = 0.0
        block = self._doc.findBlock(cell.firstPosition())
        while block.isValid() and block.position() <= cell.lastPosition():
            if block.length() > 1:
                layout = QTextLayout(block.text(), self._doc.defaultFont())
                layout.setFormats(block.textFormats())
                whole_words = QTextOption()  # the longest word is then the least width
                whole_words.setWrapMode(QTextOption.WrapMode.WordWrap)
                layout.setTextOption(whole_words)
                layout.beginLayout()
                while (text_line := layout.createLine()).isValid():
                    text_line.setLineWidth(_UNBOUNDED)
                layout.endLayout()
                word = max(word, layout.minimumWidth())
                line = max(line, layout.maximumWidth())
            block = block.next()
        return word, line

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
                if m.images:  # thumbnails under the text, registered with the document
                    images, caption = m.images, self._small("muted")
                    end = m.frame.lastPosition()
                    self._edit(end, lambda c: put_thumbnails(self._doc, c, images, caption))
                return
            if m.reasoning:
                self.append_reasoning(m, "")
            if not m.actions and m.status != "complete":
                m.actions = self.failure_actions(m.key, m.status, bool(m.text))
            start = 0
            for found in m.tool_rounds:  # the text of each round, then its calls
                sp = BlockSplitter()
                self.replace_live(m, sp.feed(m.text[start : found.at]) + sp.finish())
                self.show_tools(m, found)
                self.commit_tools(m)
                start = found.at
            sp = BlockSplitter()
            self.replace_live(m, sp.feed(m.text[start:]) + sp.finish())
            self.add_failure(m)

    def outline(self, m: Message, on: bool) -> None:
        """Outline prompt `m`'s block in the accent colour (the prompt being edited) or not; the
        padding gives the border its room, so nothing around it moves."""
        if m.frame is None or m.role != "user":
            return
        ff = m.frame.frameFormat()
        ff.setBorder(EDIT_OUTLINE if on else 0)
        ff.setBorderBrush(QColor(self._colors["highlight"]))
        ff.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        ff.setPadding(PROMPT_PADDING - (EDIT_OUTLINE if on else 0))
        m.frame.setFrameFormat(ff)

    def _insert_frame(self, c: QTextCursor, ff: QTextFrameFormat) -> QTextFrame:
        """A frame at `c` (an empty block): the blocks Qt keeps around it get no height."""
        c.setBlockFormat(_gap_format())
        frame = c.insertFrame(ff)
        after = QTextCursor(self._doc)
        after.setPosition(frame.lastPosition() + 1)
        after.setBlockFormat(_gap_format())
        return frame

    def _open_frame(self, m: Message) -> None:
        """The header: a prompt's tinted block with its caption, or a reply's caption line.

        Spacing comes from frame margins only (gap blocks have no height). The caption and its
        links (Copy, the view's `header_links`) are small and in the theme's secondary greys.
        """
        user = m.role == "user"
        ff = QTextFrameFormat()
        ff.setProperty(_CHROME, "header")
        if user:
            ff.setPadding(PROMPT_PADDING)
            ff.setBackground(QColor(self._colors["prompt"]))
            ff.setTopMargin(MESSAGE_GAP)
        else:
            ff.setPadding(0)
            ff.setTopMargin(REPLY_GAP)
            ff.setBottomMargin(HEADER_GAP)
        c = QTextCursor(self._doc)
        if self._above is not None and self._above.frame is not None:
            c.setPosition(self._above.frame.firstPosition() - 1)
        else:
            c.movePosition(QTextCursor.MoveOperation.End)
        if c.block().length() > 1:  # the previous reply ended in text or code: a fresh block
            c.insertBlock(_gap_format(), QTextCharFormat())
        m.frame = self._insert_frame(c, ff)
        bf = QTextBlockFormat()
        bf.setBottomMargin(4 if user else 0)
        bf.setProperty(_STYLED, True)
        c.setBlockFormat(bf)
        head = "You" if user else " · ".join(x for x in ("Assistant", m.label) if x)
        c.insertText(head, self._small("muted"))
        c.insertText("   ", self._small("faint"))
        c.insertText("Copy", self._small("faint", self._href("copy-msg", m=m.id)))
        for text, action in self.header_links(m.key, m.role):
            c.insertText("  ", self._small("faint"))
            href = self._href(action, m=m.id) if action else ""
            c.insertText(text, self._small("faint", href))
        m.reasoning_len = m.body_len = m.notice_len = 0

    # -- a reply's body ----------------------------------------------------------------------

    def replace_live(self, m: Message, blocks: list[Block], *, tail: str = "") -> None:
        """Drop the live region (tail / open code), commit `blocks`, then show `tail`."""
        start = self._body_end(m)
        self._remove(start, self._live_end(m))
        m.open_code, m.held_newline = 0, False
        for b in blocks:
            m.body_len += self._edit(self._body_end(m), partial(self._put_block, b=b))
        if tail.strip():
            self._edit(self._body_end(m), lambda c: self._put_markdown(c, tail))

    def live_length(self, m: Message) -> int:
        """Characters the live region (the open tail) takes in the document."""
        return self._live_end(m) - self._body_end(m)

    def replace_live_after(self, m: Message, keep: int, tail: str) -> None:
        """Draw list `tail` again after the first `keep` characters of the live region (an
        open list's earlier items, which stay as drawn). A block with no height comes first:
        Markdown inserted at a list item's end would join that item."""
        start = self._body_end(m) + keep
        self._remove(start, self._live_end(m))

        def put(c: QTextCursor) -> None:
            c.insertBlock(_gap_format(), QTextCharFormat())
            self._put_markdown(c, tail)

        if tail.strip():
            self._edit(start, put)

    def grow_table(self, m: Message, rows: Sequence[str], *, quoted: int = 0) -> bool:
        """Append complete Markdown table `rows` (without quote markers) to the table the live
        region shows, cell by cell, each cell aligned as the one above it and muted when the
        table is in a block quote (`quoted` is its level): O(new rows), where drawing the tail
        again would parse and style the whole table. False when the live region shows no
        table."""
        table = self._live_table(m)
        if table is None:
            return False
        columns = table.columns()
        first_new = table.rows()
        for line in rows:
            if not line.strip():
                continue
            cells = split_table_row(line)
            row = table.rows()
            table.appendRows(1)
            self._style_cells(table, row)
            for col in range(columns):
                above = table.cellAt(row - 1, col).firstCursorPosition().blockFormat()
                c = table.cellAt(row, col).firstCursorPosition()
                c.setBlockFormat(above)
                text = cells[col] if col < len(cells) else ""
                if text:
                    start = c.position()
                    c.insertMarkdown(break_long_runs(text), MARKDOWN_FEATURES)
                    defang(self._doc, start, c.position())
                    self._style_inline_code(start, c.position())
                    if quoted:
                        self._mute(start, c.position())
        self._fit_columns(table, first_new)
        return True

    def _live_table(self, m: Message) -> QTextTable | None:
        """The table the live region starts with (a streaming tail), if it does."""
        if m.frame is None:
            return None
        end = self._live_end(m)
        block = self._doc.findBlock(self._body_end(m))
        for _ in range(3):  # the tail's fresh block, then the table's first cell
            if not block.isValid() or block.position() >= end:
                return None
            table = QTextCursor(block).currentTable()
            if table is not None:
                return table
            block = block.next()
        return None

    def open_code(self, m: Message, lang: str) -> None:
        """Start showing an open fence: the code frame it will keep, its code in monospace;
        colours come once the fence closes."""
        warm(lang)

        def put(c: QTextCursor) -> None:
            self._new_block(c)
            frame = self._code_frame(c, lang, "")
            m.open_code = self._live_end(m) - frame.lastPosition()

        self._edit(self._live_end(m), put)
        self._open_lines[m.id] = OpenCodeLine()

    def append_code(self, m: Message, text: str) -> None:
        """Grow the open fence that `open_code` started; a final newline waits for the next
        line (a code block never shows an empty last line it will lose at the close)."""
        if m.held_newline:
            text = "\n" + text
            m.held_newline = False
        if text.endswith("\n"):
            text, m.held_newline = text[:-1], True
        if text and m.open_code:
            line = self._open_lines.setdefault(m.id, OpenCodeLine())
            text, line.run = break_code_runs(text, line.run)
            mono = self._mono_format()
            at = self._live_end(m) - m.open_code
            self._edit(at, lambda c: c.insertText(text, mono))
            self._indent_code(at, line.leads(text))

    def _put_block(self, c: QTextCursor, *, b: Block) -> None:
        if b.kind == "code":
            n = len(self._codes)
            self._codes[n] = b.text
            self._new_block(c)
            self._code_frame(c, b.lang, self._href("copy-code", n=n))
            code, _ = break_code_runs(b.text[:-1] if b.text.endswith("\n") else b.text)
            anchor = QTextCursor(c)  # on the separator before the code: inserting the code there
            anchor.setPosition(c.position() - 1)  # would move a cursor placed at the code's start
            c.insertText(code, self._mono_format())
            self._indent_code(anchor.position() + 1, OpenCodeLine().leads(code))
            if b.lang.strip() and len(code) <= MAX_HIGHLIGHT:
                self._colour(anchor, code, b.lang)
        else:
            self._put_markdown(c, b.text)

    def _code_frame(self, c: QTextCursor, lang: str, copy_href: str) -> QTextFrame:
        """A code block's frame at `c` (an empty block): the header line (language, Copy; Copy
        is a link once the code is complete), then an empty code line with `c` in it."""
        ff = QTextFrameFormat()
        ff.setProperty(_CHROME, "code")
        ff.setBackground(QColor(self._colors["code_bg"]))
        ff.setBorder(1)
        ff.setBorderBrush(QColor(self._colors["code_border"]))
        ff.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        ff.setPadding(CODE_PADDING)
        ff.setTopMargin(0.25 * self._em)
        ff.setBottomMargin(PARAGRAPH_BELOW * self._em)
        frame = self._insert_frame(c, ff)
        head = QTextBlockFormat()
        head.setBottomMargin(6)
        head.setProperty(_STYLED, True)
        c.setBlockFormat(head)
        c.insertText(lang.strip() or "code", self._small("muted"))
        c.insertText("   ", self._small("muted"))
        c.insertText("Copy", self._small("muted" if copy_href else "faint", copy_href))
        c.insertBlock(self._code_block_format(), self._mono_format())
        return frame

    def _colour(self, anchor: QTextCursor, code: str, lang: str) -> None:
        """Colour the code just after `anchor`: now when small, else in slices; code drawn above
        the reader's messages (an earlier page), or whose lexer is still being built, once it
        is shown (the lexer built); a chat's code while it is drawn to open, as `opening`
        says."""
        if len(code) <= SYNC_HIGHLIGHT:
            painter = TokenPainter(self._doc, anchor, code, lang, dark=self._dark)
            if self._above is not None or not painter.ready():
                self._later_colours.add(painter)
            elif self._opening is not None:
                self._opening.append(painter)
            else:
                painter.paint()
            return
        self._jobs = [j for j in self._jobs if not j.done]
        self._jobs.append(SlicedHighlight(self._doc, anchor, code, lang, dark=self._dark))

    def _cancel_jobs(self) -> None:
        self._later_colours.cancel()
        for job in self._jobs:
            job.cancel()
        self._jobs.clear()

    def _mono_format(self) -> QTextCharFormat:
        mono = QTextCharFormat()
        mono.setFontFamilies([self._mono_family])
        mono.setFontFixedPitch(True)
        mono.setFontPointSize(self._pt * CODE_SCALE)
        mono.setForeground(QColor(self._colors["text"]))
        return mono

    def _code_block_format(self, lead: str = "") -> QTextBlockFormat:
        """A line of code that starts with whitespace `lead`: a line longer than the box wraps
        inside it (the transcript never scrolls sideways), its continuation under the line's
        own indent and `CODE_WRAP_INDENT` characters more, so the wrap shows (at most half
        the column in); the first line starts at the box's edge as when it fits."""
        bf = QTextBlockFormat()
        space = QFontMetricsF(self._mono_format().font()).horizontalAdvance(" ")
        tab = self._doc.defaultTextOption().tabStopDistance()
        indent = 0.0
        for ch in lead:
            indent = (indent // tab + 1) * tab if ch == "\t" else indent + space
        indent = min(indent + CODE_WRAP_INDENT * space, self._column / 2)
        bf.setLeftMargin(indent)
        bf.setTextIndent(-indent)
        bf.setLineHeight(LINE_HEIGHT, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        bf.setProperty(_STYLED, True)
        return bf

    def _indent_code(self, start: int, leads: Sequence[str]) -> None:
        """Give the lines of code from the one at `start` on, whose leading whitespace is
        `leads`, their wrap indent (`_code_block_format`): a new line takes its format from
        the line above, so each gets its own. O(lines)."""
        block = self._doc.findBlock(start)
        for lead in leads:
            bf = self._code_block_format(lead)
            if block.blockFormat().leftMargin() != bf.leftMargin():
                QTextCursor(block).setBlockFormat(bf)
            block = block.next()

    # -- a reply's tool calls ----------------------------------------------------------------

    def show_tools(self, m: Message, found: RoundState, reserve: int = 0) -> QTextCursor | None:
        """Draw tool round `found` as the live region (after the committed text), in place of
        what it showed: one frame per call. With `reserve` px, a call awaiting approval leaves
        room for the approval bar; the cursor returned sits there."""
        start = self._body_end(m)
        self._remove(start, self._live_end(m))
        m.open_code, m.held_newline = 0, False
        painter = self._tool_painter()
        reserved: list[QTextCursor] = []

        def put(c: QTextCursor) -> None:
            for call in found.calls:
                if call.number < 0:
                    call.number = len(self._tool_calls)
                self._tool_calls[call.number] = (m, call)
                self._new_block(c)
                c.setBlockFormat(_gap_format())
                frame, spot = painter.insert(c, call, reserve)
                if spot is not None:
                    reserved.append(spot)
                c.setPosition(frame.lastPosition() + 1)
                c.setBlockFormat(_gap_format())

        self._edit(start, put)
        return reserved[0] if reserved else None

    def commit_tools(self, m: Message) -> None:
        """The tool round the live region shows stays as drawn: it joins the body."""
        if m.frame is not None:
            m.body_len += self._live_end(m) - self._body_end(m)

    def toggle_tool(self, number: int) -> None:
        """Open or close the details of call block `number` (a click on its Details link)."""
        found = self._tool_calls.get(number)
        if found is None:
            return
        m, call = found
        call.expanded = not call.expanded
        with self.batch():
            self.redraw_tool(m, call)

    def redraw_tool(self, m: Message, call: CallState) -> None:
        """Draw one call's block again in place, wherever it is in the reply."""
        frame = self._tool_frame(call.number)
        if frame is None or m.frame is None:
            return
        committed = frame.firstPosition() < self._body_end(m)
        before = self._doc.characterCount()
        self._tool_painter().redraw(frame, call)
        if committed:
            m.body_len += self._doc.characterCount() - before

    def _tool_frame(self, number: int) -> QTextFrame | None:
        for frame in self._doc.rootFrame().childFrames():
            if frame.frameFormat().property(TOOL_BLOCK) == number:
                return frame
        return None

    def _tool_painter(self) -> ToolBlockPainter:
        return ToolBlockPainter(
            ToolBlockStyle(
                self._colors,
                self._pt,
                self._em,
                self._mono_family,
                lambda n: self._href("tool-toggle", n=n),
                caption_scale=CAPTION_SCALE,
            )
        )

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
            c.insertBlock(self._text_block_format(below=0.25), QTextCharFormat())
            toggle = self._href("toggle", m=m.id)
            c.insertText(f"{arrow} Reasoning", self._small("muted", toggle))
            if not m.collapsed:
                at = c.position()
                self._put_markdown(c, m.reasoning)
                dim = QTextCursor(self._doc)  # over the Markdown just inserted
                dim.setPosition(at)
                dim.setPosition(c.position(), QTextCursor.MoveMode.KeepAnchor)
                dim.mergeCharFormat(self._dim())

        m.reasoning_len = self._edit(start, put)

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
            dim = self._small("muted")
            m.notice_len = self._edit(self._end(m), lambda c: self._put_text(c, text, dim))

    def add_failure(self, m: Message) -> None:
        """A box under the kept partial text, with a coloured stripe on its left (error red,
        or grey for a stop): the kind in semibold and one sentence, the actions, then any
        technical detail (the library's wording) small and dimmed on its own line."""
        if (m.status == "complete" and not m.failure_title) or m.frame is None:
            return
        title = m.failure_title or {"stopped": "Stopped"}.get(m.status, "Failed")
        stripe = "error" if m.status in ("error", "partial") else "faint"
        c = QTextCursor(self._doc)
        c.setPosition(self._end(m))
        if c.block().length() > 1:
            c.insertBlock(_gap_format(), QTextCharFormat())
        c.setBlockFormat(_gap_format())
        table = c.insertTable(1, 2, self._failure_format())
        left = table.cellAt(0, 0)
        cf = left.format().toTableCellFormat()
        cf.setBackground(QColor(self._colors[stripe]))
        left.setFormat(cf)
        body = table.cellAt(0, 1)
        cf = body.format().toTableCellFormat()
        cf.setBackground(QColor(self._colors["failure_bg"]))
        cf.setTopPadding(8)
        cf.setBottomPadding(8)
        cf.setLeftPadding(12)
        cf.setRightPadding(12)
        body.setFormat(cf)
        c = body.firstCursorPosition()
        c.setBlockFormat(self._text_block_format())
        c.insertText(title, self._fmt(bold=True))
        sentence, detail = split_detail(m.failure_text)
        if sentence:
            plain = QTextCharFormat()
            plain.setToolTip(plain_tooltip(m.failure_text))  # a server's words
            c.insertText(f": {sentence}", plain)
        verbs = [v for v in (a.strip().lower() for a in m.actions) if v in ("retry", "continue")]
        # The library's own words ("peer closed connection …") stay behind a quiet "Details"
        # whose tooltip holds them, and only when they say more than the title and sentence.
        detail = detail if adds_to(detail, f"{title} {sentence}") else ""
        if verbs or detail:
            c.insertBlock(self._text_block_format(), QTextCharFormat())
            for i, verb in enumerate(verbs):
                if i:
                    c.insertText("   ", QTextCharFormat())
                c.insertText(verb.capitalize(), self._small("highlight", self._href(verb, m=m.id)))
            if detail:
                small = self._small("faint")
                small.setToolTip(plain_tooltip(detail))
                c.insertText(("   " if verbs else "") + "Details", small)

    def _failure_format(self) -> QTextTableFormat:
        tf = QTextTableFormat()
        tf.setProperty(_CHROME, "failure")
        tf.setBorder(0)
        tf.setCellSpacing(0)
        tf.setCellPadding(0)
        tf.setTopMargin(0.5 * self._em)
        tf.setBottomMargin(0.25 * self._em)
        tf.setWidth(QTextLength(QTextLength.Type.PercentageLength, 100))
        tf.setColumnWidthConstraints(
            [
                QTextLength(QTextLength.Type.FixedLength, 3),
                QTextLength(QTextLength.Type.PercentageLength, 100),
            ]
        )
        return tf


@dataclass
class OpenCodeLine:
    """The last line of code as far as it came: how long the run without spaces at its end
    is (`break_code_runs`) and its leading whitespace, settled once anything else came."""

    run: int = 0
    lead: str = ""
    settled: bool = False

    def leads(self, text: str) -> list[str]:
        """The leading whitespace of each line `text` touches (it continues this line, then
        starts new ones); this line becomes the last of them."""
        leads = []
        for i, part in enumerate(text.split("\n")):
            if i:
                self.lead, self.settled = "", False
            if not self.settled:
                rest = part.lstrip(" \t")
                self.lead += part[: len(part) - len(rest)]
                self.settled = bool(rest)
            leads.append(self.lead)
        return leads


def break_code_runs(code: str, run: int = 0) -> tuple[str, int]:
    """`code` as shown: a ZWSP every `CODE_RUN` characters of a run without spaces, as a
    wrapped line of one long token would take Qt quadratic time (see `break_long_runs`);
    `run` is how long the run before `code` already is (code streamed in pieces gets the
    breaks it gets whole). Also how long the run at its end is. The copied code is untouched."""
    start = _RUN_START.match(code)
    lead = start.end() if start else 0
    if lead == len(code):
        return _split_run(code, run), run + len(code)
    rest = _LONG_RUN.sub(lambda found: _split_run(found.group(0), 0), code[lead:])
    tail = len(code) - 1
    while not code[tail].isspace():
        tail -= 1
    return _split_run(code[:lead], run) + rest, len(code) - 1 - tail


def _split_run(chars: str, run: int) -> str:
    """`chars`, the continuation of a run `run` characters long, with a ZWSP before each
    character that starts another `CODE_RUN` of the run."""
    first = -run % CODE_RUN or (CODE_RUN if not run else 0)
    if first >= len(chars):
        return chars
    pieces = [chars[:first]] + [chars[i : i + CODE_RUN] for i in range(first, len(chars), CODE_RUN)]
    return ZWSP.join(pieces)


def column_widths(
    words: Sequence[float], lines: Sequence[float], room: float, padding: float
) -> list[float]:
    """Percentages of `room` px for columns whose longest word and line are `words` and
    `lines` px wide (`padding` px more each): none when every line fits, as Qt then gives
    each column its line. Else each column gets its longest word, at most half the room (a
    long URL does not squeeze the rest), then what is left in equal shares, a column taking
    no more than its line needs: short columns stay on one line, a long one wraps. Words
    that do not fit share the room by width. A px is left over: Qt rounds each share up."""
    need = [line + padding for line in lines]
    if sum(need) <= room or room <= 1:
        return []
    usable = room - 1
    widths = [min(w + padding, usable / 2, most) for w, most in zip(words, need, strict=True)]
    if sum(widths) >= usable:
        return [100 * w * usable / sum(widths) / room for w in widths]
    growing = [i for i, w in enumerate(widths) if w < need[i]]
    while growing and (spare := usable - sum(widths)) > 0.5:
        share = spare / len(growing)
        for i in growing:
            widths[i] = min(need[i], widths[i] + share)
        growing = [i for i in growing if widths[i] < need[i]]
    return [100 * w / room for w in widths]


_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")


def split_table_row(line: str) -> list[str]:
    """The cells of a GitHub Markdown table row: split at unescaped pipes, the outer pipes
    and the spaces around each cell dropped."""
    row = line.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip() for cell in _CELL_SEPARATOR.split(row)]


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
