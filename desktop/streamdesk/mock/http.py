"""A minimal HTTP/1.1 server side: read one request, write a response, write chunked bodies.

Hand-written rather than h11 because the fault scenarios need control of every write (one byte
per chunk, a split UTF-8 character, a connection dropped mid-body) and the happy path must stay
cheap for benchmarks. Keep-alive is supported so clients that reuse connections (httpx) work.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024

REASONS = {
    101: "Switching Protocols",
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
    head: bytes  # the raw request line and headers, for the WebSocket handshake
    body: bytes = b""

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or None when the client closed it between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest(400, "incomplete request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise BadRequest(431, "request head too large") from exc
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400, "malformed header line")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    path, _, query = target.partition("?")
    request = Request(method, target, path, query, version, headers, head)
    request.body = await _read_body(reader, headers)
    return request


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            n = int(line.split(b";")[0].strip() or b"x", 16)
            if n == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(chunks)
            size += n
            if size > MAX_BODY:
                raise BadRequest(413, "request body too large")
            chunks.append(await reader.readexactly(n))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is None:
        return b""
    if not length.isdigit():
        raise BadRequest(400, "bad Content-Length")
    if int(length) > MAX_BODY:
        raise BadRequest(413, "request body too large")
    return await reader.readexactly(int(length))


def response_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_response(
    status: int, body: object, headers: Sequence[tuple[str, str]] = (), *, keep_alive: bool = True
) -> bytes:
    """A complete response with a JSON body and Content-Length."""
    data = json.dumps(body, ensure_ascii=False).encode()
    base = [
        ("content-type", "application/json"),
        ("content-length", str(len(data))),
        ("connection", "keep-alive" if keep_alive else "close"),
        ("server", "streamdesk-mock"),
    ]
    return response_head(status, base + list(headers)) + data


def chunk(data: bytes) -> bytes:
    """One chunk of a `Transfer-Encoding: chunked` body (empty data would end the body)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
