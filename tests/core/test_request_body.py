"""A request's body: a long one is encoded on a worker thread, in pieces, to the same bytes.

`json.dumps` of a long conversation's body holds the GIL (and so the window's loop) for tens of
milliseconds in one C call; the transports encode a large body in short calls on a worker
thread. These tests prove the pieces make exactly the bytes one call would, for every dialect's
body and any nested JSON value, that no call gets a long string, that `ChatRequest.size` counts
everything that makes a body large, that a large body is built off the loop's thread, and that
it arrives whole over SSE and WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.attachment_files import png

from streamdesk.core.attachments import Attachment
from streamdesk.core.dialects import DIALECTS
from streamdesk.core.events import Done, ReasoningBlock, TextDelta, ToolCall
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts, ToolSpec
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports import _body
from streamdesk.core.transports._body import (
    LARGE_BODY_SIZE,
    PIECE_CHARS,
    encode_body,
    encode_in_pieces,
    encode_json,
)
from streamdesk.mock import MockServer

SHORT_PIECE = 8  # PIECE_CHARS in the property tests, so that short strings are sliced
KEYS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=12)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(), inner, max_size=12)
        | st.dictionaries(KEYS, inner, max_size=3)
    ),
    max_leaves=40,
)
PNG = Attachment("dot.png", "image/png", png(2, 2), 2, 2)


def long_request(chars: int) -> ChatRequest:
    """A conversation of about `chars` characters, with non-ASCII text, an image and a tool."""
    turn = 'Ünïcode ✓ "quoted" and \\ back-slashed\n' * 20
    messages: list[Message] = []
    while sum(len(m.content) for m in messages) < chars:
        messages += [Message("user", turn), Message("assistant", turn[::-1])]
    messages.append(Message("user", "and now?", attachments=(PNG,)))
    tool = ToolSpec("clock", "What time it is", {"type": "object", "properties": {}})
    return ChatRequest("gpt-4.1", tuple(messages), max_tokens=64, temperature=0.5, tools=(tool,))


def tool_round(
    arguments: str = '{"zone": "Europe/Paris"}',
    reasoning: tuple[ReasoningBlock, ...] = (
        ReasoningBlock("hm", "sig"),
        ReasoningBlock(redacted="x"),
    ),
    call: ToolCall | None = None,
) -> list[Message]:
    """An assistant turn that thought and called a tool, and the tool's answer."""
    call = call or ToolCall(0, "call-1", "clock", json.loads(arguments), arguments_text=arguments)
    return [
        Message("assistant", "", tool_calls=(call,), reasoning_blocks=reasoning),
        Message("tool", "12:00", tool_call_id="call-1", name="clock"),
    ]


def bodies(request: ChatRequest) -> Iterator[dict[str, Any]]:
    """`request`'s body in every shape it is sent in."""
    yield request.openai_body()
    yield request.websocket_message()
    for dialect in DIALECTS.values():
        yield dialect.request_body(request)


