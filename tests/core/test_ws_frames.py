"""WebSocket protocol frames become core events; error frames and bad frames become failures."""

from __future__ import annotations

import json

import pytest

from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    FailureKind,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from streamdesk.core.ws_frames import MAX_MESSAGE_BYTES, FrameInterpreter

URL = "ws://api.example.com/v1/ws/chat"


def frame(kind: str, **fields: object) -> bytes:
    return json.dumps({"type": kind, **fields}).encode()


def failure(raw: bytes | str, interpreter: FrameInterpreter | None = None) -> StreamError:
    with pytest.raises(StreamError) as caught:
        (interpreter or FrameInterpreter(URL)).interpret(raw)
    return caught.value


def test_every_frame_type_becomes_its_event() -> None:
    interpreter = FrameInterpreter(URL)
    frames = [
        frame("reasoning.delta", delta="think"),
        frame("content.delta", delta="Hel"),
        frame("content.delta", delta=""),
        frame("content.delta", delta="lo"),
        frame("future.thing", anything=[1, 2]),
        frame("usage", usage={"prompt_tokens": 3, "completion_tokens": 2}),
        frame("completion.done", finish_reason="stop"),
    ]
    events = [interpreter.interpret(raw) for raw in frames]
    assert events == [
        [ReasoningDelta("think")],
        [TextDelta("Hel")],
        [],
        [TextDelta("lo")],
        [],
        [Usage(3, 2)],
        [Done("stop")],
    ]
    assert interpreter.frames_seen == len(frames)
    assert FrameInterpreter(URL).interpret(frame("completion.done")) == [Done(None)]
    text = FrameInterpreter(URL).interpret('{"type":"content.delta","delta":"x"}')
    assert text == [TextDelta("x")]


def test_the_message_cap_is_16_mib() -> None:
    assert MAX_MESSAGE_BYTES == 16 * 1024 * 1024


def test_an_error_frame_before_the_first_token_reads_like_its_http_status() -> None:
    error = failure(frame("error", error={"message": "Slow down", "code": 429, "retry_after": 2}))
    assert error.kind is FailureKind.RATE_LIMITED
    assert error.retry_after == 2


def test_an_error_frame_after_a_token_reads_as_sent_mid_stream() -> None:
    interpreter = FrameInterpreter(URL)
    interpreter.interpret(frame("content.delta", delta="x"))
    assert interpreter.started
    error = failure(frame("error", error={"message": "Overloaded", "code": 503}), interpreter)
    assert error.kind is FailureKind.SERVER_ERROR
    assert "mid-stream" in error.message and "Overloaded" in error.message


def test_an_error_frame_without_a_status_is_a_server_error() -> None:
    error = failure(frame("error", error="the model crashed"))
    assert error.kind is FailureKind.SERVER_ERROR
    assert error.message == (
        "api.example.com reported an error during the reply: the model crashed"
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe\x80",
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"no_type": 1}',
        b"[" * 100_000,
        b'{"type":"content.delta","delta":' + b"[" * 100_000,
        frame("content.delta", delta=5),
        frame("content.delta", delta={"text": "x"}),
        frame("reasoning.delta", delta=["x"]),
        frame("usage", usage=[1]),
        frame("usage", usage="12"),
        frame("usage", usage={"prompt_tokens": "12"}),
        frame("usage", usage={"prompt_tokens": 1.5}),
        frame("usage", usage={"prompt_tokens": True}),
        frame("usage", usage={"prompt_tokens": -1}),
        b'{"type":"usage","usage":{"completion_tokens":' + b"9" * 4000 + b"}}",
        b'{"type":"usage","usage":{"completion_tokens":' + b"9" * 5000 + b"}}",
        b'{"type":"usage","usage":{"completion_tokens":NaN}}',
        frame("completion.done", finish_reason=1),
        frame("tool_call.delta", arguments="{"),
        frame("tool_call.delta", index="0", arguments="{"),
        frame("tool_call.delta", index=True, arguments="{"),
        frame("tool_call.delta", index=0, arguments=["{"]),
        frame("tool_call.delta", index=0, name=7),
        b'{"type":"error","error":' + b"[" * 100_000 + b"}",
    ],
)
def test_a_frame_of_the_wrong_shape_is_a_bad_response_quoting_it(raw: bytes) -> None:
    error = failure(raw)
    assert error.kind is FailureKind.BAD_RESPONSE
    assert error.message.startswith(
        "api.example.com sent a frame that is not a protocol message: “"
    )
    assert error.message.endswith("”.") and len(error.message) < 250


def test_lone_surrogates_in_a_delta_become_replacement_characters() -> None:
    events = FrameInterpreter(URL).interpret(rb'{"type":"content.delta","delta":"a\ud800"}')
    assert events == [TextDelta("a\ufffd\ufffd\ufffd")]


def tool_frames(*fragments: tuple[int, str, str, str]) -> list[bytes]:
    return [
        frame("tool_call.delta", index=i, id=call_id, name=name, arguments=arguments)
        for i, call_id, name, arguments in fragments
    ]


def test_tool_call_frames_stream_deltas_then_whole_calls_before_done() -> None:
    interpreter = FrameInterpreter(URL)
    frames = tool_frames(
        (0, "call_a", "add", ""),
        (1, "call_b", "read_note", '{"ti'),
        (0, "", "", '{"a": 2,'),
        (1, "", "", 'tle": "x"}'),
        (0, "", "", ' "b": 3}'),
    )
    frames += [frame("usage", usage={"prompt_tokens": 3}), frame("completion.done")]
    events = [event for raw in frames for event in interpreter.interpret(raw)]
    assert events[:5] == [
        ToolCallDelta(0, "call_a", "add", ""),
        ToolCallDelta(1, "call_b", "read_note", '{"ti'),
        ToolCallDelta(0, "call_a", "add", '{"a": 2,'),
        ToolCallDelta(1, "call_b", "read_note", 'tle": "x"}'),
        ToolCallDelta(0, "call_a", "add", ' "b": 3}'),
    ]
    assert interpreter.started
    assert events[5:] == [
        Usage(3, 0),
        ToolCall(0, "call_a", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}'),
        ToolCall(1, "call_b", "read_note", {"title": "x"}, '{"title": "x"}'),
        Done("tool_calls"),
    ]


def test_tool_call_arguments_that_are_not_json_fail_the_call_not_the_stream() -> None:
    interpreter = FrameInterpreter(URL)
    frames = [*tool_frames((0, "c", "add", '{"a": 2')), frame("completion.done")]
    events = [event for raw in frames for event in interpreter.interpret(raw)]
    call, done = events[-2:]
    assert isinstance(call, ToolCall) and done == Done("tool_calls")
    assert call.arguments == {} and call.arguments_text == '{"a": 2'
    assert "not valid JSON" in call.error and '{"a": 2' in call.error


def test_a_length_cut_tool_call_keeps_the_length_reason() -> None:
    interpreter = FrameInterpreter(URL)
    frames = [*tool_frames((0, "c", "add", "{")), frame("completion.done", finish_reason="length")]
    events = [event for raw in frames for event in interpreter.interpret(raw)]
    assert events[-1] == Done("length") and isinstance(events[-2], ToolCall)
