"""The tool loop's parts: approval, running a round of calls, and the messages that carry the
calls and their results back to the model.

The engine (`stream_reply` with `tools=`) streams a request; when it ends asking for tools, a
`ToolRunner` asks the approval callback about each call (Allow once · Allow for this chat ·
Deny), runs the allowed ones on their MCP server with a timeout, and the next request carries
the results. Every call gets a result, also one that was denied, failed, timed out, was cut
short by Stop or never ran, so the conversation stays valid for every API when sent again.
"""

from __future__ import annotations

import enum
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from streamdesk.core.chat.reply import Reply, ToolRound
from streamdesk.core.events import ToolCall, ToolResult
from streamdesk.core.request import Message
from streamdesk.core.tools import CallOutcome, Catalog, ToolServerError, ToolTimeout

DEFAULT_MAX_ROUNDS = 8
NOT_RUN = "Not run: the reply stopped before this call ran."
STOPPED = "Cancelled: the user stopped the reply while the tool ran."
DENIED = "The user denied this tool call."
NOT_APPROVED = "Not run: nobody could approve this tool call (no terminal and no --allow-tools)."
ALLOWED_TOOLS = "mcp_allowed"  # the params key of the tools allowed for a whole conversation


class Approval(enum.Enum):
    """The answer to "run this tool call?"."""

    ONCE = "once"  # run this call
    CHAT = "chat"  # run it and every later call of this tool in this conversation
    DENY = "deny"  # do not run it; the model is told so and the reply goes on
    STOP = "stop"  # do not run it and end the reply here (nobody can approve)


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """A call awaiting approval: the call as the model made it, the server that would run
    it and the tool's own name there."""

    call: ToolCall
    server: str
    tool: str


ApproveTool = Callable[[ToolRequest], Awaitable[Approval]]


@dataclass(frozen=True, slots=True)
class ToolRunning:
    """An approved call started on its server (a `ToolResult` with the same id follows)."""

    call_id: str
    name: str
    server: str


class ToolSource(Protocol):
    """Where tools come from (`core.tools.ToolHub` fits)."""

    async def catalog(self, names: Iterable[str]) -> Catalog: ...

    async def call(
        self, server: str, tool: str, arguments: Mapping[str, Any], time_limit: float | None = None
    ) -> CallOutcome: ...


def allowed_key(server: str, tool: str) -> str:
    """How an allowed tool is remembered: by its server and its own name there, so a tool of
    the same name on another server is still asked about."""
    return f"{server}/{tool}"


def allowed_tools(params: Mapping[str, Any]) -> list[str]:
    """The tools "Allow for this chat" allowed in a conversation (`allowed_key`s kept in its
    params, so a reopened conversation does not ask about them again)."""
    value = params.get(ALLOWED_TOOLS)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


async def allow_all(request: ToolRequest) -> Approval:
    """Approve every call (`ask --allow-tools`)."""
    return Approval.ONCE


