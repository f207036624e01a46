"""OpenAI chat-completions chunks become core events; errors and bad data become failures."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from streamdesk.core.openai_chunks import ChunkInterpreter, empty_reply
from streamdesk.core.sse import ServerSentEvent, SSEDecoder


def chunk(
    delta: dict[str, object] | None = None, finish: str | None = None, **extra: object
) -> str:
    body: dict[str, object] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1718000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}],
    }
    body.update(extra)
    return json.dumps(body, ensure_ascii=False)


def run(*datas: str) -> list[object]:
    interpreter = ChunkInterpreter()
    return [event for data in datas for event in interpreter.interpret(ServerSentEvent(data))]


def failure(data: str) -> StreamError:
    with pytest.raises(StreamError) as caught:
        run(data)
    return caught.value


def test_content_deltas_then_done_with_the_last_finish_reason() -> None:
    events = run(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, finish="stop"),
        "[DONE]",
    )
    assert events == [TextDelta("Hel"), TextDelta("lo"), Done("stop")]


def test_done_flag_and_whitespace_around_done() -> None:
    interpreter = ChunkInterpreter()
    assert not interpreter.done
    assert interpreter.interpret(ServerSentEvent(" [DONE] \n")) == [Done(None)]
    assert interpreter.done
    assert interpreter.interpret(ServerSentEvent(chunk({"content": "late"}))) == []


def test_none_and_empty_content_are_skipped() -> None:
    assert run(chunk({"content": None}), chunk({"content": ""}), chunk({"tool_calls": []})) == []


def test_reasoning_content_and_reasoning_become_reasoning_deltas() -> None:
    events = run(
        chunk({"reasoning_content": "think", "content": None}),
        chunk({"reasoning": "more"}),
        chunk({"content": "answer"}),
    )
    assert events == [ReasoningDelta("think"), ReasoningDelta("more"), TextDelta("answer")]


def test_usage_chunk_with_empty_choices() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}
    events = run(chunk({}, finish="length"), json.dumps({"choices": [], "usage": usage}), "[DONE]")
    assert events == [Usage(12, 34), Done("length")]
    assert run(chunk({"content": "x"}, usage=None)) == [TextDelta("x")]


def test_unknown_fields_are_ignored() -> None:
    data = chunk({"content": "x", "refusal": None, "audio": {"id": 1}}, service_tier="default")
    assert run(data, json.dumps({"choices": [], "new_thing": [1, 2]})) == [TextDelta("x")]


def test_error_object_is_a_server_error_quoting_its_message() -> None:
    data = json.dumps(
        {"error": {"message": "The model crashed.", "type": "server_error", "code": None}}
    )
    error = failure(data)
    assert error.kind is FailureKind.SERVER_ERROR
    assert "The model crashed" in error.message
    assert "server_error" in error.message


@pytest.mark.parametrize(
    "error",
    [
        {"message": "Slow down", "type": "requests", "code": "rate_limit_exceeded"},
        {"message": "Slow down", "type": "RateLimitError"},
        {"message": "Slow down", "code": 429},
    ],
)
def test_rate_limit_error_object(error: dict[str, object]) -> None:
    caught = failure(json.dumps({"error": error}))
    assert caught.kind is FailureKind.RATE_LIMITED
    assert "Slow down" in caught.message


def test_error_as_a_bare_string_and_error_event() -> None:
    assert failure(json.dumps({"error": "overloaded"})).kind is FailureKind.SERVER_ERROR
    with pytest.raises(StreamError) as caught:
        ChunkInterpreter().interpret(ServerSentEvent("upstream died", event="error"))
    assert caught.value.kind is FailureKind.SERVER_ERROR
    assert "upstream died" in caught.value.message


def test_data_that_is_not_json_is_a_bad_response_quoting_it() -> None:
    error = failure("<html>502 Bad Gateway</html>")
    assert error.kind is FailureKind.BAD_RESPONSE
    assert error.message == "Malformed stream data from the server: “<html>502 Bad Gateway</html>”."


def test_quoted_data_is_closed_before_the_next_sentence() -> None:
    """Half a JSON string, as a server cut mid-line sends it: the quote still ends visibly."""
    message = failure('{"choices": [{"delta": {"content": "oops').message
    assert message.endswith(': “{"choices": [{"delta": {"content": "oops”.'), message


def test_control_characters_in_quoted_data_are_escapes() -> None:
    message = failure("\x1b[2J\tgone\x00").message
    assert message.endswith("“\\x1b[2J\\tgone\\x00”."), message


def test_long_bad_line_is_truncated_on_one_line() -> None:
    line = "x" * 50 + "\n" + "y" * 500
    message = failure(line).message
    assert message.startswith("Malformed stream data from the server: “" + "x" * 50 + "\\ny")
    assert message.endswith("…”.")
    assert "\n" not in message
    assert len(message) < 200


@pytest.mark.parametrize(
    "data",
    [
        "[1, 2]",
        '"text"',
        json.dumps({"choices": {"0": {}}}),
        json.dumps({"choices": ["text"]}),
        json.dumps({"choices": [{"delta": "text"}]}),
        json.dumps({"choices": [{"delta": {"content": 5}}]}),
        json.dumps({"choices": [{"delta": {}, "finish_reason": 1}]}),
        json.dumps({"choices": [], "usage": {"prompt_tokens": "12"}}),
        json.dumps({"choices": [], "usage": [1]}),
    ],
)
def test_json_of_the_wrong_shape_is_a_bad_response(data: str) -> None:
    error = failure(data)
    assert error.kind is FailureKind.BAD_RESPONSE
    assert error.message.startswith("Malformed stream data from the server: ")


def test_bare_data_line_is_not_an_event() -> None:
    assert run("", "  ") == []


def test_decoder_and_interpreter_together_on_a_split_stream() -> None:
    """The whole client path below the transport: bytes in any chunking to core events."""
    separated = chunk({"content": "a\u2028b"})
    stream = (
        f"data: {chunk({'content': '日本'})}\r\n\r\n: keep-alive\n\n"
        f"data:{separated}\n\n"
        f"data: {chunk({}, finish='stop')}\n\n"
        'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
        "data: [DONE]\n\n"
    ).encode()
    expected = [TextDelta("日本"), TextDelta("a\u2028b"), Usage(3, 2), Done("stop")]
    for size in (1, 5, len(stream)):
        decoder, interpreter = SSEDecoder(), ChunkInterpreter()
        events = [
            event
            for i in range(0, len(stream), size)
            for sse in decoder.feed(stream[i : i + size])
            for event in interpreter.interpret(sse)
        ]
        assert events == expected
        assert interpreter.done


# --- hostile data never raises anything but a failure ------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "[" * 100_000,
        "{" + '"a":{' * 100_000,
        '{"choices":[{"delta":{"content":' + "[" * 100_000 + "}}]}",
        '{"error":' + "[" * 100_000 + "}",
    ],
)
def test_json_nested_too_deep_is_a_bad_response(data: str) -> None:
    error = failure(data)
    assert error.kind is FailureKind.BAD_RESPONSE
    assert len(error.message) < 200


def test_an_error_object_nested_deep_but_parseable_is_a_bad_response_or_an_error() -> None:
    """Deep enough that quoting it may exhaust the stack, shallow enough for the parser."""
    for depth in (200, 500, 900, 990):
        data = '{"error":{"message":' + "[" * depth + "]" * depth + "}}"
        assert failure(data).kind in (FailureKind.BAD_RESPONSE, FailureKind.SERVER_ERROR)


@pytest.mark.parametrize(
    "value", ['"12"', "1.5", "true", "false", "-1", "[]", "{}", "NaN", "Infinity", "9" * 4000]
)
def test_a_token_count_that_is_not_a_small_count_is_a_bad_response(value: str) -> None:
    error = failure(f'{{"choices":[],"usage":{{"prompt_tokens":3,"completion_tokens":{value}}}}}')
    assert error.kind is FailureKind.BAD_RESPONSE


def test_a_null_or_missing_token_count_reads_as_zero() -> None:
    assert run('{"choices":[],"usage":{"prompt_tokens":null}}') == [Usage(0, 0)]
    assert run('{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":0}}') == [
        Usage(10, 0)
    ]


def test_lone_surrogates_in_text_become_replacement_characters() -> None:
    """Valid JSON, but a string no file, database or terminal could take."""
    events = run(chunk({"content": "a\ud800b"}), chunk({"reasoning_content": "\udfff"}))
    assert events == [TextDelta("a\ufffd\ufffd\ufffdb"), ReasoningDelta("\ufffd\ufffd\ufffd")]
    for event in events:
        assert isinstance(event, TextDelta | ReasoningDelta)
        event.text.encode("utf-8")
    pair = r'{"choices":[{"delta":{"content":"\ud83d\ude00"}}]}'  # escaped pair: one character
    assert run(pair) == [TextDelta("\U0001f600")]


def test_bytes_that_are_not_utf8_are_a_bad_response_not_a_crash() -> None:
    decoder, interpreter = SSEDecoder(), ChunkInterpreter()
    (sse,) = decoder.feed(b"data: \xff\xfe{\x80}\n\n")
    with pytest.raises(StreamError) as caught:
        interpreter.interpret(sse)
    assert caught.value.kind is FailureKind.BAD_RESPONSE


def test_events_seen_counts_every_event_handed_over() -> None:
    interpreter = ChunkInterpreter()
    assert interpreter.events_seen == 0
    interpreter.interpret(ServerSentEvent(""))
    interpreter.interpret(ServerSentEvent(chunk({"content": "x"})))
    assert interpreter.events_seen == 2


def test_empty_reply_is_its_own_failure_kind() -> None:
    error = empty_reply()
    assert error.kind is FailureKind.EMPTY_REPLY
    assert not error.kind.retryable
    assert error.message == (
        "The server returned an empty reply; the prompt may exceed the model's context."
    )


def tool_delta(*calls: dict[str, object], finish: str | None = None) -> str:
    return chunk({"tool_calls": list(calls)}, finish=finish)


def fn(
    index: int | None = None,
    call_id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
) -> dict[str, object]:
    call: dict[str, object] = {"function": {}}
    if index is not None:
        call["index"] = index
    if call_id is not None:
        call.update(id=call_id, type="function")
    function: dict[str, object] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    call["function"] = function
    return call


PARALLEL = [
    chunk({"role": "assistant", "content": None}),
    tool_delta(fn(0, "call_a", "add", "")),
    tool_delta(fn(0, arguments='{"a"')),
    tool_delta(fn(0, arguments=': 2, "b": 3}')),
    tool_delta(fn(1, "call_b", "read_note", ""), fn(1, arguments='{"title":')),
    tool_delta(fn(1, arguments=' "shopping"}')),
    chunk({}, finish="tool_calls"),
    json.dumps({"id": "x", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}),
    "[DONE]",
]
PARALLEL_CALLS = [
    ToolCall(0, "call_a", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}'),
    ToolCall(1, "call_b", "read_note", {"title": "shopping"}, '{"title": "shopping"}'),
]


def test_parallel_tool_calls_stream_as_deltas_and_finish_before_usage_and_done() -> None:
    events = run(*PARALLEL)
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(0, "call_a", "add", "")
    assert deltas[3] == ToolCallDelta(1, "call_b", "read_note", "")
    assert all(d.call_id and d.name for d in deltas)  # known since the first fragment
    assert "".join(d.arguments for d in deltas if d.index == 1) == '{"title": "shopping"}'
    assert events[len(deltas) :] == [*PARALLEL_CALLS, Usage(9, 4), Done("tool_calls")]


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(0, 2000), max_size=12))
def test_any_chunking_of_the_bytes_gives_the_same_calls(cuts: list[int]) -> None:
    stream = "".join(f"data: {data}\n\n" for data in PARALLEL).encode()
    bounds = sorted({0, len(stream), *(min(c, len(stream)) for c in cuts)})
    decoder, interpreter = SSEDecoder(), ChunkInterpreter()
    events = [
        event
        for start, end in pairwise(bounds)
        for sse in decoder.feed(stream[start:end])
        for event in interpreter.interpret(sse)
    ]
    assert [e for e in events if isinstance(e, ToolCall)] == PARALLEL_CALLS
    assert events[-1] == Done("tool_calls")


def test_invalid_json_arguments_fail_the_call_and_the_reply_goes_on() -> None:
    events = run(
        tool_delta(fn(0, "call_a", "add", '{"a": 2,')),
        tool_delta(fn(1, "call_b", "list", "[1]")),
        chunk({"content": "after"}),
        chunk({}, finish="tool_calls"),
        "[DONE]",
    )
    bad, listed = (e for e in events if isinstance(e, ToolCall))
    assert bad.arguments == {} and bad.arguments_text == '{"a": 2,'
    assert bad.error.startswith("The tool call's arguments are not valid JSON")
    assert listed.error == "The tool call's arguments are a JSON array, not an object: [1]"
    assert TextDelta("after") in events and events[-1] == Done("tool_calls")


def test_calls_without_index_follow_their_id_and_ids_are_made_when_missing() -> None:
    events = run(
        tool_delta(fn(None, "call_a", "add", '{"a":')),
        tool_delta(fn(None, None, None, " 1}")),
        tool_delta(fn(None, "call_b", "sub", "{}")),
        tool_delta(fn(2, None, "mul", "")),
        "[DONE]",
    )
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.index, c.name, dict(c.arguments)) for c in calls] == [
        (0, "add", {"a": 1}),
        (1, "sub", {}),
        (2, "mul", {}),
    ]
    assert calls[2].call_id.startswith("sd-") and calls[2].call_id.endswith("-2")
    assert events[-1] == Done("tool_calls")  # no finish reason, but tools were asked for


def test_a_stop_reason_with_tool_calls_reads_as_tool_calls_and_length_stays() -> None:
    assert run(tool_delta(fn(0, "c", "f", "{}")), chunk({}, finish="stop"), "[DONE]")[-1] == Done(
        "tool_calls"
    )
    cut = run(tool_delta(fn(0, "c", "f", '{"a')), chunk({}, finish="length"), "[DONE]")
    call = cut[-2]
    assert isinstance(call, ToolCall) and "not valid JSON" in call.error
    assert cut[-1] == Done("length")


def test_the_legacy_function_call_delta_is_one_call() -> None:
    events = run(
        chunk({"function_call": {"name": "add", "arguments": '{"a":'}}),
        chunk({"function_call": {"arguments": " 1}"}}),
        chunk({}, finish="function_call"),
        "[DONE]",
    )
    call = next(e for e in events if isinstance(e, ToolCall))
    assert (call.name, dict(call.arguments)) == ("add", {"a": 1})
    assert events[-1] == Done("tool_calls")


@pytest.mark.parametrize(
    "calls",
    [
        "not a list",
        [{"index": "0", "function": {"arguments": "{"}}],
        [{"index": True, "function": {"arguments": "{"}}],
        [{"index": 0, "function": {"arguments": ["{"]}}],
        [{"index": 0, "id": 5, "function": {}}],
        [{"index": 0, "function": "add"}],
    ],
)
def test_tool_calls_of_the_wrong_shape_are_a_bad_response(calls: object) -> None:
    assert failure(chunk({"tool_calls": calls})).kind is FailureKind.BAD_RESPONSE
