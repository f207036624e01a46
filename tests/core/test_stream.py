"""stream_chat: retries only before the first token, backoff, timers, exactly one terminal event.

These use a scripted transport (our own `Transport` protocol, not a library's internals) so each
rule is exercised precisely; tests/core/test_transport_*.py run the same rules over the real mock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    Retrying,
    StreamEvent,
    TextDelta,
    Usage,
)
from streamdesk.core.request import ChatRequest, Message, Timeouts
from streamdesk.core.stream import MAX_RETRY_AFTER, backoff_delay, stream_chat
from streamdesk.core.trace import StreamTrace

REQUEST = ChatRequest("m", (Message("user", "hi"),))
FAST = Timeouts(first_token=5.0, stall=5.0)

Step = StreamEvent | StreamError | float | asyncio.Event  # float: wait that long; Event: wait


class Scripted:
    """Plays one script per attempt: events to yield, errors to raise, pauses to take."""

    def __init__(self, *scripts: Sequence[Step]) -> None:
        self.scripts = list(scripts)
        self.calls = 0
        self.closed = 0

    async def stream(self, request: ChatRequest, trace: StreamTrace) -> AsyncIterator[StreamEvent]:
        script = self.scripts[self.calls]
        self.calls += 1
        try:
            for step in script:
                if isinstance(step, StreamError):
                    raise step
                if isinstance(step, float):
                    await asyncio.sleep(step)
                elif isinstance(step, asyncio.Event):
                    await step.wait()
                else:
                    yield step
        finally:
            self.closed += 1

    async def aclose(self) -> None:
        pass


class Sleeps:
    """An injected sleep that records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def collect(transport: Scripted, **kwargs: object) -> list[StreamEvent]:
    kwargs.setdefault("timeouts", FAST)
    kwargs.setdefault("sleep", Sleeps())
    return [e async for e in stream_chat(transport, REQUEST, **kwargs)]  # type: ignore[arg-type]


def err(kind: FailureKind, retry_after: float | None = None) -> StreamError:
    return StreamError(kind, f"{kind.value} happened", retry_after=retry_after)


@pytest.mark.asyncio
async def test_a_good_stream_passes_through_and_stamps_the_trace() -> None:
    trace = StreamTrace()
    t = Scripted([TextDelta("a"), TextDelta("b"), Usage(1, 2), Done("stop")])
    events = await collect(t, trace=trace)
    assert events == [TextDelta("a"), TextDelta("b"), Usage(1, 2), Done("stop")]
    assert len(trace.token_times) == 2 and trace.attempts == 1 and trace.t_end is not None
    assert t.closed == 1


@pytest.mark.asyncio
async def test_retryable_failure_before_first_token_is_retried_with_backoff() -> None:
    sleeps = Sleeps()
    t = Scripted([err(FailureKind.SERVER_ERROR)], [err(FailureKind.SERVER_ERROR)], [Done()])
    events = await collect(t, sleep=sleeps)
    assert [type(e) for e in events] == [Retrying, Retrying, Done]
    assert [e.attempt for e in events if isinstance(e, Retrying)] == [1, 2]
    assert 0.375 <= sleeps.delays[0] <= 0.5 and 0.75 <= sleeps.delays[1] <= 1.0
    assert t.calls == 3


@pytest.mark.asyncio
async def test_retries_stop_after_max_retries_with_the_last_failure() -> None:
    t = Scripted(*([err(FailureKind.NETWORK)] for _ in range(3)))
    events = await collect(t, max_retries=2)
    assert [type(e) for e in events] == [Retrying, Retrying, Failure]
    assert events[-1].kind is FailureKind.NETWORK  # type: ignore[union-attr]
    assert t.calls == 3


@pytest.mark.asyncio
async def test_server_retry_after_is_the_delay() -> None:
    sleeps = Sleeps()
    t = Scripted([err(FailureKind.RATE_LIMITED, retry_after=7.0)], [Done()])
    events = await collect(t, sleep=sleeps)
    assert sleeps.delays == [7.0]
    assert isinstance(events[0], Retrying) and events[0].delay == 7.0


