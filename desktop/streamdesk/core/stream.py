"""The one stream every consumer reads: retries, first-token and stall timers, failures as data.

`stream_chat` wraps a transport so that the window, the CLI and the history store see the same
shape whatever the protocol: deltas, maybe `Retrying`, then exactly one `Done` or `Failure`.

The timers cost nothing per token: one timer per attempt, re-armed only when it fires (it then
compares the clock with the time the current wait began). A per-event `asyncio.timeout` scope
measured 6.5 µs per event here, ten times the rest of this layer, so expiry cancels the task
directly and undoes that with `Task.uncancel()`, the way `asyncio.timeout` does internally.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    ReasoningDelta,
    Retrying,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
)
from streamdesk.core.redact import redact_known
from streamdesk.core.request import ChatRequest, Timeouts
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports import Transport, make_transport
from streamdesk.core.transports._classify import host_of

INITIAL_RETRY_DELAY = 0.5  # openai-python's backoff: min(0.5 * 2**n, 8) s, minus up to 25 %
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 120.0  # a server asking for a longer wait is not retried automatically

Sleep = Callable[[float], Awaitable[Any]]

__all__ = ["MAX_RETRY_AFTER", "Transport", "backoff_delay", "make_transport", "stream_chat"]


def backoff_delay(retry: int, retry_after: float | None = None) -> float:
    """Seconds before retry number `retry` (from 0): the server's wait, else backoff with jitter."""
    if retry_after is not None and 0 < retry_after <= MAX_RETRY_AFTER:
        return retry_after
    base = min(INITIAL_RETRY_DELAY * 2.0**retry, MAX_RETRY_DELAY)
    return base * (1 - 0.25 * random.random())


class _Watchdog:
    """First-token and stall deadlines for one attempt, with a single lazily re-armed timer.

    Before the first token the deadline is fixed (attempt start + first_token). After it, the
    deadline is `stall` seconds after the current wait began; time the consumer spends holding
    an event is not server silence, so it does not count. On expiry it cancels the task, which
    is then inside its wait for the transport (`waiting`), and `_run_attempt` turns that
    cancellation back into a failure with `Task.uncancel()`, as `asyncio.timeout` does.
    """

    __slots__ = (
        "_handle",
        "_loop",
        "_t0",
        "base_cancelling",
        "expired",
        "fired",
        "started",
        "task",
        "timeouts",
        "waiting",
        "waiting_since",
    )

    def __init__(self, timeouts: Timeouts) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.base_cancelling = task.cancelling()
        self.timeouts = timeouts
        self.started = False  # a first token arrived: the stall rule applies from now on
        self.waiting = False  # the task is suspended in the wait for the next event
        self.fired = False  # we cancelled the task
        self._t0 = self.waiting_since = self._loop.time()
        self.expired: FailureKind | None = None
        self._handle = self._loop.call_at(self._due(), self._check)

    def _due(self) -> float:
        if self.started:
            return self.waiting_since + self.timeouts.stall
        return self._t0 + self.timeouts.first_token

    def _check(self) -> None:
        now = self._loop.time()
        if self.started and not self.waiting:  # the consumer holds an event: not silence
            self.rearm(now + self.timeouts.stall)
            return
        due = self._due()
        if now < due:
            self.rearm(due)
            return
        self.expired = FailureKind.STALLED if self.started else FailureKind.FIRST_TOKEN_TIMEOUT
        if self.waiting:
            self.fired = True
            self.task.cancel()

    def rearm(self, when: float | None = None) -> None:
        self._handle.cancel()
        self._handle = self._loop.call_at(self._due() if when is None else when, self._check)

    def own_cancel(self) -> bool:
        """Was this cancellation ours alone? Then it is undone and becomes a timeout failure."""
        if not self.fired:
            return False
        self.fired = False
        return self.task.uncancel() <= self.base_cancelling

    def cancel(self) -> None:
        self._handle.cancel()