class ToolRunner:
    """One conversation's tools: the servers enabled for it, who approves a call, what was
    allowed for the whole conversation, and the round limit per reply."""

    def __init__(
        self,
        source: ToolSource,
        servers: Iterable[str],
        approve: ApproveTool,
        *,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        timeout: float | None = None,
    ) -> None:
        self.source = source
        self.servers = tuple(dict.fromkeys(servers))
        self.approve = approve
        self.max_rounds = max_rounds
        self.timeout = timeout  # seconds per call; None: each server's own setting
        self.allowed: set[str] = set()  # `allowed_key`s allowed for this conversation
        self.catalog: Catalog | None = None
        self.stop_reason = ""  # set by `run` when a call could not be approved
        self._running: tuple[ToolCall, str, float] | None = None

    async def prepare(self) -> Catalog:
        """Start the enabled servers and list their tools (once; `reset` lists again)."""
        if self.catalog is None:
            self.catalog = await self.source.catalog(self.servers)
        return self.catalog

    def reset(self, servers: Iterable[str] | None = None) -> None:
        """Other servers (or their tools changed): list again before the next request."""
        if servers is not None:
            self.servers = tuple(dict.fromkeys(servers))
        self.catalog = None

    def server_of(self, name: str) -> str:
        return self.catalog.server_of(name) if self.catalog is not None else ""

    async def run(
        self, calls: Sequence[ToolCall]
    ) -> AsyncGenerator[ToolRunning | ToolResult, None]:
        """Approve and run `calls` in order, yielding each start and each result."""
        catalog = await self.prepare()
        self.stop_reason = ""
        for call in calls:
            tool = catalog.tools.get(call.name)
            server = tool.server if tool is not None else ""
            if self.stop_reason:
                yield ToolResult(call.call_id, call.name, server, NOT_APPROVED, "denied")
                continue
            if call.error:
                yield ToolResult(call.call_id, call.name, server, f"Not run: {call.error}", "error")
                continue
            if tool is None:
                offered = ", ".join(catalog.tools) or "none"
                text = f"Not run: no tool called {call.name!r} is offered (offered: {offered})."
                yield ToolResult(call.call_id, call.name, "", text, "error")
                continue
            key = allowed_key(server, tool.name)
            if key not in self.allowed:
                answer = await self.approve(ToolRequest(call, server, tool.name))
                if answer is Approval.CHAT:
                    self.allowed.add(key)
                elif answer is Approval.DENY:
                    yield ToolResult(call.call_id, call.name, server, DENIED, "denied")
                    continue
                elif answer is Approval.STOP:
                    self.stop_reason = "not_approved"
                    yield ToolResult(call.call_id, call.name, server, NOT_APPROVED, "denied")
                    continue
            yield ToolRunning(call.call_id, call.name, server)
            yield await self._call(call, server, tool.name)

    async def _call(self, call: ToolCall, server: str, tool: str) -> ToolResult:
        start = time.perf_counter()
        self._running = (call, server, start)
        try:
            outcome = await self.source.call(server, tool, call.arguments, self.timeout)
        except ToolTimeout as exc:
            return ToolResult(call.call_id, call.name, server, str(exc), "timeout", _since(start))
        except ToolServerError as exc:
            return ToolResult(call.call_id, call.name, server, str(exc), "error", _since(start))
        finally:
            self._running = None
        state = "error" if outcome.is_error else "ok"
        return ToolResult(call.call_id, call.name, server, outcome.content, state, _since(start))

    def interrupted(self) -> ToolResult | None:
        """The result of the call that was running when the reply was stopped, if any."""
        if self._running is None:
            return None
        call, server, start = self._running
        self._running = None
        return ToolResult(call.call_id, call.name, server, STOPPED, "cancelled", _since(start))


def _since(start: float) -> float:
    return time.perf_counter() - start


def unanswered(
    found: ToolRound, content: str, outcome: str, server_of: Callable[[str], str] | None = None
) -> list[ToolResult]:
    """Results for the calls of `found` that have none yet."""
    return [
        ToolResult(c.call_id, c.name, server_of(c.name) if server_of else "", content, outcome)
        for c in found.calls
        if found.result_of(c.call_id) is None
    ]


def round_messages(found: ToolRound, text: str) -> list[Message]:
    """The assistant's message that asked for the calls (with `text`, what it said before,
    and the reasoning blocks that came with them), then one tool message per call, in call
    order."""
    out = [
        Message("assistant", text, tool_calls=found.calls, reasoning_blocks=found.reasoning_blocks)
    ]
    for call in found.calls:
        result = found.result_of(call.call_id)
        content, failed = NOT_RUN, True
        if result is not None:
            content, failed = result.content, result.outcome != "ok"
        out.append(
            Message("tool", content, tool_call_id=call.call_id, name=call.name, is_error=failed)
        )
    return out


def reply_messages(reply: Reply) -> tuple[list[Message], str]:
    """A reply as the messages that send it again: one assistant message and its tool results
    per tool round, and the text after the last round (the caller adds it when not empty)."""
    text = reply.text
    out: list[Message] = []
    start = 0
    for found in reply.tool_rounds:
        out += round_messages(found, text[start : found.at])
        start = found.at
    return out, text[start:]


ToolEvent = ToolRunning | ToolResult