@pytest.mark.asyncio
async def test_retry_after_beyond_the_cap_is_not_retried() -> None:
    t = Scripted([err(FailureKind.RATE_LIMITED, retry_after=MAX_RETRY_AFTER + 1)], [Done()])
    events = await collect(t)
    assert [type(e) for e in events] == [Failure] and t.calls == 1
    assert events[0].retry_after == MAX_RETRY_AFTER + 1  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_non_retryable_failure_is_not_retried() -> None:
    t = Scripted([err(FailureKind.AUTHENTICATION)], [Done()])
    events = await collect(t)
    assert [e.kind for e in events if isinstance(e, Failure)] == [FailureKind.AUTHENTICATION]
    assert t.calls == 1


@pytest.mark.asyncio
async def test_failure_after_first_token_is_never_retried_and_text_is_not_duplicated() -> None:
    t = Scripted([TextDelta("part"), err(FailureKind.SERVER_ERROR)], [TextDelta("part"), Done()])
    events = await collect(t)
    assert events == [TextDelta("part"), Failure(FailureKind.SERVER_ERROR, "server_error happened")]
    assert t.calls == 1


@pytest.mark.asyncio
async def test_transport_ending_without_done_is_a_cut() -> None:
    events = await collect(Scripted([TextDelta("x")]))
    assert isinstance(events[-1], Failure) and events[-1].kind is FailureKind.CUT_MID_STREAM


@pytest.mark.asyncio
async def test_no_first_token_in_time_is_a_first_token_timeout() -> None:
    never = asyncio.Event()
    t = Scripted([never])
    started = time.perf_counter()
    trace = StreamTrace(url="https://h.example/v1/chat/completions")
    events = await collect(t, timeouts=Timeouts(first_token=0.2, stall=5.0), trace=trace)
    assert time.perf_counter() - started < 2
    assert len(events) == 1 and isinstance(events[0], Failure)
    assert events[0].kind is FailureKind.FIRST_TOKEN_TIMEOUT
    assert "No reply from h.example within 0.2 s" in events[0].message
    assert t.closed == 1  # the transport's generator was closed


@pytest.mark.asyncio
async def test_silence_after_tokens_is_a_stall_that_keeps_the_text() -> None:
    never = asyncio.Event()
    t = Scripted([TextDelta("a"), TextDelta("b"), never])
    events = await collect(t, timeouts=Timeouts(first_token=5.0, stall=0.2))
    assert events[:2] == [TextDelta("a"), TextDelta("b")]
    assert isinstance(events[2], Failure) and events[2].kind is FailureKind.STALLED
    # the reply's count is the window's and the terminal's to say: this request's would be wrong
    # for a resumed reply
    assert events[2].message.endswith("stopped sending for 0.2 s; the partial reply was kept.")
    assert "token" not in events[2].message and len(events) == 3


@pytest.mark.asyncio
async def test_steady_tokens_slower_in_total_than_the_stall_do_not_stall() -> None:
    steps: list[Step] = []
    for i in range(8):
        steps += [TextDelta(str(i)), 0.05]
    t = Scripted([*steps, Done()])
    events = await collect(t, timeouts=Timeouts(first_token=5.0, stall=0.2))
    assert isinstance(events[-1], Done) and len(events) == 9


@pytest.mark.asyncio
async def test_a_slow_consumer_is_not_a_stall() -> None:
    t = Scripted([TextDelta("a"), TextDelta("b"), Done()])
    seen: list[StreamEvent] = []
    async for event in stream_chat(t, REQUEST, timeouts=Timeouts(stall=0.1)):
        seen.append(event)
        await asyncio.sleep(0.25)  # the consumer, not the server, takes the time
    assert isinstance(seen[-1], Done)


@pytest.mark.asyncio
async def test_cancellation_propagates_and_closes_the_transport() -> None:
    never = asyncio.Event()
    t = Scripted([TextDelta("a"), never])
    got: list[StreamEvent] = []
    first = asyncio.Event()

    async def consume() -> None:
        async for event in stream_chat(t, REQUEST, timeouts=FAST):
            got.append(event)
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert got == [TextDelta("a")] and t.closed == 1


def test_backoff_follows_openai_python() -> None:
    for retry, top in ((0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)):
        delay = backoff_delay(retry)
        assert top * 0.75 <= delay <= top
    assert backoff_delay(0, retry_after=3.0) == 3.0
