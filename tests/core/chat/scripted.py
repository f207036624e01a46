"""A tiny loopback chat-completions server that calls tools the way OpenAI streams them, for
testing the tool loop on its own: a prompt naming one of its `calls` gets that call (arguments
in two fragments, finish_reason "tool_calls"); a request ending with a tool result gets text
quoting it. `always` makes every request ask for the tool again (the round limit); `cut`
cuts the first answer to a tool result after a few words (no [DONE]), and a request that
carries a partial reply on gets the rest. `refuse_over` makes it refuse, with OpenAI's HTTP 400
for a context that is too long, every request whose messages hold more characters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

TOO_LONG = (
    "This model's maximum context length is 4096 tokens. However, your messages resulted in"
    " 5210 tokens. Please reduce the length of the messages."
)
TOO_LONG_CODE = "context_length_exceeded"


class ScriptedChat:
    def __init__(
        self,
        calls: Mapping[str, Mapping[str, Any]],
        *,
        always: bool = False,
        cut: bool = False,
        refuse_over: int | None = None,
    ) -> None:
        self.calls = dict(calls)
        self.always = always
        self.cut = cut
        self.refuse_over = refuse_over
        self.bodies: list[dict[str, Any]] = []
        self._server: asyncio.Server | None = None
        self._count = 0

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aenter__(self) -> ScriptedChat:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = json.loads(await reader.readexactly(length))
            self.bodies.append(body)
            held = sum(len(json.dumps(m)) for m in body["messages"])
            if self.refuse_over is not None and held > self.refuse_over:
                error = json.dumps({"error": {"message": TOO_LONG, "code": TOO_LONG_CODE}})
                writer.write(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(error)}\r\nconnection: close\r\n\r\n".encode()
                    + error.encode()
                )
                await writer.drain()
                return
            chunks = self.answer(body)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
            )
            for chunk in chunks:
                writer.write(f"data: {json.dumps(chunk)}\n\n".encode())
                await writer.drain()
            if chunks[-1].get("usage"):  # a cut answer ends without usage and [DONE]
                writer.write(b"data: [DONE]\n\n")
                await writer.drain()
        finally:
            writer.close()

    def answer(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        messages = body["messages"]
        last = messages[-1]
        offered = {t["function"]["name"] for t in body.get("tools", ())}
        wanted = [n for n in self.calls if n in offered and n in str(last.get("content"))]
        if self.always and offered:
            wanted = list(self.calls)[:1]
        if last["role"] == "assistant" and not last.get("tool_calls"):
            return [_chunk({"content": " the rest."}), _chunk({}, "stop"), _usage()]
        if last["role"] == "tool" and not self.always:
            results = [m["content"] for m in messages if m["role"] == "tool"]
            if self.cut:
                self.cut = False
                return _text(f"The tool said: {results[-1]} and")[:-2]
            return _text(f"The tool said: {results[-1]}.")
        if wanted:
            self._count += 1
            return _tool_call(f"call_{self._count}", wanted[0], self.calls[wanted[0]])
        return _text("No tools needed.")


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage() -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "model": "scripted",
        "choices": [],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _text(text: str) -> list[dict[str, Any]]:
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    return [
        _chunk({"role": "assistant", "content": ""}),
        *(_chunk({"content": p}) for p in pieces),
        _chunk({}, "stop"),
        _usage(),
    ]


def _tool_call(call_id: str, name: str, arguments: Mapping[str, Any]) -> list[dict[str, Any]]:
    text = json.dumps(dict(arguments))
    half = len(text) // 2
    return [
        _chunk({"role": "assistant", "content": "Let me check."}),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": text[:half]},
                    }
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": text[half:]}}]}),
        _chunk({}, "tool_calls"),
        _usage(),
    ]
