"""Server-sent event streams, and `POST /v1/chat/completions` with `stream: true` over them.

The body is `Transfer-Encoding: chunked`, one HTTP chunk per write, so the write pattern a
scenario asks for (one byte, a split UTF-8 character) is visible on the wire and reaches clients.
h11 frames each chunk; a cut closes the socket mid-body, which h11 has no event for.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import overload

from streamdesk.mock.chat import Chat
from streamdesk.mock.http import HttpConnection
from streamdesk.mock.scenarios import MID_STREAM_FAULTS, STALL_SECONDS, STREAM_ERROR
from streamdesk.mock.stream import play

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"
_ids = itertools.count(1)


def split_utf8(data: bytes) -> list[bytes]:
    """Pieces of `data` cut right after the first byte of every multi-byte character."""
    pieces: list[bytes] = []
    last = 0
    for i, byte in enumerate(data):
        if byte >= 0xC0:
            pieces.append(data[last : i + 1])
            last = i + 1
    pieces.append(data[last:])
    return [p for p in pieces if p]


@dataclass(frozen=True, slots=True)
class SseFaults:
    """What a dialect's stream carries for the bad-json and error-event scenarios.

    Each is an event payload (field lines, see `SseSink`): a data line cut inside its JSON, and
    the dialect's own error event.
    """

    bad_json: str
    error: str


CHAT_FAULTS = SseFaults(
    bad_json='data: {"choices": [{"delta": {"content": "oops',
    error="data: " + json.dumps(STREAM_ERROR.body()),
)


def sse_event(name: str, data: object) -> str:
    """A named event's payload: `event:` and `data:` lines (compact JSON)."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}"


class SseSink:
    """Writes events to a chunked response body in the way the scenario asks for.

    A payload is one or more events as their field lines (`data: ...`, `event: ...`) joined by
    "\n", events separated by a blank line; the sink ends each line as the scenario asks
    (LF, CRLF or CR) and ends the event with a blank line.
    """

    def __init__(
        self, conn: HttpConnection, scenario: str, faults: SseFaults = CHAT_FAULTS
    ) -> None:
        self._conn = conn
        self._scenario = scenario
        self._faults = faults
        self._eol = {"crlf": "\r\n", "cr": "\r"}.get(scenario, "\n")
        self._prefix = f": keep-alive{self._eol}{self._eol}" if scenario == "keepalive" else ""
        self._started = False
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed or self._conn.closing

    def _frame(self, payload: str) -> str:
        eol = self._eol
        if eol != "\n":
            payload = payload.replace("\n", eol)
        return f"{self._prefix}{payload}{eol}{eol}"

    async def keepalive(self) -> None:
        """In the keepalive scenario, a comment right after the head, before any event."""
        if self._prefix:
            await self.write(self._prefix.encode())

    async def send(self, payloads: Sequence[str]) -> None:
        if payloads:
            await self.write("".join(map(self._frame, payloads)).encode())

    async def write(self, data: bytes) -> None:
        if self.closed:
            self._closed = True
            return
        if not self._started:
            self._started = True
            if self._scenario == "bom":
                data = BOM + data
        if self._scenario == "one-byte":
            for k in range(len(data)):
                await self._conn.write_chunk(data[k : k + 1])
        elif self._scenario == "split-utf8":
            for piece in split_utf8(data):
                await self._conn.write_chunk(piece)
        else:
            await self._conn.write_chunk(data)

    async def fault(self, scenario: str) -> bool:
        if scenario == "bad-json":
            await self.write(self._frame(self._faults.bad_json).encode())
            return True
        if scenario == "error-event":
            await self.send([self._faults.error])
            return False
        if scenario == "stall":
            await asyncio.sleep(STALL_SECONDS)
            return True
        if scenario == "truncate":
            return False  # the body ends properly, without the terminal event
        self._closed = True  # cut, ws-close-1011: drop the connection mid-body
        self._conn.cut()
        return False

    async def finish(self) -> None:
        if not self.closed:
            await self._conn.end_chunked()


@dataclass(frozen=True, slots=True)
class SseReply:
    """One dialect's stream for a planned chat: payloads in order, and the faults it carries."""

    request_id: str
    prelude: Sequence[str]  # sent with the first token
    events: Sequence[str]  # one per token, paced
    trailer: Sequence[str]  # after the last token, ending with the terminal event
    faults: SseFaults = CHAT_FAULTS
    head: Sequence[tuple[str, str]] = ()  # extra response headers


async def stream_sse(conn: HttpConnection, chat: Chat, reply: SseReply, keep_alive: bool) -> bool:
    """Write the response head and the paced event stream; False when the connection must close."""
    head = [
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-cache"),
        ("connection", "keep-alive" if keep_alive else "close"),
        *reply.head,
        ("x-mock-scenario", chat.scenario),
    ]
    await conn.start_chunked(200, head)
    sink = SseSink(conn, chat.scenario, reply.faults)
    await sink.keepalive()
    whole = await play(sink, reply.prelude, reply.events, reply.trailer, chat.pace, chat.scenario)
    await sink.finish()
    if not whole and chat.scenario not in MID_STREAM_FAULTS:  # Stop, or a cut to explain
        log.info(
            "mock: %s ended before its end (%d events): the connection was closing "
            "(the client went away or the transport failed)",
            reply.request_id,
            len(reply.events),
        )
    return not sink.closed


