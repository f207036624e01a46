"""Both transports against the real mock server: every scenario gives its own outcome.

Each test runs over SSE and WebSocket through `stream_chat`, the way the app and CLI use them.
The mock streams as fast as it can (`tokens_per_second=0`) so the suite stays quick.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from hashlib import sha256

import pytest
import pytest_asyncio

from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    ReasoningDelta,
    Retrying,
    StreamEvent,
    TextDelta,
    Usage,
)
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports._classify import http_error
from streamdesk.mock import MockServer, reply_for

PROMPT = "Explain backpressure in streaming systems"
TOKENS = 40
FAULT_AFTER = 5  # the mock's mid-stream faults come after this many tokens
KEY = "sk-test-0123456789"
QUICK = Timeouts(connect=2.0, first_token=10.0, stall=10.0)
PROTOCOLS = ("sse", "ws")


@pytest_asyncio.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with MockServer(tokens_per_second=0, first_token_delay=0, reply_tokens=TOKENS) as server:
        yield server


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def endpoint(mock: MockServer, **kw: object) -> Endpoint:
    kw.setdefault("api_key", KEY)
    kw.setdefault("timeouts", QUICK)
    kw.setdefault("proxy", "")
    return Endpoint(mock.sse_base_url, mock.ws_url, **kw)  # type: ignore[arg-type]


async def run(
    mock: MockServer,
    protocol: str,
    scenario: str = "ok",
    *,
    timeouts: Timeouts = QUICK,
    sleeps: Sleeps | None = None,
    trace: StreamTrace | None = None,
    headers: dict[str, str] | None = None,
    **endpoint_kw: object,
) -> list[StreamEvent]:
    ep = endpoint(mock, timeouts=timeouts, **endpoint_kw)
    extra = {"X-Mock-Scenario": scenario, **(headers or {})}
    transport = make_transport(protocol, ep, extra_headers=extra)
    request = ChatRequest("gpt-4.1", (Message("user", PROMPT),))
    try:
        return [
            e
            async for e in stream_chat(
                transport, request, trace=trace, timeouts=timeouts, sleep=sleeps or Sleeps()
            )
        ]
    finally:
        await transport.aclose()


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def failure_of(events: list[StreamEvent]) -> Failure:
    last = events[-1]
    assert isinstance(last, Failure), events[-3:]
    assert sum(isinstance(e, Failure | Done) for e in events) == 1
    return last


FULL = "".join(reply_for(PROMPT, tokens=TOKENS))


@pytest.mark.asyncio
async def test_both_protocols_give_identical_events(mock: MockServer) -> None:
    sse = await run(mock, "sse")
    ws = await run(mock, "ws")
    assert sse == ws
    assert text_of(sse) == FULL
    assert isinstance(sse[-1], Done) and sse[-1].finish_reason == "stop"
    assert next(e for e in sse if isinstance(e, Usage)).completion_tokens == TOKENS


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("scenario", ["one-byte", "crlf", "cr", "keepalive", "split-utf8", "bom"])
async def test_wire_variations_give_the_same_reply(
    mock: MockServer, protocol: str, scenario: str
) -> None:
    events = await run(mock, protocol, scenario)
    assert isinstance(events[-1], Done), events[-1]
    assert text_of(events) == FULL


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_reasoning_arrives_before_the_text(mock: MockServer, protocol: str) -> None:
    events = await run(mock, protocol, "reasoning")
    kinds = [type(e) for e in events if isinstance(e, TextDelta | ReasoningDelta)]
    assert kinds[0] is ReasoningDelta and kinds[-1] is TextDelta
    assert kinds.index(TextDelta) == kinds.count(ReasoningDelta)
    assert isinstance(events[-1], Done)


HTTP_FAILURES = [
    ("http-400", FailureKind.BAD_REQUEST, "Mock: bad request."),
    ("http-401", FailureKind.AUTHENTICATION, "the API key was rejected."),
    ("http-403", FailureKind.PERMISSION, "HTTP 403"),
    ("http-404", FailureKind.NOT_FOUND, "gpt-4.1"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("scenario", "kind", "says"), HTTP_FAILURES)
async def test_http_statuses_fail_at_once_with_their_kind(
    mock: MockServer, protocol: str, scenario: str, kind: FailureKind, says: str
) -> None:
    events = await run(mock, protocol, scenario)
    assert len(events) == 1  # not retried
    failure = failure_of(events)
    assert failure.kind is kind and says in failure.message
    assert f"127.0.0.1:{mock.port}" in failure.message
    assert len(mock.requests) == 1


def test_a_rejected_key_is_a_fact_that_each_front_end_words() -> None:
    """The core says what happened; the window adds Open Settings, the CLI `keys set`."""
    error = http_error(401, {}, b"", "https://api.openai.com/v1")
    assert error.message == "HTTP 401 from api.openai.com: the API key was rejected."


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("scenario", "kind", "delay"),
    [("http-429", FailureKind.RATE_LIMITED, 1.0), ("http-500", FailureKind.SERVER_ERROR, None)],
)
async def test_retryable_statuses_are_retried_then_fail(
    mock: MockServer, protocol: str, scenario: str, kind: FailureKind, delay: float | None
) -> None:
    sleeps = Sleeps()
    events = await run(mock, protocol, scenario, sleeps=sleeps)
    assert [type(e) for e in events] == [Retrying, Retrying, Failure]
    assert failure_of(events).kind is kind
    if delay is not None:  # the server's Retry-After is honoured
        assert sleeps.delays == [delay, delay]
        assert failure_of(events).retry_after == delay
    assert len(mock.requests) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("scenario", ["flaky-429-once", "flaky-503-once"])
async def test_flaky_server_succeeds_on_the_retry(
    mock: MockServer, protocol: str, scenario: str
) -> None:
    sleeps = Sleeps()
    trace = StreamTrace()
    events = await run(mock, protocol, scenario, sleeps=sleeps, trace=trace)
    assert isinstance(events[0], Retrying) and sleeps.delays == [pytest.approx(0.1)]
    assert isinstance(events[-1], Done) and text_of(events) == FULL
    assert trace.attempts == 2


MID_STREAM = [
    ("bad-json", {"sse": FailureKind.BAD_RESPONSE, "ws": FailureKind.BAD_RESPONSE}),
    ("error-event", {"sse": FailureKind.SERVER_ERROR, "ws": FailureKind.SERVER_ERROR}),
    ("cut", {"sse": FailureKind.CUT_MID_STREAM, "ws": FailureKind.CUT_MID_STREAM}),
    ("ws-close-1011", {"sse": FailureKind.CUT_MID_STREAM, "ws": FailureKind.WEBSOCKET_CLOSED}),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("scenario", "kinds"), MID_STREAM)
async def test_mid_stream_faults_keep_the_partial_text(
    mock: MockServer, protocol: str, scenario: str, kinds: dict[str, FailureKind]
) -> None:
    if protocol not in kinds:
        pytest.skip(f"{scenario} has no {protocol} form")
    events = await run(mock, protocol, scenario)
    failure = failure_of(events)
    assert failure.kind is kinds[protocol], failure
    assert text_of(events) == "".join(reply_for(PROMPT, tokens=FAULT_AFTER))
    assert not any(isinstance(e, Retrying) for e in events)  # never retried after text
    if failure.kind is FailureKind.WEBSOCKET_CLOSED:
        assert "code 1011" in failure.message and failure.status == 1011
    if failure.kind is FailureKind.CUT_MID_STREAM:
        assert "partial reply was kept" in failure.message


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_stall_after_tokens_is_detected(mock: MockServer, protocol: str) -> None:
    started = time.perf_counter()
    events = await run(mock, protocol, "stall", timeouts=Timeouts(first_token=5, stall=0.3))
    assert failure_of(events).kind is FailureKind.STALLED
    assert text_of(events) == "".join(reply_for(PROMPT, tokens=FAULT_AFTER))
    assert 0.3 <= time.perf_counter() - started < 3


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("scenario", ["no-first-token", "slow-first-token"])
async def test_no_first_token_in_time(mock: MockServer, protocol: str, scenario: str) -> None:
    events = await run(mock, protocol, scenario, timeouts=Timeouts(first_token=0.3, stall=5))
    failure = failure_of(events)
    assert failure.kind is FailureKind.FIRST_TOKEN_TIMEOUT
    assert f"No reply from 127.0.0.1:{mock.port} within 0.3 s" in failure.message
    assert text_of(events) == ""


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_key_and_signature_arrive_and_verify(mock: MockServer, protocol: str) -> None:
    before = int(time.time())
    events = await run(mock, protocol, sign=True)
    assert isinstance(events[-1], Done)
    headers = mock.requests[0].headers
    assert headers["authorization"] == f"Bearer {KEY}"
    stamp = headers["x-timestamp"]
    assert before <= int(stamp) <= time.time() + 1
    expected = hmac.new((stamp + KEY).encode(), b"", sha256).hexdigest()
    assert hmac.compare_digest(headers["x-signature"], expected)


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_wrong_key_is_an_authentication_failure(protocol: str) -> None:
    async with MockServer(tokens_per_second=0, api_key="right-key") as server:
        events = await run(server, protocol, api_key="wrong-key")
    assert failure_of(events).kind is FailureKind.AUTHENTICATION
    assert len(events) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_trace_records_timings_frames_and_redacted_headers(
    mock: MockServer, protocol: str
) -> None:
    trace = StreamTrace.recording()
    events = await run(mock, protocol, trace=trace)
    assert isinstance(events[-1], Done)
    assert trace.protocol == protocol and trace.status in (200, 101)
    assert trace.t_start <= trace.t_sent <= trace.t_first_byte <= trace.t_first_token  # type: ignore[operator]
    assert trace.t_connected is not None and trace.t_end is not None
    assert len(trace.token_times) == TOKENS
    assert trace.frames and trace.frames[0].direction == "out"
    assert sum(len(f.data) for f in trace.frames if f.direction == "in") == trace.bytes_received
    assert KEY not in repr(trace.request_headers) and KEY not in trace.url
    assert 0 < trace.framing_overhead < 1  # type: ignore[operator]
