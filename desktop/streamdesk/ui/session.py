"""The bridge from the core event stream to Qt: one `ChatSession` per conversation.

A session owns its conversation's turns and at most one running reply. `send()` starts a task
on the running (qasync) loop that iterates `stream_chat` and forwards each event to the
transcript's `ReplyView`, to an optional history sink and, coalesced, to `statsChanged`. The
loop never asks which protocol produced an event. Cancelling the task (Stop, Esc, closing the
window) keeps every character that arrived and marks the reply "stopped".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    ReasoningDelta,
    Retrying,
    TextDelta,
    Usage,
)
from streamdesk.core.providers import Provider
from streamdesk.core.request import ChatRequest, Message, Timeouts
from streamdesk.core.trace import StreamTrace

log = logging.getLogger(__name__)

CONTINUE_PROMPT = "Continue exactly where you stopped."
STATS_INTERVAL_MS = 100  # status bar refresh while streaming; tokens arrive much faster


class ReplySink(Protocol):
    """Where a reply is persisted as it streams (history's `ReplyWriter` fits)."""

    def append_text(self, text: str) -> None: ...
    def append_reasoning(self, text: str) -> None: ...
    def finish(
        self,
        status: str,
        *,
        failure_kind: str | FailureKind | None = None,
        failure_message: str | None = None,
        cost: float | None = None,
        protocol: str | None = None,
    ) -> None: ...


HistorySink = ReplySink | Callable[["ChatSession", "Turn", ChatRequest], ReplySink | None]


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how the next request goes: chosen in the header, read at send time."""

    provider: Provider
    model: str
    protocol: str = "sse"  # "sse" | "ws"
    api_key: str | None = None
    timeouts: Timeouts | None = None  # None: the provider's
    max_retries: int | None = None  # None: the provider's
    scenario: str | None = None  # mock fault, sent as the model suffix "MODEL#SCENARIO"

    @property
    def request_model(self) -> str:
        return f"{self.model}#{self.scenario}" if self.scenario else self.model


@dataclass(eq=False)
class Turn:
    """One prompt and its reply; `key` is the reply's key in the transcript."""

    key: int
    prompt: str
    target: Target
    parts: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    status: str = "pending"  # streaming | complete | stopped | error
    failure: Failure | None = None
    superseded: bool = False  # replaced by a Retry: left out of later requests
    prompt_tokens: int | None = None
    completion_tokens: int = 0
    cost: float | None = None
    view: Any = None  # transcript ReplyView
    trace: StreamTrace | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


# (title, whether Continue makes sense) per failure kind; the sentence comes from the core.
FAILURE_TITLES: dict[FailureKind, str] = {
    FailureKind.AUTHENTICATION: "Key rejected",
    FailureKind.PERMISSION: "Not allowed",
    FailureKind.NOT_FOUND: "Not found",
    FailureKind.RATE_LIMITED: "Rate limited",
    FailureKind.SERVER_ERROR: "Server error",
    FailureKind.BAD_REQUEST: "Request refused",
    FailureKind.BAD_RESPONSE: "Bad response",
    FailureKind.CONNECTION_REFUSED: "Connection refused",
    FailureKind.NAME_NOT_RESOLVED: "Unknown host",
    FailureKind.TLS_ERROR: "TLS failed",
    FailureKind.CONNECT_TIMEOUT: "Connect timed out",
    FailureKind.FIRST_TOKEN_TIMEOUT: "No reply",
    FailureKind.STALLED: "Stalled",
    FailureKind.CUT_MID_STREAM: "Connection cut",
    FailureKind.WEBSOCKET_CLOSED: "WebSocket closed",
    FailureKind.CANCELLED: "Stopped",
    FailureKind.KEYCHAIN_UNAVAILABLE: "Keychain unavailable",
    FailureKind.NETWORK: "Network error",
}


def failure_title(failure: Failure, tokens: int) -> str:
    """A short title; mid-stream endings say how much arrived: "Connection cut after 312 tokens"."""
    title = FAILURE_TITLES.get(failure.kind, failure.kind.value.replace("_", " ").capitalize())
    if tokens and failure.kind in (
        FailureKind.CUT_MID_STREAM,
        FailureKind.WEBSOCKET_CLOSED,
        FailureKind.STALLED,
        FailureKind.BAD_RESPONSE,
        FailureKind.SERVER_ERROR,
    ):
        title += f" after {tokens} token" + ("s" if tokens != 1 else "")
    return title


def failure_actions(failure: Failure, has_text: bool) -> tuple[str, ...]:
    """Retry always resends; Continue only when there is partial text to continue from."""
    return ("Retry", "Continue") if has_text else ("Retry",)


def failure_text(failure: Failure) -> str:
    if failure.kind is FailureKind.AUTHENTICATION:
        return f"{failure.message} Open Settings (Ctrl+,) to set the key."
    return failure.message


class ChatSession(QObject):
    """One conversation: its turns, its transcript view and its running reply (if any)."""

    started = Signal(object)  # reply key
    updated = Signal(object)  # reply key; text or reasoning arrived
    finished = Signal(object, str)  # reply key, status: complete | stopped | error
    failed = Signal(object, object)  # reply key, core.events.Failure
    statsChanged = Signal(object)  # status_bar.ReplyStats
    busyChanged = Signal(bool)

    def __init__(
        self,
        view: Any,
        target_factory: Callable[[], Target],
        *,
        title: str = "New chat",
        history_sink: HistorySink | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        from streamdesk.ui.status_bar import ReplyStats

        self.view = view
        self.target_factory = target_factory
        self.title = title
        self.history_sink = history_sink
        self.turns: list[Turn] = []
        self.stats = ReplyStats()
        self.trace: StreamTrace | None = None  # of the latest request, for the inspector
        self._task: asyncio.Task[None] | None = None
        self._countdown: asyncio.Task[None] | None = None
        self._next_key = 1
        self._stats_timer = QTimer(self)
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(STATS_INTERVAL_MS)
        self._stats_timer.timeout.connect(self._emit_stats)
        for name, slot in (("retryRequested", self.retry), ("continueRequested", self.continue_)):
            signal = getattr(view, name, None)
            if signal is not None:
                signal.connect(slot)

    # -- public ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def send(self, prompt: str) -> int | None:
        """Ask `prompt`; returns the reply key, or None if a reply is still streaming."""
        if self.busy or not prompt.strip():
            return None
        turn = self._new_turn(prompt, self.target_factory())
        self.view.add_user_message(prompt, ("user", turn.key))
        return self._start(turn, self._request(turn, len(self.turns) - 1))

    def retry(self, key: object) -> int | None:
        """Resend the prompt of reply `key` as a new reply; the old one is left out of context."""
        old = self._turn(key)
        if old is None or self.busy:
            return None
        index = self.turns.index(old)
        old.superseded = True
        turn = self._new_turn(old.prompt, self.target_factory())
        self.turns.remove(turn)
        self.turns.insert(index + 1, turn)
        return self._start(turn, self._request(turn, index + 1))

    def continue_(self, key: object) -> int | None:
        """Send the partial reply as the assistant's prefix and append what comes to it."""
        turn = self._turn(key)
        if turn is None or self.busy or not turn.parts:
            return None
        index = self.turns.index(turn)
        turn.target = replace(self.target_factory())
        base = self._request(turn, index)
        messages = (
            *base.messages,
            Message("assistant", turn.text),
            Message("user", CONTINUE_PROMPT),
        )
        request = replace(base, messages=messages)
        return self._start(turn, request, resume=True)

    def stop(self) -> None:
        """Cancel the running reply; it finishes as "stopped" with its text kept."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def aclose(self) -> None:
        """Stop and wait until the reply has been marked and flushed."""
        task = self._task
        self.stop()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- turns and requests ---------------------------------------------------------------

    def _new_turn(self, prompt: str, target: Target) -> Turn:
        turn = Turn(self._next_key, prompt, target)
        self._next_key += 1
        self.turns.append(turn)
        return turn

    def _turn(self, key: object) -> Turn | None:
        return next((t for t in self.turns if t.key == key), None)

    def _request(self, turn: Turn, index: int) -> ChatRequest:
        """History up to turn `index` (superseded and empty replies left out) plus its prompt."""
        messages: list[Message] = []
        for earlier in self.turns[:index]:
            if earlier.superseded:
                continue
            messages.append(Message("user", earlier.prompt))
            if earlier.parts:
                messages.append(Message("assistant", earlier.text))
            else:
                messages.pop()  # a prompt that got no reply would leave two user turns in a row
        messages.append(Message("user", turn.prompt))
        return ChatRequest(model=turn.target.request_model, messages=tuple(messages))

    def _start(self, turn: Turn, request: ChatRequest, *, resume: bool = False) -> int:
        if not resume:
            label = f"{turn.target.model} · {turn.target.protocol.upper()}"
            turn.view = self.view.begin_assistant(turn.key, label=label)
        elif hasattr(turn.view, "resume"):
            turn.view.resume()
        turn.status = "streaming"
        turn.failure = None
        self._task = asyncio.get_running_loop().create_task(self._run(turn, request, resume))
        self.busyChanged.emit(True)
        self.started.emit(turn.key)
        return turn.key

    # -- the stream loop ------------------------------------------------------------------

    async def _run(self, turn: Turn, request: ChatRequest, resume: bool) -> None:
        from streamdesk.core.stream import stream_chat
        from streamdesk.core.transports import make_transport

        target = turn.target
        reply = turn.view
        trace = StreamTrace()
        self.trace = turn.trace = trace
        sink = self._open_sink(turn, request)
        tokens_before = turn.completion_tokens if resume else 0
        status, failure = "error", None
        transport = None
        self._set_state("Connecting", turn)
        try:
            endpoint = target.provider.endpoint(target.api_key)
            transport = make_transport(target.protocol, endpoint, provider_id=target.provider.id)
            events = stream_chat(
                transport,
                request,
                trace=trace,
                timeouts=target.timeouts or endpoint.timeouts,
                max_retries=(
                    target.max_retries if target.max_retries is not None else endpoint.max_retries
                ),
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    self._stop_countdown()
                    if isinstance(event, TextDelta):
                        if not turn.parts and not turn.reasoning:
                            reply.set_notice("")
                        turn.parts.append(event.text)
                        reply.append_text(event.text)
                        if sink is not None:
                            sink.append_text(event.text)
                        self._tick(turn, "Streaming")
                    elif isinstance(event, ReasoningDelta):
                        turn.reasoning.append(event.text)
                        reply.append_reasoning(event.text)
                        if sink is not None:
                            sink.append_reasoning(event.text)
                        self._tick(turn, "Streaming")
                    elif isinstance(event, Usage):
                        turn.prompt_tokens = event.prompt_tokens
                        turn.completion_tokens = tokens_before + event.completion_tokens
                    elif isinstance(event, Retrying):
                        self._start_countdown(reply, event)
                        self._set_state("Retrying", turn)
                    elif isinstance(event, Done):
                        status = "complete"
                    elif isinstance(event, Failure):
                        failure = event
        except asyncio.CancelledError:
            status = "stopped"  # our own cancellation (Stop, Esc, close): swallow it here
        except Exception as exc:  # a bug below must not leave the reply spinning forever
            log.exception("stream loop failed")
            failure = Failure(FailureKind.NETWORK, f"Unexpected error: {exc}")
        finally:
            self._stop_countdown()
            if transport is not None:
                await self._close_transport(transport)
        self._finish(turn, status, failure, sink, tokens_before)

    def _finish(
        self, turn: Turn, status: str, failure: Failure | None, sink: ReplySink | None, before: int
    ) -> None:
        trace = turn.trace
        if turn.completion_tokens <= before and trace is not None:
            turn.completion_tokens = before + len(trace.token_times)
        turn.status = status
        turn.failure = failure
        reply = turn.view
        if status == "error" and failure is not None:
            tokens = turn.completion_tokens
            reply.finish(
                "error",
                failure_title=failure_title(failure, tokens),
                failure_text=failure_text(failure),
                actions=failure_actions(failure, bool(turn.parts)),
            )
        else:
            reply.finish(status)
        self._compute_cost(turn)
        if sink is not None:
            stored = "partial" if status == "error" and turn.parts else status
            try:
                sink.finish(
                    stored,
                    failure_kind=failure.kind if failure else None,
                    failure_message=failure.message if failure else None,
                    cost=turn.cost,
                    protocol=turn.target.protocol,
                )
            except Exception:
                log.exception("history sink failed to finish")
        state = {"complete": "Done", "stopped": "Stopped"}.get(status, "Failed")
        self._stats_timer.stop()
        self._set_state(state, turn)
        self.busyChanged.emit(False)
        if failure is not None:
            self.failed.emit(turn.key, failure)
        self.finished.emit(turn.key, status)

    @staticmethod
    async def _close_transport(transport: Any) -> None:
        """Close even when cancelled again while closing (window closing during a Stop)."""
        task = asyncio.ensure_future(transport.aclose())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await task
        except Exception:
            log.exception("closing the transport failed")

    def _open_sink(self, turn: Turn, request: ChatRequest) -> ReplySink | None:
        hook = self.history_sink
        if hook is None:
            return None
        if hasattr(hook, "append_text"):
            return hook  # type: ignore[return-value]
        try:
            return hook(self, turn, request)  # type: ignore[operator]
        except Exception:
            log.exception("history sink could not start; the reply is shown but not stored")
            return None

    # -- retry countdown ------------------------------------------------------------------

    def _start_countdown(self, reply: Any, event: Retrying) -> None:
        title = FAILURE_TITLES.get(event.failure.kind, "Failed")
        self._countdown = asyncio.get_running_loop().create_task(
            self._count_down(reply, title, event.delay)
        )

    def _stop_countdown(self) -> None:
        if self._countdown is not None:
            self._countdown.cancel()
            self._countdown = None

    @staticmethod
    async def _count_down(reply: Any, title: str, delay: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + delay
        while (left := end - loop.time()) > 0:
            shown = f"{left:.0f} s" if left >= 1 else f"{left:.1f} s"
            reply.set_notice(f"{title}: retrying in {shown}")
            await asyncio.sleep(min(1.0, left) if left >= 1 else left)
        reply.set_notice(f"{title}: retrying now…")

    # -- statistics -----------------------------------------------------------------------

    def _tick(self, turn: Turn, state: str) -> None:
        self.updated.emit(turn.key)
        if self.stats.state != state:
            self._set_state(state, turn)
        elif not self._stats_timer.isActive():
            self._stats_timer.start()

    def _emit_stats(self) -> None:
        turn = next((t for t in reversed(self.turns) if t.status == "streaming"), None)
        if turn is not None:
            self._set_state(self.stats.state, turn)

    def _set_state(self, state: str, turn: Turn) -> None:
        from streamdesk.ui.status_bar import ReplyStats

        trace = turn.trace
        ttft = speed = None
        out = turn.completion_tokens
        if trace is not None:
            ttft = trace.ttft
            times = trace.token_times
            if turn.status == "streaming":
                out = max(out, len(times))
            if len(times) > 1 and times[-1] > times[0]:
                speed = (len(times) - 1) / (times[-1] - times[0])
        self.stats = ReplyStats(
            state=state,
            protocol=turn.target.protocol,
            ttft=ttft,
            tokens_per_s=speed,
            tokens_in=turn.prompt_tokens,
            tokens_out=out,
            reply_cost=turn.cost,
            conversation_cost=self.conversation_cost(),
        )
        self.statsChanged.emit(self.stats)

    def _compute_cost(self, turn: Turn) -> None:
        target = turn.target
        if turn.prompt_tokens is None:
            turn.cost = 0.0 if target.provider.free else None
            return
        turn.cost = target.provider.cost(target.model, turn.prompt_tokens, turn.completion_tokens)

    def conversation_cost(self) -> float | None:
        """Sum of the known reply costs (None when no reply has a known cost)."""
        costs = [t.cost for t in self.turns if t.cost is not None]
        return sum(costs) if costs else None
