"""Whatever a server sends, the protocol layer gives events or one failure, never another exception.

Random bytes, random splits, JSON nested past the parser's depth, huge numbers and values of
every type go through the SSE decoder with the chunk interpreter, and through the WebSocket
frame interpreter, the way the transports drive them.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamdesk.core.errors import StreamError
from streamdesk.core.events import Done, ReasoningDelta, StreamEvent, TextDelta, Usage
from streamdesk.core.openai_chunks import ChunkInterpreter
from streamdesk.core.sse import SSEDecoder
from streamdesk.core.ws_frames import FrameInterpreter

EVENT_TYPES = (TextDelta, ReasoningDelta, Usage, Done)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["", "[DONE]", "content.delta", "usage", "error", "\ud800", "\u2028"]),
)
_KEYS = ["type", "delta", "content", "reasoning_content", "choices", "usage", "error"]
_KEYS += ["prompt_tokens", "completion_tokens", "finish_reason", "message", "code", "retry_after"]
_json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def hostile_payloads(draw: st.DrawFn) -> bytes:
    """One event's or frame's payload: random JSON, broken JSON, deep nesting, huge numbers."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=40))
    if kind == 1:
        depth = draw(st.sampled_from([10, 900, 1000, 5000, 100_000]))
        opener = draw(st.sampled_from([b"[", b'{"a":', b'{"choices":[{"delta":{"content":']))
        return opener * depth if draw(st.booleans()) else opener + b"[" * depth
    if kind == 2:
        digits = draw(st.sampled_from([20, 4000, 4300, 5000]))
        key = draw(st.sampled_from([b"prompt_tokens", b"completion_tokens"]))
        shape = draw(st.sampled_from([b'{"choices":[],"usage":{', b'{"type":"usage","usage":{']))
        return shape + b'"' + key + b'":' + b"9" * digits + b"}}"
    text = json.dumps(draw(_json_values), ensure_ascii=draw(st.booleans()), allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def hostile_streams(draw: st.DrawFn) -> bytes:
    parts = draw(
        st.lists(
            st.one_of(
                hostile_payloads().map(lambda payload: b"data: " + payload + b"\n\n"),
                st.binary(max_size=30),
                st.sampled_from([b"\r", b"\n", b"\r\n", b": hi\n", b"event: error\n", b"data:"]),
            ),
            max_size=8,
        )
    )
    return b"".join(parts)


def splits(data: st.DataObject, stream: bytes) -> list[bytes]:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


def assert_sound(event: StreamEvent | None) -> None:
    """An event of the vocabulary, with text any file or terminal can take."""
    if event is None:
        return
    assert isinstance(event, EVENT_TYPES), event
    if isinstance(event, TextDelta | ReasoningDelta):
        event.text.encode("utf-8")
    if isinstance(event, Usage):
        assert 0 <= event.prompt_tokens < 10**13 and 0 <= event.completion_tokens < 10**13


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=hostile_streams(), limit=st.sampled_from([64, 1024, 16 * 1024 * 1024]), data=st.data()
)
def test_sse_decoder_and_chunk_interpreter_give_events_or_one_failure(
    stream: bytes, limit: int, data: st.DataObject
) -> None:
    decoder, interpreter = SSEDecoder(max_event_bytes=limit), ChunkInterpreter()
    try:
        for chunk in splits(data, stream):
            for sse in decoder.feed(chunk):
                for event in interpreter.interpret(sse):
                    assert_sound(event)
        decoder.close()
    except StreamError:
        pass  # the one failure of the stream: the transport stops here


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(st.one_of(hostile_payloads(), hostile_payloads().map(repr)), max_size=6))
def test_frame_interpreter_gives_events_or_one_failure(frames: list[bytes | str]) -> None:
    interpreter = FrameInterpreter("ws://127.0.0.1:1/v1/ws/chat")
    try:
        for raw in frames:
            for event in interpreter.interpret(raw):
                assert_sound(event)
    except StreamError:
        pass
