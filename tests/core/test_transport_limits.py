"""Hostile servers on real loopback sockets: each ends as its own failure, never a crash or a cut.

The mock has no scenario for these (it speaks the protocols correctly), so each test starts a
tiny server of its own: a raw HTTP/1.1 answer for SSE, a `websockets` server for WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection, serve

from streamdesk.core.events import Done, Failure, FailureKind, StreamEvent, TextDelta
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import make_transport, stream_chat

QUICK = Timeouts(connect=2.0, first_token=10.0, stall=10.0)
MIB = 1024 * 1024
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Connection: close\r\n\r\n"
)
DEEP = b"[" * 100_000

Body = Callable[[asyncio.StreamWriter], Awaitable[None]]
Conversation = Callable[[ServerConnection], Awaitable[None]]


async def run(protocol: str, port: int, *, retries: int = 2) -> list[StreamEvent]:
    base, ws = f"http://127.0.0.1:{port}/v1", f"ws://127.0.0.1:{port}/v1/ws/chat"
    endpoint = Endpoint(base, ws, api_key="sk-limits-test", timeouts=QUICK, proxy="")
    transport = make_transport(protocol, endpoint)
    request = ChatRequest("gpt-4.1", (Message("user", "hello"),))

    async def sleep(delay: float) -> None:
        raise AssertionError(f"no failure here is worth a retry (asked to wait {delay} s)")

    try:
        events = stream_chat(transport, request, timeouts=QUICK, max_retries=retries, sleep=sleep)
        return [e async for e in events]
    finally:
        await transport.aclose()


def failure_of(events: list[StreamEvent]) -> Failure:
    assert isinstance(events[-1], Failure), events[-3:]
    assert sum(isinstance(e, Failure | Done) for e in events) == 1
    return events[-1]


@contextlib.asynccontextmanager
async def sse_server(body: Body) -> AsyncIterator[int]:
    """Answers every request with 200, an event stream, and whatever `body` writes."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(SSE_HEAD)
        with contextlib.suppress(ConnectionError):
            await body(writer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@contextlib.asynccontextmanager
async def ws_server(conversation: Conversation) -> AsyncIterator[int]:
    """Reads the chat message of each connection, then runs `conversation` on it."""

    async def handler(conn: ServerConnection) -> None:
        await conn.recv()
        with contextlib.suppress(ConnectionError):
            await conversation(conn)

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        yield next(iter(server.sockets)).getsockname()[1]


def delta(text: str) -> bytes:
    return b'data: {"choices":[{"delta":{"content":"' + text.encode() + b'"}}]}\n\n'


# --- one event or message over the cap ---------------------------------------------------------


async def endless_data_line(writer: asyncio.StreamWriter) -> None:
    """`data: xxxx…` with no line end, 20 MB of it unless the client hangs up first."""
    writer.write(delta("Hi") + b"data: ")
    for _ in range(20_000_000 // (64 * 1024)):
        writer.write(b"x" * 64 * 1024)
        await writer.drain()


@pytest.mark.asyncio
async def test_an_endless_sse_data_line_is_message_too_big_in_bounded_memory() -> None:
    async with sse_server(endless_data_line) as port:
        tracemalloc.start()
        try:
            events = await run("sse", port)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    failure = failure_of(events)
    assert failure.kind is FailureKind.MESSAGE_TOO_BIG
    assert failure.message.startswith("The server sent one event larger than 16 MiB; ")
    assert events[0] == TextDelta("Hi")  # what came before is kept
    assert peak < 3 * 16 * MIB, peak


@pytest.mark.asyncio
async def test_a_websocket_message_over_16_mib_is_message_too_big_not_a_cut() -> None:
    async def huge(conn: ServerConnection) -> None:
        await conn.send('{"type":"content.delta","delta":"Hi"}')
        await conn.send(b"x" * (17 * MIB), text=True)
        await conn.wait_closed()

    async with ws_server(huge) as port:
        events = await run("ws", port)
    failure = failure_of(events)
    assert failure.kind is FailureKind.MESSAGE_TOO_BIG
    assert failure.message.startswith("The server sent one WebSocket message larger than 16 MiB; ")
    assert events[0] == TextDelta("Hi")


# --- an empty stream ---------------------------------------------------------------------------


async def nothing(writer: asyncio.StreamWriter) -> None:
    """Headers, then the end of the body: what llama.cpp answers to a prompt over its context."""


async def comments_only(writer: asyncio.StreamWriter) -> None:
    writer.write(b": ping\n\n: ping\n\n")


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [nothing, comments_only])
async def test_an_sse_stream_without_any_event_is_an_empty_reply(body: Body) -> None:
    async with sse_server(body) as port:
        failure = failure_of(await run("sse", port))
    assert failure.kind is FailureKind.EMPTY_REPLY
    assert failure.message == (
        "The server returned an empty reply; the prompt may exceed the model's context."
    )


@pytest.mark.asyncio
async def test_a_websocket_closed_normally_without_any_frame_is_an_empty_reply() -> None:
    async def close_at_once(conn: ServerConnection) -> None:
        await conn.close()

    async with ws_server(close_at_once) as port:
        failure = failure_of(await run("ws", port))
    assert failure.kind is FailureKind.EMPTY_REPLY


async def half_an_event(writer: asyncio.StreamWriter) -> None:
    writer.write(b'data: {"choices":[{"delta":')


async def one_event_without_text(writer: asyncio.StreamWriter) -> None:
    writer.write(b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n')


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [half_an_event, one_event_without_text])
async def test_a_stream_that_began_and_ended_early_is_still_a_cut(body: Body) -> None:
    async with sse_server(body) as port:
        events = await run("sse", port, retries=0)
        assert failure_of(events).kind is FailureKind.CUT_MID_STREAM


@pytest.mark.asyncio
async def test_a_drop_before_the_first_token_is_retried_like_a_refused_connection() -> None:
    async with sse_server(one_event_without_text) as port:
        base = f"http://127.0.0.1:{port}/v1"
        endpoint = Endpoint(base, None, api_key="sk-limits-test", timeouts=QUICK, proxy="")
        transport = make_transport("sse", endpoint)
        waits: list[float] = []

        async def sleep(delay: float) -> None:
            waits.append(delay)

        request = ChatRequest("gpt-4.1", (Message("user", "hello"),))
        try:
            events = [
                e
                async for e in stream_chat(
                    transport, request, timeouts=QUICK, max_retries=1, sleep=sleep
                )
            ]
        finally:
            await transport.aclose()
    assert len(waits) == 1 and failure_of(events).kind is FailureKind.CUT_MID_STREAM


@pytest.mark.asyncio
async def test_a_websocket_closed_after_a_frame_is_still_a_cut() -> None:
    async def one_frame(conn: ServerConnection) -> None:
        await conn.send('{"type":"content.delta","delta":"Hi"}')
        await conn.close()

    async with ws_server(one_frame) as port:
        assert failure_of(await run("ws", port)).kind is FailureKind.CUT_MID_STREAM


# --- malformed data ----------------------------------------------------------------------------


async def deep_json(writer: asyncio.StreamWriter) -> None:
    writer.write(delta("Hi") + b"data: " + DEEP + b"\n\n")


@pytest.mark.asyncio
async def test_deep_json_over_sse_is_a_bad_response() -> None:
    async with sse_server(deep_json) as port:
        events = await run("sse", port)
    assert failure_of(events).kind is FailureKind.BAD_RESPONSE
    assert events[0] == TextDelta("Hi")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "frame",
    [
        DEEP,
        b'{"type":"usage","usage":{"prompt_tokens":"many"}}',
        b'{"type":"usage","usage":{"completion_tokens":' + b"9" * 4000 + b"}}",
    ],
)
async def test_a_malformed_websocket_frame_is_a_bad_response(frame: bytes) -> None:
    async def send_it(conn: ServerConnection) -> None:
        await conn.send('{"type":"content.delta","delta":"Hi"}')
        await conn.send(frame, text=True)
        await conn.wait_closed()

    async with ws_server(send_it) as port:
        events = await run("ws", port)
    assert failure_of(events).kind is FailureKind.BAD_RESPONSE
    assert events[0] == TextDelta("Hi")
