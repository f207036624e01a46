"""The server side of one HTTP/1.1 connection, spoken through h11.

h11 parses requests and frames responses; this module owns the socket, so every response piece
is one write the caller asked for (one byte per chunk, a split UTF-8 character, a connection
dropped mid-body). Keep-alive and pipelining follow h11's rules.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass

import h11

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024
READ_SIZE = 64 * 1024

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    426: "Upgrade Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class BadRequest(Exception):
    """The bytes are not an HTTP/1.1 request this server understands; answer `status`, close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Request:
    method: str
    target: str
    path: str
    query: str
    version: str
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    head: bytes  # request line and headers re-serialized (original case), for the WS handshake
    keep_alive: bool
    body: bytes = b""


def _request_from(event: h11.Request) -> Request:
    headers: dict[str, str] = {}
    for name, value in event.headers:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    lines = [b"%b %b HTTP/%b" % (event.method, event.target, event.http_version)]
    lines.extend(name + b": " + value for name, value in event.headers.raw_items())
    target = event.target.decode("latin-1")
    path, _, query = target.partition("?")
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    return Request(
        method=event.method.decode("latin-1"),
        target=target,
        path=path,
        query=query,
        version=f"HTTP/{event.http_version.decode('latin-1')}",
        headers=headers,
        head=b"\r\n".join(lines) + b"\r\n\r\n",
        # h11's rule: HTTP/1.0 peers and `Connection: close` end the connection
        keep_alive=event.http_version == b"1.1" and "close" not in tokens,
    )


def _content_length(request: Request) -> int:
    length = request.headers.get("content-length")
    return int(length) if length is not None else 0  # h11 already rejected non-digits


class HttpConnection:
    """One client connection: read whole requests, write responses piece by piece."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._head_request = False

    @property
    def closing(self) -> bool:
        return self.writer.transport.is_closing()

    async def next_request(self) -> Request | None:
        """The next whole request, or None when the client closed the connection between requests.

        Raises BadRequest when the bytes are not a request h11 accepts.
        """
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        request: Request | None = None
        parts: list[bytes] = []
        size = 0
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise BadRequest(exc.error_status_hint, str(exc)) from exc
            if event is h11.NEED_DATA:
                self._h11.receive_data(await self.reader.read(READ_SIZE))
            elif isinstance(event, h11.Request):
                request = _request_from(event)
                self._head_request = request.method == "HEAD"
                if _content_length(request) > MAX_BODY:
                    raise BadRequest(413, "request body too large")
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY:
                    raise BadRequest(413, "request body too large")
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                request.body = b"".join(parts)
                return request
            elif isinstance(event, h11.ConnectionClosed):
                return None
            else:
                raise BadRequest(400, f"unexpected {event!r}")

    def take_over(self) -> bytes:
        """Bytes h11 received past the current request, for the protocol the connection becomes.

        h11 is done with the connection after this: the new protocol writes its own handshake
        answer and reads the rest of the stream.
        """
        return self._h11.trailing_data[0]

    def _head(self, status: int, headers: Sequence[tuple[str, str]]) -> bytes:
        response = h11.Response(
            status_code=status,
            headers=[*headers, ("server", "streamdesk-mock")],
            reason=REASONS.get(status, "Unknown"),
        )
        data = self._h11.send(response)
        assert data is not None
        return data

    def _send(self, event: h11.Data | h11.EndOfMessage) -> bytes:
        data = self._h11.send(event)
        assert data is not None
        return data

    def respond_json(
        self,
        status: int,
        body: object,
        headers: Sequence[tuple[str, str]] = (),
        *,
        keep_alive: bool = True,
    ) -> None:
        """Write a complete response with a JSON body in one write (the caller drains)."""
        data = json.dumps(body, ensure_ascii=False).encode()
        head = [
            ("content-type", "application/json"),
            ("content-length", str(len(data))),
            ("connection", "keep-alive" if keep_alive else "close"),
            *headers,
        ]
        pieces = [self._head(status, head)]
        if not self._head_request:  # h11 frames a HEAD answer's body as empty
            pieces.append(self._send(h11.Data(data=data)))
        pieces.append(self._send(h11.EndOfMessage()))
        self.writer.write(b"".join(pieces))

    def respond_bad_request(self, status: int, body: object) -> None:
        """Answer a request h11 refused, unless a response is already under way."""
        if self._h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            self.respond_json(status, body, keep_alive=False)

    async def start_chunked(self, status: int, headers: Sequence[tuple[str, str]]) -> None:
        """Write the head of a `Transfer-Encoding: chunked` response."""
        self.writer.write(self._head(status, [*headers, ("transfer-encoding", "chunked")]))
        await self.writer.drain()

    async def write_chunk(self, data: bytes) -> None:
        """Write `data` as one chunk of the body (empty data writes nothing)."""
        self.writer.write(self._send(h11.Data(data=data)))
        await self.writer.drain()

    async def end_chunked(self) -> None:
        self.writer.write(self._send(h11.EndOfMessage()))
        await self.writer.drain()

    def cut(self) -> None:
        """Close the connection mid-body: h11 cannot end a body early, so the socket just closes."""
        self.writer.close()
