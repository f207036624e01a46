"""A request's body: a long one is encoded on a worker thread, in pieces, to the same bytes.

`json.dumps` of a long conversation's body holds the GIL (and so the window's loop) for tens of
milliseconds in one C call; the transports encode a large body item by item on a worker thread.
These tests prove the pieces make exactly the bytes one call would, for every dialect's body,
that a large body is built off the loop's thread, and that it arrives whole over SSE and WebSocket.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.attachment_files import png

from streamdesk.core.attachments import Attachment
from streamdesk.core.dialects import DIALECTS
from streamdesk.core.events import Done, TextDelta
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts, ToolSpec
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.core.transports._body import (
    LARGE_BODY_SIZE,
    encode_body,
    encode_in_pieces,
    encode_json,
)
from streamdesk.mock import MockServer

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
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


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), JSON_VALUES, max_size=6))
def test_the_pieces_make_the_bytes_one_call_makes(payload: dict[str, Any]) -> None:
    assert encode_in_pieces(payload) == encode_json(payload)


@pytest.mark.parametrize("api", ["chat", "ws", *DIALECTS])
def test_every_dialects_body_encodes_the_same_in_pieces(api: str) -> None:
    request = long_request(2_000)
    if api == "chat":
        body = request.openai_body()
    elif api == "ws":
        body = request.websocket_message()
    else:
        body = DIALECTS[api].request_body(request)
    assert encode_in_pieces(body) == json.dumps(body, ensure_ascii=False).encode("utf-8")


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
