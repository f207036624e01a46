"""A redirect never carries credentials to another origin, on either transport.

Two real loopback servers: one answers every request with a redirect, the other records what
reaches it. websockets follows redirects by itself (and strips only `Authorization`), so
without the transport's own check the recorder received `X-API-Key` and `X-Signature`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.request import AuthStyle, ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import make_transport, stream_chat

KEY = "redirect-test-key-5f2a9c"
QUICK = Timeouts(connect=2.0, first_token=5.0, stall=5.0)
pytestmark = pytest.mark.asyncio
REQUEST = ChatRequest("m", (Message("user", "hi"),))


@dataclass
class RawServer:
    """A loopback HTTP server answering each request head with `answer(path)`."""

    answer: Callable[[str], bytes]
    heads: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        self.heads.append((path, headers))
        writer.write(self.answer(path))
        await writer.drain()
        writer.close()


def redirect(status: int, location: str) -> bytes:
    return (
        f"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


async def serve(raw: RawServer) -> asyncio.Server:
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    raw.port = server.sockets[0].getsockname()[1]
    return server


def keyed(port: int, auth: AuthStyle = AuthStyle.X_API_KEY) -> Endpoint:
    """An endpoint on loopback `port` that sends the key (in `auth`'s way) and signs."""
    base = f"http://127.0.0.1:{port}/v1"
    ws = f"ws://127.0.0.1:{port}/v1/ws/chat"
    return Endpoint(base, ws, api_key=KEY, auth=auth, sign=True, timeouts=QUICK, proxy="")


async def failure_of(protocol: str, endpoint: Endpoint) -> Failure:
    transport = make_transport(protocol, endpoint)
    try:
        events = [e async for e in stream_chat(transport, REQUEST, timeouts=QUICK, max_retries=0)]
    finally:
        await transport.aclose()
    last = events[-1]
    assert isinstance(last, Failure), events
    return last


@pytest.mark.parametrize("auth", [AuthStyle.X_API_KEY, AuthStyle.BEARER, AuthStyle.QUERY_PARAM])
async def test_websocket_redirect_to_another_origin_fails_and_sends_nothing_there(
    auth: AuthStyle,
) -> None:
    recorder = RawServer(lambda _: NOT_FOUND)
    async with await serve(recorder):
        target = f"ws://127.0.0.1:{recorder.port}/v1/ws/chat"
        redirector = RawServer(lambda _: redirect(302, target))
        async with await serve(redirector):
            failure = await failure_of("ws", keyed(redirector.port, auth))
    assert failure.kind is FailureKind.BAD_REQUEST
    assert failure.message == (
        f"The server redirected to another host (127.0.0.1:{recorder.port}): "
        "update the WebSocket URL. Nothing was sent there."
    )
    assert redirector.heads and recorder.connections == 0
    assert KEY not in failure.message


async def test_websocket_redirect_within_the_origin_is_followed_with_the_credentials() -> None:
    server = RawServer(
        lambda path: redirect(301, "/v2/ws") if path.startswith("/v1") else NOT_FOUND
    )
    async with await serve(server):
        failure = await failure_of("ws", keyed(server.port))
    assert failure.kind is FailureKind.NOT_FOUND
    assert [path for path, _ in server.heads] == ["/v1/ws/chat", "/v2/ws"]
    followed = server.heads[1][1]
    assert followed["x-api-key"] == KEY and "x-signature" in followed


async def test_sse_redirect_to_another_origin_is_a_clear_failure() -> None:
    recorder = RawServer(lambda _: NOT_FOUND)
    async with await serve(recorder):
        target = f"http://127.0.0.1:{recorder.port}/v1/chat/completions"
        redirector = RawServer(lambda _: redirect(307, target))
        async with await serve(redirector):
            failure = await failure_of("sse", keyed(redirector.port))
    assert failure.kind is FailureKind.BAD_REQUEST and failure.status == 307
    assert failure.message == (
        f"The server redirected to another host (127.0.0.1:{recorder.port}): "
        "update the base URL. Nothing was sent there."
    )
    assert recorder.connections == 0


async def test_sse_redirect_within_the_origin_names_the_new_path() -> None:
    server = RawServer(lambda _: redirect(308, "/v2/chat/completions"))
    async with await serve(server):
        endpoint = Endpoint(f"http://127.0.0.1:{server.port}/v1", timeouts=QUICK, proxy="")
        failure = await failure_of("sse", endpoint)
    assert failure.kind is FailureKind.BAD_REQUEST and failure.status == 308
    assert failure.message == (
        f"HTTP 308 from 127.0.0.1:{server.port}: the server redirected to "
        "/v2/chat/completions: update the base URL."
    )
    assert len(server.heads) == 1
