"""Anthropic Messages events become core events; its error events become failures of their kind."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamdesk.core.dialects import Interpreter
from streamdesk.core.dialects.anthropic import (
    AnthropicInterpreter,
    auth_headers,
    request_body,
    request_path,
)
from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    FailureKind,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from streamdesk.core.request import ChatRequest, Message, ToolSpec
from streamdesk.core.sse import ServerSentEvent

Feed = Callable[[Interpreter, bytes, Sequence[int]], list[StreamEvent]]  # the `wire` fixture


def frame(kind: str, **fields: object) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n"


def delta(index: int, **fields: object) -> str:
    return frame("content_block_delta", index=index, delta=fields)


MESSAGE_START = frame(
    "message_start",
    message={
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-sonnet-4-5",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 25,
            "cache_creation_input_tokens": 3,
            "cache_read_input_tokens": 10,
            "output_tokens": 1,
        },
    },
)
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
BODY = (
    frame("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""})
    + delta(0, type="thinking_delta", thinking="Let me think")
    + delta(0, type="signature_delta", signature="EqQBCgIYAhIM1gbcDa9GJwZA")
    + frame("content_block_stop", index=0)
    + frame("content_block_start", index=1, content_block={"type": "text", "text": ""})
    + frame("ping")
    + delta(1, type="text_delta", text="Hello")
    + delta(1, type="text_delta", text=", 世界 🙂")
    + frame("content_block_stop", index=1)
    + frame("content_block_start", index=2, content_block=TOOL_USE)
    + delta(2, type="input_json_delta", partial_json="")
    + delta(2, type="input_json_delta", partial_json='{"city": "Par')
    + delta(2, type="input_json_delta", partial_json='is"}')
    + frame("content_block_stop", index=2)
    + frame(
        "message_delta",
        delta={"stop_reason": "tool_use", "stop_sequence": None},
        usage={"output_tokens": 15},
    )
)
MESSAGE_STOP = frame("message_stop")
STREAM = (MESSAGE_START + BODY + MESSAGE_STOP).encode()
EXPECTED = [
    ReasoningDelta("Let me think"),
    ReasoningBlock("Let me think", "EqQBCgIYAhIM1gbcDa9GJwZA"),
    TextDelta("Hello"),
    TextDelta(", 世界 🙂"),
    ToolCallDelta(0, "toolu_1", "get_weather", ""),
    ToolCallDelta(0, "toolu_1", "get_weather", '{"city": "Par'),
    ToolCallDelta(0, "toolu_1", "get_weather", 'is"}'),
    ToolCall(0, "toolu_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}'),
    Usage(38, 15, cached_tokens=10),
    Done("tool_calls"),
]


def run(*frames: str) -> list[object]:
    interpreter = AnthropicInterpreter()
    return [
        event for text in frames for sse in _events_of(text) for event in interpreter.interpret(sse)
    ]


def _events_of(text: str) -> list[ServerSentEvent]:
    kind, _, data = text.removeprefix("event: ").rstrip("\n").partition("\ndata: ")
    return [ServerSentEvent(data, kind)]


def failure(*frames: str) -> StreamError:
    with pytest.raises(StreamError) as caught:
        run(*frames)
    return caught.value


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(0, len(STREAM)), max_size=20))
def test_a_stream_in_any_chunking_gives_thinking_text_usage_then_done(
    wire: Feed, cuts: list[int]
) -> None:
    interpreter = AnthropicInterpreter()
    assert wire(interpreter, STREAM, cuts) == EXPECTED
    assert interpreter.done
    assert interpreter.events_seen == STREAM.count(b"\n\n")


def test_crlf_line_ends_and_one_byte_chunks(wire: Feed) -> None:
    stream = STREAM.replace(b"\n", b"\r\n")
    assert wire(AnthropicInterpreter(), stream, range(len(stream))) == EXPECTED


def test_without_message_stop_there_is_no_done(wire: Feed) -> None:
    """The transport calls that a cut."""
    interpreter = AnthropicInterpreter()
    events = wire(interpreter, (MESSAGE_START + BODY).encode(), ())
    assert events == EXPECTED[:-2]
    assert not interpreter.done
    assert interpreter.events_seen > 0


def test_nothing_after_message_stop_belongs_to_the_reply() -> None:
    events = run(MESSAGE_START, MESSAGE_STOP, delta(0, type="text_delta", text="late"))
    assert events == [Usage(38, 1, cached_tokens=10), Done(None)]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "refusal"),
        ("pause_turn", "pause_turn"),
        (None, None),
    ],
)
def test_stop_reasons_in_openai_words(stop_reason: str | None, finish: str | None) -> None:
    events = run(frame("message_delta", delta={"stop_reason": stop_reason}), MESSAGE_STOP)
    assert events == [Done(finish)]


def test_message_delta_usage_updates_the_counts_it_carries() -> None:
    later = {"output_tokens": 40, "input_tokens": 30, "cache_read_input_tokens": None}
    events = run(MESSAGE_START, frame("message_delta", delta={}, usage=later), MESSAGE_STOP)
    assert events == [Usage(43, 40, cached_tokens=10), Done(None)]


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [
        ("overloaded_error", FailureKind.SERVER_ERROR),
        ("api_error", FailureKind.SERVER_ERROR),
        ("rate_limit_error", FailureKind.RATE_LIMITED),
        ("authentication_error", FailureKind.AUTHENTICATION),
        ("permission_error", FailureKind.PERMISSION),
        ("not_found_error", FailureKind.NOT_FOUND),
        ("invalid_request_error", FailureKind.BAD_REQUEST),
        ("request_too_large", FailureKind.BAD_REQUEST),
        ("some_new_error", FailureKind.SERVER_ERROR),
    ],
)
def test_error_events_fail_with_their_kind_quoting_the_message(
    error_type: str, kind: FailureKind
) -> None:
    error = failure(
        MESSAGE_START,
        delta(0, type="text_delta", text="Hel"),
        frame("error", error={"type": error_type, "message": "Overloaded."}),
    )
    assert error.kind is kind
    assert "Overloaded" in error.message
    assert error_type in error.message


def test_an_error_event_that_is_not_json_is_a_server_error() -> None:
    with pytest.raises(StreamError) as caught:
        AnthropicInterpreter().interpret(ServerSentEvent("upstream died", "error"))
    assert caught.value.kind is FailureKind.SERVER_ERROR
    assert "upstream died" in caught.value.message


@pytest.mark.parametrize(
    "data",
    [
        "<html>502 Bad Gateway</html>",
        "[1, 2]",
        json.dumps({"type": "content_block_delta", "delta": "text"}),
        json.dumps({"type": "content_block_delta", "delta": {"type": "text_delta", "text": 5}}),
        json.dumps({"type": "content_block_delta"}),
        json.dumps({"type": "message_start", "message": []}),
        json.dumps({"type": "message_start", "message": {"usage": {"input_tokens": "25"}}}),
        json.dumps({"type": "message_start", "message": {"usage": [25]}}),
        json.dumps({"type": "message_delta", "delta": {"stop_reason": 1}}),
        json.dumps({"type": "message_delta", "delta": {}, "usage": {"output_tokens": -1}}),
        '{"type":"message_delta","delta":{},"usage":{"output_tokens":1e3}}',
        '{"type":"content_block_delta","delta":' + "[" * 100_000 + "}",
    ],
)
def test_data_of_the_wrong_shape_is_a_bad_response(data: str) -> None:
    with pytest.raises(StreamError) as caught:
        AnthropicInterpreter().interpret(ServerSentEvent(data, "content_block_delta"))
    assert caught.value.kind is FailureKind.BAD_RESPONSE
    assert caught.value.message.startswith("Malformed stream data from the server: ")
    assert len(caught.value.message) < 200


def test_unknown_events_and_delta_types_are_ignored() -> None:
    assert (
        run(
            frame(
                "content_block_delta", index=0, delta={"type": "citations_delta", "citation": {}}
            ),
            frame("brand_new_event", anything=[1, 2]),
            frame("content_block_start", index=0, content_block={"type": "redacted_thinking"}),
        )
        == []
    )


def test_request_body_puts_system_on_top_and_requires_max_tokens() -> None:
    request = ChatRequest(
        "claude-sonnet-4-5",
        (
            Message("system", "Be brief."),
            Message("system", "Answer in French."),
            Message("user", "Hi"),
        ),
    )
    assert request_body(request) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
        "system": "Be brief.\n\nAnswer in French.",
    }


def test_request_body_options_and_a_prefill_to_continue() -> None:
    request = ChatRequest(
        "claude-haiku-4-5",
        (Message("user", "Count"), Message("assistant", "1, 2, ")),
        max_tokens=100,
        temperature=0.5,
        continuation="assistant",
    )
    assert request_body(request) == {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Count"},
            {"role": "assistant", "content": "1, 2,"},  # the API refuses trailing whitespace
        ],
        "stream": True,
        "temperature": 0.5,
    }


def test_path_and_headers() -> None:
    assert request_path("claude-sonnet-4-5") == "/messages"
    assert auth_headers("sk-ant-test") == {
        "x-api-key": "sk-ant-test",
        "anthropic-version": "2023-06-01",
    }


def tool_block(index: int, call_id: str, name: str, **extra: object) -> str:
    block = {"type": "tool_use", "id": call_id, "name": name, "input": {}, **extra}
    return frame("content_block_start", index=index, content_block=block)


def test_parallel_tool_use_blocks_are_numbered_from_zero_and_finish_at_their_stop() -> None:
    events = run(
        frame("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        delta(0, type="text_delta", text="Both."),
        frame("content_block_stop", index=0),
        tool_block(1, "toolu_a", "add"),
        delta(1, type="input_json_delta", partial_json='{"a": 2, "b": 3}'),
        frame("content_block_stop", index=1),
        tool_block(2, "toolu_b", "read_note"),
        delta(2, type="input_json_delta", partial_json='{"title": "x"'),
        frame("message_delta", delta={"stop_reason": "tool_use"}),
        MESSAGE_STOP,
    )
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.index, c.call_id, c.name) for c in calls] == [
        (0, "toolu_a", "add"),
        (1, "toolu_b", "read_note"),
    ]
    assert calls[0].arguments == {"a": 2, "b": 3} and not calls[0].error
    assert events.index(calls[0]) < events.index(ToolCallDelta(1, "toolu_b", "read_note", ""))
    assert "not valid JSON" in calls[1].error  # never stopped, finished before Done
    assert events[-1] == Done("tool_calls")


def test_a_tool_use_block_with_its_input_whole_and_no_deltas() -> None:
    events = run(
        tool_block(0, "toolu_a", "add", input={"a": 1}),
        frame("content_block_stop", index=0),
        MESSAGE_STOP,
    )
    assert events[1:] == [ToolCall(0, "toolu_a", "add", {"a": 1}, '{"a": 1}'), Done("tool_calls")]


def test_results_and_a_prompt_after_them_make_one_user_turn_calls_are_tool_use() -> None:
    call = ToolCall(0, "call.1", "add", {"a": 2}, '{"a": 2}')
    other = ToolCall(1, "toolu_2", "read_note", {"title": "x"}, '{"title": "x"}')
    request = ChatRequest(
        "claude",
        (
            Message("user", "add 2"),
            Message("assistant", "Adding.", tool_calls=(call, other)),
            Message("tool", "4", tool_call_id="call.1", name="add"),
            Message(
                "tool", "no such note", tool_call_id="toolu_2", name="read_note", is_error=True
            ),
            Message("user", "thanks"),
        ),
        tools=(ToolSpec("add", "Adds", {"type": "object", "properties": {}}), ToolSpec("x")),
    )
    body = request_body(request)
    assert body["tools"] == [
        {
            "name": "add",
            "description": "Adds",
            "input_schema": {"type": "object", "properties": {}},
        },
        {"name": "x", "input_schema": {"type": "object"}},
    ]
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Adding."},
                {"type": "tool_use", "id": "call_1", "name": "add", "input": {"a": 2}},
                {"type": "tool_use", "id": "toolu_2", "name": "read_note", "input": {"title": "x"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "4"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": "no such note",
                    "is_error": True,
                },
                {"type": "text", "text": "thanks"},
            ],
        },
    ]


REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
THINKING = (
    MESSAGE_START
    + frame(
        "content_block_start",
        index=0,
        content_block={"type": "redacted_thinking", "data": REDACTED},
    )
    + frame("content_block_stop", index=0)
    + frame(
        "content_block_start",
        index=1,
        content_block={"type": "thinking", "thinking": "", "signature": ""},
    )
    + delta(1, type="thinking_delta", thinking="I should ")
    + delta(1, type="thinking_delta", thinking="add them, 二 + 三.")
    + delta(1, type="signature_delta", signature="EqQBCgIY")
    + delta(1, type="signature_delta", signature="AhIM1gbc")
    + frame("content_block_stop", index=1)
    + tool_block(2, "toolu_a", "add", input={"a": 2, "b": 3})
    + frame("content_block_stop", index=2)
    + frame("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 9})
    + MESSAGE_STOP
).encode()
THOUGHTS = [
    ReasoningBlock(redacted=REDACTED),
    ReasoningBlock("I should add them, 二 + 三.", "EqQBCgIYAhIM1gbc"),
]


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(0, len(THINKING)), max_size=20))
def test_thinking_blocks_come_whole_with_their_signatures_in_any_chunking(
    wire: Feed, cuts: list[int]
) -> None:
    events = wire(AnthropicInterpreter(), THINKING, cuts)
    assert events == [
        THOUGHTS[0],
        ReasoningDelta("I should "),
        ReasoningDelta("add them, 二 + 三."),
        THOUGHTS[1],
        ToolCallDelta(0, "toolu_a", "add", ""),
        ToolCall(0, "toolu_a", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}'),
        Usage(38, 9, cached_tokens=10),
        Done("tool_calls"),
    ]


def test_a_thinking_block_never_stopped_ends_before_the_calls_at_message_stop() -> None:
    events = run(
        frame("content_block_start", index=0, content_block={"type": "thinking", "thinking": "Hm"}),
        delta(0, type="signature_delta", signature="sig"),
        tool_block(1, "toolu_a", "add"),
        delta(1, type="input_json_delta", partial_json='{"a": 1}'),
        MESSAGE_STOP,
    )
    assert events == [
        ReasoningDelta("Hm"),
        ToolCallDelta(0, "toolu_a", "add", ""),
        ToolCallDelta(0, "toolu_a", "add", '{"a": 1}'),
        ReasoningBlock("Hm", "sig"),
        ToolCall(0, "toolu_a", "add", {"a": 1}, '{"a": 1}'),
        Done("tool_calls"),
    ]


ADD = ToolCall(0, "toolu_a", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}')
ROUND = (
    Message("user", "add 2 and 3"),
    Message("assistant", "Adding.", tool_calls=(ADD,), reasoning_blocks=tuple(THOUGHTS)),
    Message("tool", "5", tool_call_id="toolu_a", name="add"),
)


def test_the_reasoning_blocks_go_first_in_the_assistant_message_of_their_calls() -> None:
    body = request_body(ChatRequest("claude", ROUND, reasoning=True))
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "redacted_thinking", "data": REDACTED},
            {
                "type": "thinking",
                "thinking": "I should add them, 二 + 三.",
                "signature": "EqQBCgIYAhIM1gbc",
            },
            {"type": "text", "text": "Adding."},
            {"type": "tool_use", "id": "toolu_a", "name": "add", "input": {"a": 2, "b": 3}},
        ],
    }


def test_without_thinking_the_reasoning_blocks_stay_out() -> None:
    with_blocks = request_body(ChatRequest("claude", ROUND))
    without = request_body(
        ChatRequest(
            "claude", (ROUND[0], Message("assistant", "Adding.", tool_calls=(ADD,)), ROUND[2])
        )
    )
    assert with_blocks == without
    assert [b["type"] for b in with_blocks["messages"][1]["content"]] == ["text", "tool_use"]