def _chunk_json(base: str, delta: str, finish: str = "null") -> str:
    choice = f'{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}'
    return f'data: {base}"choices":[{choice}]}}'


class LazyEvents(Sequence[str]):
    """Event payloads made from their tokens only when they are read (`play` slices them out as
    they fall due), so a reply of 50,000 tokens costs nothing up front on the loop it shares.

    Segments follow each other: each is a sequence of tokens and how one becomes a payload.
    """

    def __init__(self, *segments: tuple[Sequence[str], Callable[[str], str]]) -> None:
        self._segments = [segment for segment in segments if segment[0]]
        self._length = sum(len(tokens) for tokens, _ in self._segments)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            if step != 1:
                return [self._payload(i) for i in range(start, stop, step)]
            return self._run(start, stop)
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._payload(index)

    def _run(self, start: int, stop: int) -> list[str]:
        """Payloads `start` to `stop`, made segment by segment."""
        payloads: list[str] = []
        offset = 0
        for tokens, make in self._segments:
            end = offset + len(tokens)
            if start < end and offset < stop:
                payloads += map(make, tokens[max(start - offset, 0) : stop - offset])
            offset = end
        return payloads

    def _payload(self, index: int) -> str:
        for tokens, make in self._segments:
            if index < len(tokens):
                return make(tokens[index])
            index -= len(tokens)
        raise IndexError(index)


def _as_is(payload: str) -> str:
    return payload


def chat_reply(chat: Chat) -> SseReply:
    """Chat-completions chunks as `data:` events, ending with `data: [DONE]`; the token events
    are framed as they are sent (`LazyEvents`)."""
    cid = f"chatcmpl-mock{next(_ids)}"
    model = json.dumps(chat.model, ensure_ascii=False)
    base = (
        f'{{"id":"{cid}","object":"chat.completion.chunk","created":{int(time.time())},'
        f'"model":{model},"system_fingerprint":"fp_mock",'
    )

    def delta(field: str) -> Callable[[str], str]:
        """`_chunk_json` of one token's delta, cut around the token once for all of them."""
        head, tail = _chunk_json(base, f'{{"{field}":\0}}').split("\0")
        dumps = json.dumps

        def event(token: str) -> str:
            return head + dumps(token, ensure_ascii=False) + tail

        return event

    events = LazyEvents(
        (chat.reasoning, delta("reasoning_content")),
        (chat.content, delta("content")),
        (_tool_call_chunks(base, chat), _as_is),
    )
    trailer = [_chunk_json(base, "{}", f'"{chat.finish_reason}"')]
    if chat.include_usage:
        usage = json.dumps(chat.usage(), separators=(",", ":"))
        trailer.append(f'data: {base}"choices":[],"usage":{usage}}}')
    trailer.append("data: [DONE]")
    opening = '{"role":"assistant","content":null}' if chat.tool_calls else None
    prelude = [_chunk_json(base, opening or '{"role":"assistant","content":""}')]
    return SseReply(cid, prelude, events, trailer, head=[("x-request-id", cid)])


def _tool_call_chunks(base: str, chat: Chat) -> list[str]:
    """Each call as OpenAI streams it: its index, id and name with empty arguments, then one
    chunk per fragment of the arguments."""
    chunks = []
    for index, call in enumerate(chat.tool_calls):
        function = {"name": call.name, "arguments": ""}
        start = {"index": index, "id": f"call_{call.suffix}", "type": "function"}
        chunks.append(_tool_chunk(base, {**start, "function": function}))
        chunks += [
            _tool_chunk(base, {"index": index, "function": {"arguments": piece}})
            for piece in call.fragments
        ]
    return chunks


def _tool_chunk(base: str, call: dict[str, object]) -> str:
    delta = {"tool_calls": [call]}
    return _chunk_json(base, json.dumps(delta, ensure_ascii=False, separators=(",", ":")))


def _whole_tool_calls(chat: Chat) -> list[dict[str, object]]:
    """The calls of a whole chat-completions message."""
    return [
        {
            "id": f"call_{call.suffix}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_text},
        }
        for call in chat.tool_calls
    ]


def completion_json(chat: Chat) -> dict[str, object]:
    """The non-streaming answer (`stream` false): the whole reply in one JSON object."""
    message: dict[str, object] = {"role": "assistant", "content": "".join(chat.content)}
    if chat.reasoning:
        message["reasoning_content"] = "".join(chat.reasoning)
    if chat.tool_calls:
        message["content"] = None
        message["tool_calls"] = _whole_tool_calls(chat)
    return {
        "id": f"chatcmpl-mock{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model,
        "choices": [{"index": 0, "message": message, "finish_reason": chat.finish_reason}],
        "usage": chat.usage(),
    }