def string_chars(value: object) -> int:
    """Characters of the strings (keys included) in a JSON value."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(string_chars(key) + string_chars(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return sum(string_chars(item) for item in value)
    return 0


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), JSON_VALUES, max_size=6) | JSON_VALUES)
def test_the_pieces_make_the_bytes_one_call_makes(payload: Any) -> None:
    with mock.patch.object(_body, "PIECE_CHARS", SHORT_PIECE):
        assert encode_in_pieces(payload) == encode_json(payload)


def test_long_strings_are_sliced_to_the_bytes_one_call_makes() -> None:
    text = 'Ünïcode ✓ 😀 "quoted" \\ tab\t nul\x00 line\n' * 20_000
    assert len(text) > 10 * PIECE_CHARS
    payload = {"a": text, text: [text, 1, {"b": text[1:]}], "n": [None, True, 1.5] * 10_000}
    assert encode_in_pieces(payload) == json.dumps(payload, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    "payload",
    [{1: [1]}, {True: 1, None: 2}, {1.5: "x", float("inf"): 0}, {"m": [{2: "y"}], 3: {4: 5}}],
)
def test_keys_that_are_not_strings_are_written_as_json_writes_them(payload: Any) -> None:
    assert encode_in_pieces(payload) == json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_no_call_gets_more_than_a_piece_of_a_long_message_or_tool_round() -> None:
    long_file = 'ünïcode line with "quotes" and \\ slashes\n' * 25_000
    arguments = json.dumps({"path": "notes.md", "content": long_file})
    reasoning = (ReasoningBlock(long_file, long_file), ReasoningBlock(redacted=long_file))
    messages = [Message("user", long_file * 2), *tool_round(arguments, reasoning)]
    request = ChatRequest("m", tuple(messages), reasoning=True)
    seen: list[int] = []

    def encode_json_counted(value: object) -> bytes:
        seen.append(string_chars(value))
        return encode_json(value)

    for body in bodies(request):
        with mock.patch.object(_body, "encode_json", encode_json_counted):
            pieces = encode_in_pieces(body)
        assert pieces == encode_json(body)
    assert max(seen) <= PIECE_CHARS, max(seen)


@pytest.mark.parametrize("piece_chars", [SHORT_PIECE, PIECE_CHARS])
def test_every_dialects_body_encodes_the_same_in_pieces(piece_chars: int) -> None:
    request = long_request(2_000)
    request = ChatRequest(
        request.model, (*request.messages, *tool_round()), tools=request.tools, reasoning=True
    )
    for body in bodies(request):
        with mock.patch.object(_body, "PIECE_CHARS", piece_chars):
            pieces = encode_in_pieces(body)
        assert pieces == json.dumps(body, ensure_ascii=False).encode("utf-8")


LARGE_TEXT = "x" * LARGE_BODY_SIZE
LARGE_PARTS = {
    "tool call arguments": tool_round(json.dumps({"content": LARGE_TEXT})),
    "tool call arguments without their text": tool_round(
        call=ToolCall(0, "call-1", "clock", {"content": LARGE_TEXT})
    ),
    "thinking": tool_round(reasoning=(ReasoningBlock(LARGE_TEXT, "sig"),)),
    "thinking signature": tool_round(reasoning=(ReasoningBlock("hm", LARGE_TEXT),)),
    "redacted thinking": tool_round(reasoning=(ReasoningBlock(redacted=LARGE_TEXT),)),
}


@pytest.mark.parametrize("part", [*LARGE_PARTS, "tool schemas"])
def test_the_size_counts_tool_calls_reasoning_and_tool_schemas(part: str) -> None:
    messages = (Message("user", "hi"), *LARGE_PARTS.get(part, []))
    tools: tuple[ToolSpec, ...] = ()
    if part == "tool schemas":
        field = {"type": "string", "description": "d" * 1000}
        properties = {f"field{n}": field for n in range(300)}
        tools = (ToolSpec("form", "Fill it in", {"type": "object", "properties": properties}),)
    request = ChatRequest("m", messages, tools=tools, reasoning=True)
    assert request.size >= LARGE_BODY_SIZE
    assert request.size <= max(len(encode_json(body)) for body in bodies(request))


@pytest.mark.asyncio
async def test_a_large_body_is_built_on_a_worker_thread_and_a_small_one_in_place() -> None:
    threads: list[int] = []

    def build(request: ChatRequest) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return request.openai_body()

    large, small = long_request(LARGE_BODY_SIZE), long_request(1_000)
    assert large.size >= LARGE_BODY_SIZE > small.size
    assert await encode_body(large, lambda: build(large)) == encode_json(large.openai_body())
    assert await encode_body(small, lambda: build(small)) == encode_json(small.openai_body())
    loop_thread = threading.get_ident()
    assert threads[0] != loop_thread
    assert threads[1] == loop_thread


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_a_large_request_arrives_whole_and_is_answered(protocol: str) -> None:
    request = long_request(LARGE_BODY_SIZE * 2)
    async with MockServer(tokens_per_second=0, first_token_delay=0, reply_tokens=8) as mock:
        quick = Timeouts(connect=5.0, first_token=20.0, stall=20.0)
        endpoint = Endpoint(mock.sse_base_url, mock.ws_url, timeouts=quick, proxy="")
        transport = make_transport(protocol, endpoint)
        try:
            events = [e async for e in stream_chat(transport, request, timeouts=quick)]
        finally:
            await transport.aclose()
        sent = request.openai_body() if protocol == "sse" else request.websocket_message()
        assert json.loads(mock.requests[-1].body) == sent
    assert isinstance(events[-1], Done), events[-1]
    assert "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.asyncio
async def test_a_websocket_body_is_encoded_while_the_connection_opens() -> None:
    built = asyncio.Event()

    class Watched(ChatRequest):
        def websocket_message(self) -> dict[str, Any]:
            built.set()
            return ChatRequest.websocket_message(self)

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # the handshake never gets an answer
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = make_transport("ws", Endpoint("", f"ws://127.0.0.1:{port}/ws", proxy=""))
    request = Watched("m", (Message("user", "hi"),))

    async def first_event() -> object:
        async for event in transport.stream(request, StreamTrace()):
            return event
        return None

    streaming = asyncio.ensure_future(first_event())
    try:
        await asyncio.wait_for(built.wait(), 10)
        assert not streaming.done()
    finally:
        streaming.cancel()
        await asyncio.gather(streaming, return_exceptions=True)
        await transport.aclose()
        server.close()