async def stream_chat(
    transport: Transport,
    request: ChatRequest,
    *,
    trace: StreamTrace | None = None,
    timeouts: Timeouts,
    max_retries: int = 2,
    sleep: Sleep = asyncio.sleep,
    failed_before: int = 0,
) -> AsyncGenerator[StreamEvent, None]:
    """Stream one reply; always ends with exactly one `Done` or `Failure`.

    `failed_before` counts the requests of this reply that already failed (a resumed reply):
    the backoff goes on growing from there instead of starting again.

    Never raises `StreamError`; `CancelledError` propagates (the caller keeps what it received).
    Retries only before the first text, reasoning or tool-call delta, so nothing is duplicated.
    One generator layer on purpose: each extra async-generator layer costs about a microsecond
    per token.
    """
    trace = trace if trace is not None else StreamTrace()
    token = trace.token
    clock = time.monotonic  # the loop's clock, without the method lookups
    attempt = 0
    try:
        while True:
            attempt += 1
            trace.attempts = attempt
            trace.begin_attempt()
            tokens = 0
            failure: Failure | None = None
            it = transport.stream(request, trace).__aiter__()
            next_event = it.__anext__
            dog = _Watchdog(timeouts)
            try:
                while True:
                    if dog.expired is not None:  # expired while the consumer held an event
                        failure = Failure(dog.expired, "")
                        break
                    dog.waiting_since = clock()
                    dog.waiting = True
                    try:
                        event = await next_event()
                    except StopAsyncIteration:
                        failure = Failure(FailureKind.CUT_MID_STREAM, _ENDED_EARLY)
                        break
                    except StreamError as exc:
                        failure = Failure(
                            exc.kind, redact_known(exc.message), exc.retry_after, exc.status
                        )
                        break
                    except asyncio.CancelledError:
                        if not dog.own_cancel():
                            raise
                        failure = Failure(dog.expired or FailureKind.STALLED, "")
                        break
                    finally:
                        dog.waiting = False
                    if dog.fired:  # a library swallowed our cancel and went on: undo it
                        dog.own_cancel()
                        dog.expired = None
                        dog.rearm()
                    cls = type(event)
                    if cls is TextDelta or cls is ReasoningDelta or cls is ToolCallDelta:
                        if cls is not ToolCallDelta:  # a tool call's fragment is not text
                            token(event.text)  # type: ignore[union-attr]
                        tokens += 1  # the reply has begun: a retry would repeat it
                        if not dog.started:  # once per attempt: first-token rule -> stall rule
                            dog.started = True
                            dog.rearm()
                    yield event
                    if cls is Done:
                        return
            finally:
                dog.cancel()
                aclose = getattr(it, "aclose", None)
                if aclose is not None:
                    await aclose()
            if failure.kind in (FailureKind.FIRST_TOKEN_TIMEOUT, FailureKind.STALLED):
                failure = _timeout_failure(failure.kind, timeouts, trace.url)
            retry = attempt - 1
            too_long = failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER
            # A connection dropped after the headers, or a malformed chunk, before the first
            # token lost nothing: it is retried like a connection that was refused.
            dropped_early = failure.kind in (FailureKind.CUT_MID_STREAM, FailureKind.BAD_RESPONSE)
            retryable = failure.kind.retryable or dropped_early
            if tokens or not retryable or retry >= max_retries or too_long:
                yield failure
                return
            delay = backoff_delay(retry + failed_before, failure.retry_after)
            yield Retrying(attempt, delay, failure)
            waited = time.perf_counter()
            try:
                await sleep(delay)
            finally:
                trace.retry_wait += time.perf_counter() - waited
    finally:
        trace.t_end = time.perf_counter()


_ENDED_EARLY = "The reply ended before it finished; the partial reply was kept."


def _timeout_failure(kind: FailureKind, timeouts: Timeouts, url: str) -> Failure:
    host = host_of(url) if url else "the server"
    if kind is FailureKind.FIRST_TOKEN_TIMEOUT:
        return Failure(
            kind,
            f"No reply from {host} within {timeouts.first_token:g} s. The model may be "
            "overloaded; try again or raise the first-token timeout.",
        )
    return Failure(
        kind,
        f"{host} stopped sending for {timeouts.stall:g} s; the partial reply was kept.",
    )
