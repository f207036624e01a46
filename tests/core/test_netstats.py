"""netstats: figures over a StreamTrace, and the transports' stamps against a paced mock.

Tolerances (stated, generous for noisy CI): with a configured first-token delay of 0.2 s the
measured TTFT must be at least 0.18 s (a stamp cannot come early) and under 0.2 + 0.5 s; with a
pace of 50 tokens/s (20 ms) the median gap must be within 10..40 ms (±50 %).
"""

from __future__ import annotations

from array import array

import pytest

from streamdesk.core.events import Done, Failure, StreamEvent
from streamdesk.core.netstats import (
    gaps_ms,
    histogram,
    percentile,
    summarize,
    trace_stats,
)
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.core.trace import StreamTrace
from streamdesk.mock import MockServer

FIRST_TOKEN_DELAY = 0.2
RATE = 50.0
TOKENS = 30


def synthetic() -> StreamTrace:
    trace = StreamTrace(protocol="sse", attempts=2, t_start=10.0)
    trace.t_connect_start, trace.t_connected, trace.t_sent = 10.001, 10.004, 10.005
    trace.t_first_byte, trace.t_first_token, trace.t_last_token = 10.1, 10.11, 10.15
    trace.t_end = 10.2
    trace.token_times = array("d", [10.11, 10.12, 10.13, 10.15])
    trace.bytes_received, trace.content_bytes = 400, 40
    return trace


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile(list(range(101)), 99) == pytest.approx(99.0)


def test_trace_stats_of_a_known_trace() -> None:
    s = trace_stats(synthetic())
    assert s.retries == 1
    assert s.connect_ms == pytest.approx(3.0)
    assert s.ttft_ms == pytest.approx(105.0)
    assert s.first_token_ms == pytest.approx(110.0)
    assert s.total_ms == pytest.approx(200.0)
    assert s.tokens == 4
    assert s.bytes_per_token == pytest.approx(100.0)
    assert s.overhead == pytest.approx(0.9)
    assert s.tokens_per_s == pytest.approx(3 / 0.04)
    assert gaps_ms(synthetic()) == pytest.approx([10.0, 10.0, 20.0])
    assert s.gap_p50_ms == pytest.approx(10.0)
    assert s.gap_max_ms == pytest.approx(20.0)


def test_trace_stats_of_an_empty_trace_has_no_figures() -> None:
    s = trace_stats(StreamTrace())
    assert (s.ttft_ms, s.bytes_per_token, s.overhead, s.gap_p50_ms) == (None, None, None, None)


def test_summary_pools_runs() -> None:
    summary = summarize("sse", [synthetic(), synthetic()], failures=1)
    assert (summary.runs, summary.failures, summary.tokens) == (2, 1, 8)
    assert summary.bytes_per_token == pytest.approx(100.0)
    assert summary.ttft_p50_ms == pytest.approx(105.0)
    assert summary.overhead == pytest.approx(0.9)


def test_histogram_counts_every_value() -> None:
    edges, counts = histogram([1.0, 2.0, 2.0, 9.0], bins=4)
    assert len(edges) == 5 and sum(counts) == 4 and counts[-1] == 1
    assert histogram([], 4) == ([], [])
    assert sum(histogram([3.0, 3.0], 2)[1]) == 2


async def _stream(protocol: str, mock: MockServer, trace: StreamTrace) -> list[StreamEvent]:
    endpoint = Endpoint(
        mock.sse_base_url, mock.ws_url, timeouts=Timeouts(connect=5, first_token=10), proxy=""
    )
    transport = make_transport(protocol, endpoint)
    request = ChatRequest("gpt-4.1", (Message("user", "Measure me"),))
    events: list[StreamEvent] = []
    try:
        async for event in stream_chat(transport, request, trace=trace, timeouts=endpoint.timeouts):
            events.append(event)
    finally:
        await transport.aclose()
    return events


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_measured_ttft_and_gaps_match_the_paced_mock(protocol: str) -> None:
    async with MockServer(
        tokens_per_second=RATE, first_token_delay=FIRST_TOKEN_DELAY, reply_tokens=TOKENS
    ) as mock:
        trace = StreamTrace.recording()
        events = await _stream(protocol, mock, trace)
    assert isinstance(events[-1], Done), events[-1]
    assert not any(isinstance(e, Failure) for e in events)
    s = trace_stats(trace)
    assert s.protocol == protocol and s.tokens == TOKENS
    assert s.ttft_ms is not None and 180.0 <= s.ttft_ms <= 700.0, s.ttft_ms
    assert s.gap_p50_ms is not None and 10.0 <= s.gap_p50_ms <= 40.0, s.gap_p50_ms
    assert s.tokens_per_s is not None and 25.0 <= s.tokens_per_s <= 100.0
    # ordered milestones on one monotonic clock
    t = trace
    assert t.t_connected is not None and t.t_sent is not None and t.t_first_byte is not None
    assert t.t_first_token is not None and t.t_last_token is not None and t.t_end is not None
    assert t.t_start <= t.t_connected <= t.t_sent <= t.t_first_byte <= t.t_first_token
    assert t.t_first_token <= t.t_last_token <= t.t_end
    assert s.connect_ms is not None and 0.0 <= s.connect_ms < 1000.0
    # the bytes counted are the bytes framed: overhead is a real share, content is all there
    assert s.overhead is not None and 0.3 < s.overhead < 1.0
    assert s.bytes_per_token is not None and s.bytes_per_token > 10
    assert t.frames is not None and [f for f in t.frames if f.direction == "in"]
