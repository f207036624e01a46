"""Request bodies and a raw HTTP/1.1 client that shows the wire exactly as the server wrote it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

PROMPT = "Explain streaming"


def chat_body(prompt: str = PROMPT, model: str = "gpt-4.1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
    }
    body.update(extra)
    return body


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    chunks: list[bytes]  # the chunked body, one item per chunk as written by the server
    complete: bool  # the terminating zero-size chunk arrived

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def data_lines(self) -> list[str]:
        """`data:` payloads, assuming LF line ends."""
        text = self.body.decode()
        return [line[6:] for line in text.split("\n") if line.startswith("data: ")]

    def events(self) -> list[tuple[str | None, str]]:
        """(`event:` name or None, `data:` payload) per event, assuming LF line ends."""
        out = []
        for block in self.body.decode().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
            if "data" in fields:
                out.append((fields.get("event"), fields["data"]))
        return out

    def content(self) -> list[str]:
        out = []
        for data in self.data_lines():
            if data == "[DONE]":
                continue
            for choice in json.loads(data).get("choices", []):
                if choice["delta"].get("content"):
                    out.append(choice["delta"]["content"])
        return out


async def raw_post(
    port: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    path: str = "/v1/chat/completions",
) -> RawResponse:
    """POST `path` with Connection: close and read the response to EOF."""
    data = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    raw = await reader.read()
    writer.close()
    return parse_response(raw)


def parse_response(raw: bytes) -> RawResponse:
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    chunks: list[bytes] = []
    complete = False
    if headers.get("transfer-encoding") == "chunked":
        while rest:
            size_line, sep, rest = rest.partition(b"\r\n")
            if not sep:
                break
            size = int(size_line, 16)
            if size == 0:
                complete = True
                break
            chunks.append(rest[:size])
            rest = rest[size + 2 :]
    else:
        chunks, complete = [rest], True
    return RawResponse(int(status_line.split()[1]), headers, chunks, complete)
