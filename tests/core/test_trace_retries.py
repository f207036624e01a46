"""After retries every inspector timing describes the final attempt, in order, and the
retries' wait is reported on its own (it was: Connect and Sent 1507 ms, 1st byte 127 ms)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from streamdesk.core.events import Done, Failure, Retrying, StreamEvent
from streamdesk.core.netstats import trace_stats
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.core.trace import StreamTrace
from streamdesk.mock import MockServer

QUICK = Timeouts(connect=2.0, first_token=10.0, stall=10.0)
WAIT = 0.05  # each retry's real wait, so a timing taken from the wrong attempt shows


@pytest_asyncio.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with MockServer(tokens_per_second=0, first_token_delay=0, reply_tokens=20) as server:
        yield server


async def short_sleep(_delay: float) -> None:
    await asyncio.sleep(WAIT)


async def run(
    mock: MockServer, protocol: str, scenario: str
) -> tuple[list[StreamEvent], StreamTrace]:
    ep = Endpoint(mock.sse_base_url, mock.ws_url, api_key="k", timeouts=QUICK, proxy="")
    transport = make_transport(protocol, ep, extra_headers={"X-Mock-Scenario": scenario})
    trace = StreamTrace()
    try:
        events = [
            e
            async for e in stream_chat(
                transport,
                ChatRequest("gpt-4.1", (Message("user", "hi"),)),
                trace=trace,
                timeouts=QUICK,
                max_retries=2,
                sleep=short_sleep,
            )
        ]
    finally:
        await transport.aclose()
    return events, trace


def ordered(*values: float | None) -> bool:
    present = [v for v in values if v is not None]
    return present == sorted(present)


@pytest.mark.asyncio
async def test_http_500_twice_retried_keeps_the_final_attempts_timings_in_order(
    mock: MockServer,
) -> None:
    events, trace = await run(mock, "sse", "http-500")
    assert [type(e) for e in events] == [Retrying, Retrying, Failure]
    s = trace_stats(trace)
    assert s.retries == 2
    assert s.sent_ms is not None and s.first_byte_ms is not None and s.total_ms is not None
    assert s.sent_ms <= s.first_byte_ms <= s.total_ms
    assert s.retry_wait_ms >= 2 * WAIT * 1000 * 0.9
    assert s.first_byte_ms >= s.retry_wait_ms, "first byte of the final attempt, after the waits"
    assert s.connect_ms is not None and s.connect_ms < s.retry_wait_ms, "connect excludes waits"


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_after_a_retry_sent_first_byte_tokens_and_end_are_in_order(
    mock: MockServer, protocol: str
) -> None:
    events, trace = await run(mock, protocol, "flaky-503-once")
    assert isinstance(events[0], Retrying) and isinstance(events[-1], Done)
    s = trace_stats(trace)
    assert s.retries == 1 and s.retry_wait_ms >= WAIT * 1000 * 0.9
    assert None not in (s.sent_ms, s.first_byte_ms, s.first_token_ms, s.last_token_ms)
    assert ordered(s.sent_ms, s.first_byte_ms, s.first_token_ms, s.last_token_ms, s.total_ms)
    assert s.first_byte_ms is not None and s.first_byte_ms >= s.retry_wait_ms
    assert s.ttft_ms is not None and s.ttft_ms < s.retry_wait_ms + 1000
