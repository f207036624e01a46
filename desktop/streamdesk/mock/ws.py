"""`/v1/ws/chat`: the Streamdesk WebSocket chat protocol on websockets' sans-I/O `ServerProtocol`.

The HTTP server already parsed the upgrade request; its head is fed to the protocol, which
validates the handshake and writes its answer. Bytes the HTTP parser had buffered past the request
go to the protocol next, then a reader task feeds incoming bytes to it (pings and the closing
handshake are answered there) and queues text messages; the main loop answers each
`chat.completion` message in turn, so several requests may share one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence

from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WsRequest
from websockets.protocol import State
from websockets.server import ServerProtocol

from streamdesk.mock.chat import Chat
from streamdesk.mock.http import Request
from streamdesk.mock.scenarios import STALL_SECONDS, STREAM_ERROR, HttpError, bad_request
from streamdesk.mock.stream import play

MAX_MESSAGE = 16 * 1024 * 1024


class WsConnection:
    """One accepted WebSocket: the sans-I/O protocol and the stream it writes to."""

    def __init__(self, writer: asyncio.StreamWriter, protocol: ServerProtocol) -> None:
        self.writer = writer
        self.protocol = protocol
        self._lock = asyncio.Lock()  # one-byte writes await between bytes: keep frames whole

    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN and not self.writer.transport.is_closing()

    async def flush(self, one_byte: bool = False) -> None:
        """Write what the protocol wants sent; an empty item means: close the TCP connection."""
        async with self._lock:
            await self._flush(one_byte)

    async def _flush(self, one_byte: bool) -> None:
        items = self.protocol.data_to_send()
        data = b"".join(items)  # one write (one send syscall) for a whole batch of frames
        if data and not self.writer.transport.is_closing():
            if one_byte:
                for k in range(len(data)):
                    self.writer.write(data[k : k + 1])
                    await self.writer.drain()
            else:
                self.writer.write(data)
        if items and not items[-1]:  # the protocol asks to close the TCP connection
            self.writer.close()
        elif not self.writer.transport.is_closing():
            await self.writer.drain()


class WsSink:
    """Sends reply frames the way the scenario asks for."""

    def __init__(self, conn: WsConnection, scenario: str) -> None:
        self._conn = conn
        self._scenario = scenario
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed or not self._conn.open

    async def send(self, payloads: Sequence[str]) -> None:
        if self.closed:
            return
        protocol = self._conn.protocol
        split = self._scenario == "split-utf8"
        for payload in payloads:
            data = payload.encode()
            if self._scenario == "keepalive":
                protocol.send_ping(b"keep-alive")
            cut = split and next((i + 1 for i, b in enumerate(data) if b >= 0xC0), 0)
            if cut:
                protocol.send_text(data[:cut], fin=False)
                protocol.send_continuation(data[cut:], fin=True)
            else:
                protocol.send_text(data)
        await self._conn.flush(one_byte=self._scenario == "one-byte")

    async def fault(self, scenario: str) -> bool:
        if scenario == "bad-json":
            self._conn.protocol.send_text(b'{"type": "content.delta", "delta": "oops')
            await self._conn.flush()
            return True
        if scenario == "error-event":
            await self.send([json.dumps(STREAM_ERROR.ws_frame())])
            return False
        if scenario == "stall":
            await asyncio.sleep(STALL_SECONDS)
            return True
        self._closed = True
        if scenario == "truncate":  # a normal close, without completion.done
            self._conn.protocol.send_close(1000, "")
            await self._conn.flush()
        elif scenario == "ws-close-1011":
            self._conn.protocol.send_close(1011, "mock: internal error")
            await self._conn.flush()
        else:  # cut: drop TCP without a closing handshake
            self._conn.writer.transport.abort()
        return False


def _frames(chat: Chat) -> tuple[list[str], list[str]]:
    dumps = json.dumps
    events = [
        f'{{"type":"reasoning.delta","delta":{dumps(t, ensure_ascii=False)}}}'
        for t in chat.reasoning
    ]
    events += [
        f'{{"type":"content.delta","delta":{dumps(t, ensure_ascii=False)}}}' for t in chat.content
    ]
    events += _tool_call_frames(chat)
    trailer = [
        dumps({"type": "usage", "usage": chat.usage()}),
        dumps({"type": "completion.done", "finish_reason": chat.finish_reason}),
    ]
    return events, trailer


def _tool_call_frames(chat: Chat) -> list[str]:
    """`tool_call.delta` frames: the call's id and name with its first frame, then one frame
    per fragment of the arguments."""
    frames = []
    for index, call in enumerate(chat.tool_calls):
        start = {"type": "tool_call.delta", "index": index, "id": f"call_{call.suffix}"}
        frames.append(json.dumps({**start, "name": call.name, "arguments": ""}))
        frames += [
            json.dumps({"type": "tool_call.delta", "index": index, "arguments": piece})
            for piece in call.fragments
        ]
    return frames


async def _read_loop(
    reader: asyncio.StreamReader, conn: WsConnection, inbox: asyncio.Queue[bytes | None]
) -> None:
    """Feed bytes to the protocol; queue complete text/binary messages; None at the end.

    Starts with what the protocol already holds (bytes that came with the upgrade request).
    """
    parts: list[bytes] = []
    eof = False
    try:
        while True:
            for event in conn.protocol.events_received():
                if isinstance(event, Frame) and event.opcode in (
                    Opcode.TEXT,
                    Opcode.BINARY,
                    Opcode.CONT,
                ):
                    parts.append(bytes(event.data))
                    if event.fin:
                        inbox.put_nowait(b"".join(parts))
                        parts = []
            with contextlib.suppress(ConnectionError):
                await conn.flush()
            if eof or conn.protocol.state is State.CLOSED:
                return
            try:
                data = await reader.read(65536)
            except ConnectionError:
                data = b""
            eof = not data
            if eof:
                conn.protocol.receive_eof()
            else:
                conn.protocol.receive_data(data)
    finally:
        inbox.put_nowait(None)


async def serve_websocket(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: Request,
    leftover: bytes,
    prepare: Callable[[bytes, dict[str, object]], Chat | HttpError],
) -> None:
    """Complete the handshake, then answer chat.completion messages until the peer leaves.

    `leftover` is what the client sent after the upgrade request and the HTTP parser had already
    read: the first frames, when the client did not wait for the handshake answer.
    """
    protocol = ServerProtocol(max_size=MAX_MESSAGE)
    protocol.receive_data(request.head)
    handshake = next(e for e in protocol.events_received() if isinstance(e, WsRequest))
    protocol.send_response(protocol.accept(handshake))
    conn = WsConnection(writer, protocol)
    await conn.flush()
    if protocol.state is not State.OPEN:
        return
    if leftover:
        protocol.receive_data(leftover)
    inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
    reading = asyncio.create_task(_read_loop(reader, conn, inbox))
    try:
        while (raw := await inbox.get()) is not None:
            if not conn.open:
                break
            try:
                message = json.loads(raw)
            except ValueError:
                message = None
            if not isinstance(message, dict) or message.get("type") != "chat.completion":
                error = bad_request("Expected a JSON object with type 'chat.completion'.")
                await WsSink(conn, "ok").send([json.dumps(error.ws_frame())])
                continue
            plan = prepare(raw, message)
            if isinstance(plan, HttpError):
                await WsSink(conn, "ok").send([json.dumps(plan.ws_frame())])
                continue
            sink = WsSink(conn, plan.scenario)
            events, trailer = _frames(plan)
            if not await play(sink, (), events, trailer, plan.pace, plan.scenario) and sink.closed:
                break
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
