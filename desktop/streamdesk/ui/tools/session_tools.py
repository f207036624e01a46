"""One conversation's tools: which MCP servers it enables, its `ToolRunner` (which remembers
"Allow for this chat"), approval in the transcript, and its tool events drawn in the reply.

The enabled servers and the tools allowed with "Allow for this chat" are stored with the
conversation, in its parameters (`mcp_servers`, `mcp_allowed`), so a reopened conversation has
the same tools and does not ask about those again; a conversation not stored yet keeps them
until its first send stores it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from streamdesk.core.chat import Approval, Reply, ToolRequest, ToolRunner, ToolRunning
from streamdesk.core.chat.conversation import TOOL_SERVERS
from streamdesk.core.chat.tools import ALLOWED_TOOLS, allowed_key, allowed_tools
from streamdesk.core.events import ToolCall, ToolCallDelta, ToolResult
from streamdesk.ui.tools.approval import ask_in_place
from streamdesk.ui.tools.service import ToolService
from streamdesk.ui.tools.state import ASKED, AWAITING, RUNNING, CallState, RoundState

if TYPE_CHECKING:
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.transcript.reply_view import ReplyView

log = logging.getLogger(__name__)

TOOL_EVENTS = (ToolCallDelta, ToolCall, ToolRunning, ToolResult)
ENDINGS = {
    "round_limit": "Stopped: the limit of tool rounds per reply was reached",
    "not_approved": "Stopped: the tool call was not approved",
}


def stored_rounds(reply: Reply) -> list[RoundState]:
    """A finished reply's tool rounds, as the transcript draws them."""
    return [RoundState.of(r) for r in reply.tool_rounds]


def replay(view: ReplyView, reply: Reply) -> None:
    """Feed a reply's text and tool rounds into a streaming view (a continued reply drawn
    again before more comes)."""
    text, start = reply.text, 0
    for found in reply.tool_rounds:
        view.append_text(text[start : found.at])
        view.tool_round().calls.extend(RoundState.of(found).calls)
        view.tools_changed()
        start = found.at
    view.append_text(text[start:])


class SessionTools(QObject):
    """The tools of `session`'s conversation, served by the window's `service`.
    `approvalAsked(ApprovalBar)` once a call's approval bar is on screen, `callStarted(CallState)`
    when an approved call starts running."""

    approvalAsked = Signal(object)
    callStarted = Signal(object)

    def __init__(self, session: ChatSession, service: ToolService) -> None:
        super().__init__(session)
        self.session = session
        self.service = service
        self.runner: ToolRunner | None = None
        self._view: ReplyView | None = None

    # -- which servers ------------------------------------------------------------------

    def enabled(self) -> list[str]:
        """The conversation's enabled servers that are still configured."""
        chosen = self.session.params.get(TOOL_SERVERS) or []
        configured = {s.name for s in self.service.configs()}
        return [n for n in chosen if isinstance(n, str) and n in configured]

    def set_enabled(self, name: str, on: bool) -> None:
        """Enable or disable server `name` for this conversation (stored with it)."""
        chosen = [n for n in self.enabled() if n != name] + ([name] if on else [])
        params = dict(self.session.params)
        if chosen:
            params[TOOL_SERVERS] = chosen
        else:
            params.pop(TOOL_SERVERS, None)
        self._keep(params)
        if self.runner is not None:
            self.runner.reset(chosen)

    def allow_for_chat(self, server: str, tool: str) -> None:
        """Tool `tool` of `server` runs without asking in this conversation from now on
        (stored with it)."""
        allowed = allowed_tools(self.session.params)
        key = allowed_key(server, tool)
        if key not in allowed:
            self._keep({**self.session.params, ALLOWED_TOOLS: [*allowed, key]})

    def _keep(self, params: dict[str, object]) -> None:
        """The conversation's new parameters, stored with it once it is in the history."""
        self.session.params = params
        record = self.session.record
        cid = record.conversation_id if record is not None else None
        if record is not None and cid is not None:
            try:
                record.store.update_conversation(cid, params=params)
            except Exception:
                log.exception("could not store the conversation's tools")

    # -- a reply ------------------------------------------------------------------------

    def runner_for(self, view: ReplyView) -> ToolRunner | None:
        """The runner of the next reply (None when no server is enabled); `view` shows it."""
        servers = self.enabled()
        self._view = view
        if not servers:
            return None
        if self.runner is None:
            self.runner = ToolRunner(self.service, servers, self.approve)
            self.runner.allowed.update(allowed_tools(self.session.params))
        else:
            self.runner.reset(servers)  # listed again: a server may have restarted or changed
        return self.runner

    def show(self, view: ReplyView, event: object) -> None:
        """Draw one tool event of the running reply."""
        self._view = view
        if isinstance(event, ToolCallDelta):
            view.tool_round().apply_delta(event)
            view.tools_changed()
        elif isinstance(event, ToolCall):
            call = view.tool_round().apply_call(event)
            if self.runner is not None:
                call.server = self.runner.server_of(event.name)
            view.tools_changed()
        elif isinstance(event, ToolRunning):
            found = self._call(view, event.call_id)
            if found is not None:
                found.state, found.server = RUNNING, event.server
                found.started = time.perf_counter()
                self._changed(view, found)
                self.session.show_state(f"Running {found.name}")
                self.callStarted.emit(found)
        elif isinstance(event, ToolResult):
            found = self._call(view, event.call_id)
            if found is not None:
                view.tool_rounds[-1].apply_result(event)
                self._changed(view, found)

    def settle(self, view: ReplyView, reply: Reply) -> None:
        """The reply ended: calls that never got a result event (Stop while waiting or
        running) take the one the engine recorded."""
        for shown, stored in zip(view.tool_rounds, reply.tool_rounds, strict=False):
            shown.adopt(stored)
        view.tools_changed()

    def ending_title(self, reply: Reply) -> str:
        """The box under a reply that ended on a tool request nothing ran."""
        return ENDINGS.get(reply.tool_stop, "")

    async def approve(self, request: ToolRequest) -> Approval:
        """The `ApproveTool` callback: ask in the reply, under the call's arguments."""
        view = self._view
        call = self._call(view, request.call.call_id) if view is not None else None
        if view is None or call is None:
            return Approval.STOP
        call.state, call.server = AWAITING, request.server
        call.asked = time.perf_counter()
        self.session.show_state("Waiting for approval")
        try:
            answer = await ask_in_place(
                self.session.view, request, view.draw_tools_now, self.approvalAsked.emit
            )
            if answer is Approval.CHAT:
                self.allow_for_chat(request.server, request.tool)
            return answer
        finally:
            call.answered = time.perf_counter()
            if call.state == AWAITING:
                call.state = ASKED
            with contextlib.suppress(RuntimeError):  # the window is already gone
                view.tools_changed()

    @staticmethod
    def _call(view: ReplyView, call_id: str) -> CallState | None:
        rounds: Sequence[RoundState] = view.tool_rounds
        return rounds[-1].by_id(call_id) if rounds else None

    @staticmethod
    def _changed(view: ReplyView, call: CallState) -> None:
        if not view.tools_changed():  # its round is closed: the block is drawn again in place
            view.redraw_call(call)
