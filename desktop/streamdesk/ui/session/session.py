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
from typing import Any

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
from streamdesk.core.request import ChatRequest
from streamdesk.core.stream import stream_chat
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports import make_transport
from streamdesk.ui.failures import failure_actions, failure_text, failure_title
from streamdesk.ui.session.status import SessionStatus
from streamdesk.ui.session.targets import build_request, close_transport, resolve_endpoint
from streamdesk.ui.session.turns import (
    HistorySink,
    ReplySink,
    Target,
    Turn,
    label,
    open_sink,
    render_turns,
    settle_cost,
)
from streamdesk.ui.transcript.reply_view import ending_marks
from streamdesk.ui.window.status_bar import ReplyStats

log = logging.getLogger(__name__)

STATS_INTERVAL_MS = 100  # status bar refresh while streaming; tokens arrive much faster


class ChatSession(SessionStatus, QObject):
    """One conversation: its turns, its transcript view and its running reply (if any)."""

    started = Signal(object)  # reply key
    updated = Signal(object)  # reply key; text or reasoning arrived
    finished = Signal(object, str)  # reply key, status: complete | stopped | error
    failed = Signal(object, object)  # reply key, core.events.Failure
    statsChanged = Signal(object)  # status_bar.ReplyStats
    busyChanged = Signal(bool)
    noticeChanged = Signal(object, str)  # reply key, "Rate limited: retrying in 3 s" or ""

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
        self.view = view
        self.target_factory = target_factory
        self.title = title
        self.history_sink = history_sink
        self.turns: list[Turn] = []
        self.shown_from = 0  # turns before this index are stored but not rendered (lazy pages)
        self.system_prompt = ""
        self.params: dict[str, Any] = {}  # temperature, max_tokens
        self.stats = ReplyStats()
        self.trace: StreamTrace | None = None  # of the latest request, for the inspector
        self.trace_factory: Callable[[], StreamTrace] = StreamTrace  # inspector: recording()
        self._task: asyncio.Task[None] | None = None
        self._running = False
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
        """A reply is streaming (false from the moment it is finished, before the task ends)."""
        return self._running

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
        """Resend the prompt of reply `key` as a new reply below; the old one leaves the context."""
        old = self._turn(key)
        if old is None or self.busy:
            return None
        index = self.turns.index(old)
        old.superseded = True
        turn = self._new_turn(old.prompt, self.target_factory())
        turn.is_retry = True
        turn.regen_of = old.reply_id
        return self._start(turn, self._request(turn, index))

    def continue_(self, key: object) -> int | None:
        """Send the partial reply as the assistant's prefix and append what comes to it.

        Only the latest reply can be continued (anything after it would depend on it).
        """
        turn = self._turn(key)
        if turn is None or self.busy or not turn.parts or turn is not self.turns[-1]:
            return None
        turn.target = self.target_factory()
        request = self._request(turn, self.turns.index(turn), prefix=turn.text)
        self._reopen(turn)
        turn.resume = True
        return self._start(turn, request, resume=True)

    def regenerate(self, key: object) -> int | None:
        """A new alternative of the latest reply, streamed in its place (the old one is kept)."""
        turn = self._turn(key)
        if turn is None or self.busy or turn is not self.turns[-1]:
            return None
        turn.regen_of = turn.reply_id
        turn.parts, turn.reasoning, turn.completion_tokens, turn.cost = [], [], 0, None
        turn.target = self.target_factory()
        turn.alt_index, turn.alt_count = turn.alt_count, turn.alt_count + 1
        self._reopen(turn)
        return self._start(turn, self._request(turn, len(self.turns) - 1), resume=True)

    def resend_edited(self, key: object, prompt: str) -> int | None:
        """Send an edited prompt in place of turn `key`'s; that turn and later ones leave."""
        turn = self._turn(key)
        if turn is None or self.busy or not prompt.strip():
            return None
        index = self.turns.index(turn)
        del self.turns[index:]
        self.rerender()
        new = self._new_turn(prompt, self.target_factory())
        new.edit_of = turn.user_id
        self.view.add_user_message(prompt, ("user", new.key))
        return self._start(new, self._request(new, len(self.turns) - 1))

    def load(self, turns: list[Turn], shown_from: int) -> None:
        """Take stored turns; render those from `shown_from` on (the rest on demand)."""
        self.turns = turns
        self._next_key = max((t.key for t in turns), default=0) + 1
        self.shown_from = shown_from
        self.rerender()

    def rerender(self, live: Turn | None = None) -> None:
        shown = self.turns[self.shown_from :]
        with contextlib.suppress(AttributeError):
            self.view.set_earlier(self.shown_from)
        render_turns(self.view, shown, live=live)

    def _reopen(self, turn: Turn) -> None:
        self.rerender(live=turn)

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

    def _request(self, turn: Turn, index: int, prefix: str = "") -> ChatRequest:
        return build_request(
            self.turns, index, turn, self.system_prompt, self.params, prefix=prefix
        )

    def _start(self, turn: Turn, request: ChatRequest, *, resume: bool = False) -> int:
        if not resume:
            turn.view = self.view.begin_assistant(turn.key, label=label(turn.target))
        turn.status = "streaming"
        turn.failure = None
        self._running = True
        self._task = asyncio.get_running_loop().create_task(self._run(turn, request, resume))
        self.busyChanged.emit(True)
        self.started.emit(turn.key)
        return turn.key

    # -- the stream loop ------------------------------------------------------------------

    async def _run(self, turn: Turn, request: ChatRequest, resume: bool) -> None:
        target = turn.target
        reply = turn.view
        trace = self.trace_factory()
        self.trace = turn.trace = trace
        sink = open_sink(self.history_sink, self, turn, request)
        tokens_before = turn.completion_tokens if resume else 0
        cost_before = turn.cost if resume else None
        usage: Usage | None = None
        deltas = 0  # text/reasoning deltas: the completion tokens when no usage comes
        status, failure, finish_reason = "error", None, None
        transport = None
        noticed = False  # a retry notice is shown on the reply
        self._set_state("Connecting", turn)
        try:
            endpoint = await resolve_endpoint(target)  # proxy, CA bundle, timeouts, retries
            transport = make_transport(target.protocol, endpoint, provider_id=target.provider.id)
            events = stream_chat(
                transport,
                request,
                trace=trace,
                timeouts=endpoint.timeouts,
                max_retries=endpoint.max_retries,
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    self._stop_countdown()
                    if noticed and isinstance(event, TextDelta | ReasoningDelta):
                        noticed = False
                        self._notice(reply, "")
                    if isinstance(event, TextDelta):
                        deltas += 1
                        turn.parts.append(event.text)
                        reply.append_text(event.text)
                        if sink is not None:
                            sink.append_text(event.text)
                        self._tick(turn, "Streaming")
                    elif isinstance(event, ReasoningDelta):
                        deltas += 1
                        turn.reasoning.append(event.text)
                        reply.append_reasoning(event.text)
                        if sink is not None:
                            sink.append_reasoning(event.text)
                        self._tick(turn, "Streaming")
                    elif isinstance(event, Usage):
                        usage = event
                    elif isinstance(event, Retrying):
                        noticed = True
                        self._start_countdown(reply, event)
                        self._set_state("Retrying", turn)
                    elif isinstance(event, Done):
                        status, finish_reason = "complete", event.finish_reason
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
                await close_transport(transport)
        settle_cost(
            turn, request, usage, deltas, tokens_before=tokens_before, cost_before=cost_before
        )
        self._finish(turn, status, failure, sink, finish_reason)

    def _finish(
        self,
        turn: Turn,
        status: str,
        failure: Failure | None,
        sink: ReplySink | None,
        finish_reason: str | None = None,
    ) -> None:
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
            title, actions = ending_marks(
                status, finish_reason, turn.completion_tokens, bool(turn.parts)
            )
            reply.finish(status, failure_title=title, actions=actions)
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
        turn.resume, turn.regen_of, turn.edit_of = False, None, None
        state = {"complete": "Done", "stopped": "Stopped"}.get(status, "Failed")
        if status == "complete" and finish_reason == "length":
            state = "Max tokens reached"
        self._stats_timer.stop()
        self._running = False
        self._set_state(state, turn)
        self.busyChanged.emit(False)
        if failure is not None:
            self.failed.emit(turn.key, failure)
        self.finished.emit(turn.key, status)
