"""The streaming reply's handle.

`ReplyView` buffers appends and renders at most once per frame (16 ms single-shot timer): new
Markdown blocks are committed once (`BlockSplitter`), only the open tail is re-rendered, an open
code fence grows by appending, an open table (in a block quote too) by whole rows and an open
list redraws only its last item (an item that ended is drawn once more, after the earlier ones).
Each frame's edits form one document change (one layout pass).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QTextCursor

from streamdesk.core.markdown_blocks import (
    TABLE_START,
    BlockSplitter,
    table_row,
    table_start,
    unquote,
)
from streamdesk.ui.tools.state import CallState, RoundState
from streamdesk.ui.transcript.layout import DocumentLayout
from streamdesk.ui.transcript.message import Message

FRAME_MS = 16
_LIST_AT_MARGIN = re.compile(r"^(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)", re.MULTILINE)


class ReplyView:
    """Handle for the streaming reply: appends are buffered, rendering is coalesced per frame.

    It draws through `layout`, into the regions of `msg`; `on_finish` runs once the reply is
    finished (the transcript hides its "Jump to latest" button then). The frame timer is a
    child of `parent`.
    """

    def __init__(
        self,
        layout: DocumentLayout,
        msg: Message,
        *,
        parent: QObject,
        on_finish: Callable[[], None],
    ) -> None:
        self._layout = layout
        self._msg = msg
        self._on_finish = on_finish
        self._parts: list[str] = []
        self._pending: list[str] = []
        self._pending_reasoning: list[str] = []
        self._finished = False
        self._render_count = 0
        self._rounds: list[RoundState] = []  # the reply's tool rounds, in order
        self._live_round: RoundState | None = None  # drawn in the live region, not committed
        self._tools_dirty = False
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._render)
        self._reset_render_state()

    def _reset_render_state(self) -> None:
        self._splitter = BlockSplitter()
        self._code_open = False
        self._code_done = 0
        self._tail_shown = ""
        self._table_depth: int | None = None  # of the table all the tail is: it may grow
        self._list_head = ""  # an open list's earlier items, drawn once (`_show_tail`)
        self._list_head_len = 0

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
        with self._layout.batch():
            self._layout.set_notice(self._msg, text)

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
        layout, m = self._layout, self._msg
        with layout.batch():
            self._render_frame()
            self._finished = True
            self._commit_round()
            layout.replace_live(m, self._splitter.finish())
            if not m.collapsed:  # streamed as plain text: now once as Markdown
                layout.refresh_reasoning(m)
            self._code_open = False
            m.text, m.status, m.live = self.text, status, None
            m.tool_rounds = list(self._rounds)  # drawn again with the text (theme, font)
            m.failure_title, m.failure_text, m.actions = failure_title, failure_text, actions
            layout.set_notice(m, "")
            layout.add_failure(m)
        self._on_finish()

    def detach(self) -> None:
        """Stop drawing and take no more text: the transcript was cleared under the reply."""
        self._timer.stop()
        self._finished = True

    def rebuild(self) -> None:
        """Re-render everything received so far (theme change): O(reply) once."""
        self._reset_render_state()
        text, start = self.text, 0
        with self._layout.batch():
            for found in self._rounds:
                self._layout.replace_live(self._msg, self._splitter.feed(text[start : found.at]))
                self._layout.replace_live(self._msg, self._splitter.finish())
                self._reset_render_state()
                self._layout.show_tools(self._msg, found)
                if found is not self._live_round:
                    self._layout.commit_tools(self._msg)
                start = found.at
        self._pending = [text[start:]] if text[start:] else []
        self._render()

    # -- tool calls ----------------------------------------------------------------------

    @property
    def tool_rounds(self) -> list[RoundState]:
        return self._rounds

    def tool_round(self) -> RoundState:
        """The round being asked for now (a new one after the text so far when none is open):
        the text before it is drawn at once and closed, so the calls come after it."""
        if self._live_round is not None:
            return self._live_round
        found = RoundState(len(self.text))
        if not self._finished:
            with self._layout.batch():
                self._render_frame()
                self._layout.replace_live(self._msg, self._splitter.finish())
            self._reset_render_state()
        self._rounds.append(found)
        self._live_round = found
        return found

    def tools_changed(self) -> bool:
        """The open round's calls changed (streamed, ran, settled): drawn at the next frame.
        False when no round is open (a closed round's call is drawn with `redraw_call`)."""
        if self._finished or self._live_round is None:
            return False
        self._tools_dirty = True
        self._schedule()
        return True

    def draw_tools_now(self, reserve: int = 0) -> QTextCursor | None:
        """Draw the open round now; with `reserve` px, room for an approval bar is left under
        the call awaiting it, and the cursor returned sits there."""
        if self._finished or self._live_round is None:
            return None
        with self._layout.batch():
            self._render_frame()
            self._tools_dirty = False
            return self._layout.show_tools(self._msg, self._live_round, reserve)

    def redraw_call(self, call: CallState) -> None:
        """Draw one call of an earlier round again (it settled after its round closed)."""
        with self._layout.batch():
            self._layout.redraw_tool(self._msg, call)

    def _commit_round(self) -> None:
        """Text follows the open round (or the reply ends): the round stays as drawn."""
        if self._live_round is None:
            return
        if self._tools_dirty:
            self._layout.show_tools(self._msg, self._live_round)
            self._tools_dirty = False
        self._layout.commit_tools(self._msg)
        self._live_round = None

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _render(self) -> None:
        """One frame: reasoning appended, new blocks committed once, the tail re-rendered."""
        with self._layout.batch():
            self._render_frame()

    def _render_frame(self) -> None:
        layout, m = self._layout, self._msg
        if m.frame is None:
            return
        if self._pending_reasoning:
            layout.append_reasoning(m, "".join(self._pending_reasoning))
            self._pending_reasoning.clear()
        if self._live_round is not None and self._pending:
            self._commit_round()
        elif self._tools_dirty and self._live_round is not None:
            layout.show_tools(m, self._live_round)
            self._tools_dirty = False
        if not self._pending:
            return
        sp = self._splitter
        blocks = sp.feed("".join(self._pending))
        self._pending.clear()
        self._render_count += 1
        if blocks:
            layout.replace_live(m, blocks)
            self._code_open, self._tail_shown, self._list_head = False, "", ""
        if sp.in_code:
            if not self._code_open:
                layout.replace_live(m, [])
                layout.open_code(m, sp.code_lang)
                self._code_open, self._code_done = True, 0
            new = "".join(sp.code_parts[self._code_done :])
            self._code_done = len(sp.code_parts)
            layout.append_code(m, new)
        else:
            self._show_tail(shown_tail(sp.tail))

    def _show_tail(self, tail: str) -> None:
        """Draw the open tail again, as little of it as it takes: a table's new rows only, in
        a block quote too; an open list's last item only, its earlier items staying as drawn."""
        layout, m, shown = self._layout, self._msg, self._tail_shown
        if tail == shown:
            return
        self._tail_shown = tail
        depth = self._table_depth
        if depth is not None and shown and tail.startswith(shown):
            rows = table_rows(tail[len(shown) :], depth)
            if rows is not None and layout.grow_table(m, rows, quoted=depth):
                return
        self._table_depth = table_depth(tail)
        drawn = self._list_head if tail.startswith(self._list_head) else ""
        head, last = split_open_list(tail, len(drawn))
        if not head:
            self._list_head = ""
            layout.replace_live(m, [], tail=tail)
            return
        if head != drawn:
            if drawn:  # items that ended since: drawn after the earlier ones, which stay
                layout.replace_live_after(m, self._list_head_len, head[len(drawn) :])
            else:
                layout.replace_live(m, [], tail=head)
            self._list_head, self._list_head_len = head, layout.live_length(m)
        layout.replace_live_after(m, self._list_head_len, last)


def shown_tail(tail: str) -> str:
    """What of the open tail to draw now: an open table (in a block quote too) only up to
    its last complete row.

    A table re-laid out costs O(table) and Qt re-lays out all of it whenever one cell changes;
    held to whole rows it changes once per row instead of once per frame, and a half-typed
    row never shows as raw pipes. Until its first row is complete (after the header and the
    delimiter row: rows added later take their alignment from it), a tail that may begin a
    table shows nothing; a tail that is not a table shows whole.
    """
    if not TABLE_START.match(unquote(tail)[1]):
        return tail
    if tail.count("\n") < 3:  # header, delimiter and a first row are not all complete yet
        return ""
    if table_head(tail) is None:
        return tail  # a paragraph that begins with a pipe
    return tail[: tail.rfind("\n") + 1]


def table_head(tail: str) -> int | None:
    """The quote depth of the table whose header and delimiter row begin `tail` (0: not in
    a quote); None when its first two lines are not those."""
    start = tail.find("\n") + 1
    end = tail.find("\n", start)
    if not start or end < 0:
        return None
    return table_start(tail[: start - 1], tail[start:end])


def table_depth(tail: str) -> int | None:
    """The quote depth of the table that all of `tail`'s complete lines are, which more
    rows may grow; None when they are not all one table with a row at least."""
    depth = table_head(tail)
    if depth is None:
        return None
    return depth if table_rows(tail.split("\n", 2)[2], depth) else None


def table_rows(text: str, depth: int) -> list[str] | None:
    """The rows that the complete lines of `text` add to a table at quote depth `depth`,
    without their quote markers (a blank line adds none: the block ends there); None when
    one of them ends the table."""
    rows: list[str] = []
    for line in text.split("\n")[:-1]:
        if not line.strip():
            continue
        row = table_row(line, depth)
        if row is None:
            return None
        rows.append(row)
    return rows


def split_open_list(tail: str, known: int = 0) -> tuple[str, str]:
    """An open list's earlier items and its last item (which is still growing; "" while it
    is only its marker, not an empty bullet for a frame); ("", tail) when the tail is not a
    list starting at the margin or has one item so far. `known` is where an item of it is
    known to start: the last one is looked for from there (O(what came since))."""
    if not _LIST_AT_MARGIN.match(tail):
        return "", tail
    last = max(match.start() for match in _LIST_AT_MARGIN.finditer(tail, known))
    item = tail[last:]
    return tail[:last], "" if _LIST_AT_MARGIN.fullmatch(item.strip()) else item


def ending_marks(
    status: str, finish_reason: str | None, tokens: int, has_text: bool
) -> tuple[str, tuple[str, ...]]:
    """Title and actions of the box under a reply that ended without failing but is unfinished.

    Stopped by the user: "Stopped after 312 tokens"; cut by the max-tokens limit (finish_reason
    "length"): "Stopped at the max-tokens limit". Both offer Continue when there is text.
    """
    actions = ("Continue",) if has_text else ()
    if status == "stopped":
        count = f" after {tokens} token{'s' if tokens != 1 else ''}" if tokens else ""
        return f"Stopped{count}", actions
    if status == "complete" and finish_reason == "length":
        return "Stopped at the max-tokens limit", actions
    return "", ()
