"""What the transcript shows of a reply's tool calls: one `RoundState` per tool round, one
`CallState` per call, updated from the engine's events as the call streams, waits for
approval, runs and settles. Qt-free."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streamdesk.core.chat.reply import ToolRound
from streamdesk.core.events import ToolCall, ToolCallDelta, ToolResult

# Where a call stands. The first four are on the way; the rest are a result's outcome.
STREAMING, ASKED, AWAITING, RUNNING = "streaming", "asked", "awaiting", "running"
SETTLED = ("ok", "error", "denied", "timeout", "cancelled")


@dataclass(eq=False)
class CallState:
    """One call as the transcript shows it. `number` names its block in the document (its
    Details link); `asked`, `answered` and `started` time it for the inspector
    (perf_counter)."""

    index: int
    call_id: str = ""
    name: str = ""
    server: str = ""
    arguments_text: str = ""
    arguments: Mapping[str, Any] | None = None
    error: str = ""  # the call itself is broken (arguments that are not JSON)
    state: str = STREAMING
    result: str = ""
    duration: float | None = None
    started: float | None = None
    asked: float | None = None  # approval asked (perf_counter)
    answered: float | None = None  # ... and given
    expanded: bool = False
    number: int = -1

    @property
    def settled(self) -> bool:
        return self.state in SETTLED

    def pretty_arguments(self) -> str:
        """The arguments as indented JSON once whole; the streamed text until then."""
        if self.arguments is not None and not self.error:
            return json.dumps(dict(self.arguments), indent=2, ensure_ascii=False)
        return self.arguments_text

    def one_line_arguments(self) -> str:
        if self.arguments is not None and not self.error:
            return json.dumps(dict(self.arguments), ensure_ascii=False)
        return " ".join(self.arguments_text.split())


@dataclass(eq=False)
class RoundState:
    """The calls the model asked for after `at` characters of the reply's text."""

    at: int
    calls: list[CallState] = field(default_factory=list)

    def by_index(self, index: int) -> CallState:
        found = next((c for c in self.calls if c.index == index), None)
        if found is None:
            found = CallState(index)
            self.calls.append(found)
        return found

    def by_id(self, call_id: str) -> CallState | None:
        return next((c for c in self.calls if c.call_id == call_id), None)

    def apply_delta(self, delta: ToolCallDelta) -> CallState:
        call = self.by_index(delta.index)
        call.call_id = delta.call_id or call.call_id
        call.name = delta.name or call.name
        call.arguments_text += delta.arguments
        return call

    def apply_call(self, done: ToolCall) -> CallState:
        call = self.by_index(done.index)
        call.call_id, call.name = done.call_id or call.call_id, done.name
        call.arguments = dict(done.arguments)
        call.arguments_text = done.arguments_text or call.arguments_text
        call.error = done.error
        call.state = ASKED
        return call

    def apply_result(self, result: ToolResult) -> CallState | None:
        call = self.by_id(result.call_id)
        if call is None:
            return None
        call.server = result.server or call.server
        call.result, call.state = result.content, result.outcome
        if result.duration or call.started is not None:
            call.duration = result.duration or (time.perf_counter() - (call.started or 0.0))
        return call

    def adopt(self, stored: ToolRound) -> None:
        """Take what the core's round holds: ids it gave, servers and results (a stopped
        reply's calls get their "not run" results only there)."""
        for number, done in enumerate(stored.calls):
            call = self.calls[number] if number < len(self.calls) else self.by_index(done.index)
            call.call_id = done.call_id
            call.name = call.name or done.name
            if call.arguments is None:
                call.arguments = dict(done.arguments)
                call.error = done.error
            result = stored.result_of(done.call_id)
            if result is not None and not call.settled:
                self.apply_result(result)
            elif result is None and not call.settled:
                call.state = "cancelled"
                call.result = call.result or "Not run: the reply stopped before this call ran."

    @classmethod
    def of(cls, stored: ToolRound) -> RoundState:
        """A stored round, settled."""
        state = cls(stored.at)
        for done in stored.calls:
            call = state.apply_call(done)
            result = stored.result_of(done.call_id)
            if result is not None:
                call.server = result.server
                call.result, call.state, call.duration = (
                    result.content,
                    result.outcome,
                    result.duration,
                )
            else:
                call.state = "cancelled"
                call.result = "Not run: the reply stopped before this call ran."
        return state


def outcome_words(call: CallState) -> str:
    """The status of a call in a few words, with its duration once it ran."""
    took = f" · {format_duration(call.duration)}" if call.duration is not None else ""
    if call.state == STREAMING:
        return "Writing the call…"
    if call.state == ASKED:
        return "Asked for" if not call.error else "Cannot run: " + call.error
    if call.state == AWAITING:
        return "Waiting for your approval"
    if call.state == RUNNING:
        return "Running…"
    return {
        "ok": "Done",
        "error": "Failed",
        "denied": "Denied",
        "timeout": "Timed out",
        "cancelled": "Not run" if call.duration is None else "Stopped",
    }.get(call.state, call.state) + took


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
