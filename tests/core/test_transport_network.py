"""Failures below HTTP, on real loopback sockets: refused, DNS, TLS, connect timeout, proxies."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from streamdesk.core.events import Done, Failure, FailureKind, Retrying, StreamEvent
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.mock import MockServer

PROTOCOLS = ("sse", "ws")
QUICK = Timeouts(connect=0.5, first_token=5.0, stall=5.0)
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "WS_PROXY", "WSS_PROXY")


@pytest.fixture(autouse=True)
def no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest_asyncio.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with MockServer(tokens_per_second=0, first_token_delay=0, reply_tokens=20) as server:
        yield server


@pytest_asyncio.fixture
async def plain_http_port() -> AsyncIterator[int]:
    """A plain-HTTP server that answers anything with a 400, as real servers do to a TLS hello."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.fixture
def dead_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def dead_env_proxy(dead_port: int, monkeypatch: pytest.MonkeyPatch) -> str:
    """HTTP_PROXY and HTTPS_PROXY name a port nothing listens on (NO_PROXY stays unset)."""
    proxy = f"http://127.0.0.1:{dead_port}"
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    return proxy


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full, so a new SYN is dropped: a connect that never ends."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        yield port
    finally:
        filler.close()
        server.close()


async def run(protocol: str, base_url: str, ws_url: str, **kw: object) -> list[StreamEvent]:
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    kw.setdefault("timeouts", QUICK)
    kw.setdefault("api_key", "sk-network-test-key")
    endpoint = Endpoint(base_url, ws_url, **kw)  # type: ignore[arg-type]
    transport = make_transport(protocol, endpoint)
    request = ChatRequest("gpt-4.1", (Message("user", "hello"),))
    try:
        return [
            e
            async for e in stream_chat(
                transport, request, timeouts=endpoint.timeouts, max_retries=1, sleep=sleep
            )
        ]
    finally:
        await transport.aclose()


def urls(host: str, port: int, secure: bool = False) -> tuple[str, str]:
    s = "s" if secure else ""
    return f"http{s}://{host}:{port}/v1", f"ws{s}://{host}:{port}/v1/ws/chat"


def failure(events: list[StreamEvent]) -> Failure:
    assert isinstance(events[-1], Failure), events
    return events[-1]


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_connection_refused_names_the_address_and_is_retried(
    protocol: str, dead_port: int
) -> None:
    events = await run(protocol, *urls("127.0.0.1", dead_port))
    assert [type(e) for e in events] == [Retrying, Failure]
    f = failure(events)
    assert f.kind is FailureKind.CONNECTION_REFUSED
    assert f"Nothing is listening at 127.0.0.1:{dead_port}. Is the server running?" == f.message


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_unresolvable_name(protocol: str) -> None:
    events = await run(protocol, *urls("nonexistent.invalid", 80))
    f = failure(events)
    assert f.kind is FailureKind.NAME_NOT_RESOLVED and "nonexistent.invalid" in f.message


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_tls_to_a_plain_http_port_is_a_tls_error(protocol: str, plain_http_port: int) -> None:
    events = await run(protocol, *urls("127.0.0.1", plain_http_port, secure=True))
    f = failure(events)
    assert f.kind is FailureKind.TLS_ERROR and "https vs http" in f.message
    assert len(events) == 1  # not retried: it would fail the same way


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_connect_timeout(protocol: str, full_backlog: int) -> None:
    events = await run(protocol, *urls("127.0.0.1", full_backlog), timeouts=Timeouts(connect=0.3))
    assert failure(events).kind is FailureKind.CONNECT_TIMEOUT


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_environment_proxy_is_honoured(
    protocol: str, mock: MockServer, dead_port: int, dead_env_proxy: str
) -> None:
    events = await run(protocol, mock.sse_base_url, mock.ws_url)
    f = failure(events)
    assert f.kind is FailureKind.CONNECTION_REFUSED
    assert f"proxy 127.0.0.1:{dead_port}" in f.message
    assert mock.requests == []  # nothing reached the server directly


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_empty_proxy_setting_bypasses_environment_proxies(
    protocol: str, mock: MockServer, dead_env_proxy: str
) -> None:
    events = await run(protocol, mock.sse_base_url, mock.ws_url, proxy="")
    assert isinstance(events[-1], Done)


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_explicit_proxy_setting_is_used(
    protocol: str, mock: MockServer, dead_port: int
) -> None:
    events = await run(
        protocol, mock.sse_base_url, mock.ws_url, proxy=f"http://127.0.0.1:{dead_port}"
    )
    f = failure(events)
    assert f.kind is FailureKind.CONNECTION_REFUSED and "proxy" in f.message
