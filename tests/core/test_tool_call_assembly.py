"""Tool calls: assembled from fragments the same way for every dialect, and written back into
chat-completions and WebSocket requests."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from streamdesk.core.events import ToolCall, ToolCallDelta
from streamdesk.core.request import ChatRequest, Message, ToolSpec
from streamdesk.core.tool_calls import ToolCallAssembler, is_synthetic_id, parse_arguments


def test_calls_are_numbered_in_the_order_they_begin_whatever_their_keys() -> None:
    tools = ToolCallAssembler("t")
    assert tools.fragment("item_b", "call_b", "sub") == ToolCallDelta(0, "call_b", "sub", "")
    assert tools.fragment(7, "call_a", "add", "{") == ToolCallDelta(1, "call_a", "add", "{")
    assert tools.fragment(7) is None  # nothing new
    assert tools.fragment(7, arguments="}") == ToolCallDelta(1, "call_a", "add", "}")
    assert tools.finish(7) == ToolCall(1, "call_a", "add", {}, "{}")
    assert tools.fragment(7, arguments="late") is None and tools.finish(7) is None
    assert tools.finish_all() == [ToolCall(0, "call_b", "sub", {}, "")]
    assert tools.finish_reason("stop") == "tool_calls"
    assert tools.finish_reason("length") == "length"
    assert ToolCallAssembler().finish_reason("stop") == "stop"


def test_a_call_without_an_id_gets_one_that_request_writers_recognise() -> None:
    tools = ToolCallAssembler("abc")
    tools.fragment(0, name="now")
    call = tools.finish(0)
    assert call is not None and call.call_id == "sd-abc-0" and is_synthetic_id(call.call_id)
    assert ToolCallAssembler().finish_all() == []
    first, second = ToolCallAssembler(), ToolCallAssembler()
    first.fragment(0, name="f")
    second.fragment(0, name="f")
    made = [tools.finish(0) for tools in (first, second)]
    assert made[0] != made[1]  # two replies never share a made id


def test_the_whole_arguments_count_only_when_no_fragment_came() -> None:
    tools = ToolCallAssembler()
    tools.fragment("a", "c", "f")
    assert tools.finish("a", '{"x": 1}') == ToolCall(0, "c", "f", {"x": 1}, '{"x": 1}')
    tools.fragment("b", "d", "f", '{"y": 2}')
    assert tools.finish("b", '{"y": 3}') == ToolCall(1, "d", "f", {"y": 2}, '{"y": 2}')


def test_arguments_that_are_not_an_object_say_why() -> None:
    assert parse_arguments("") == ({}, "")
    assert parse_arguments("  ") == ({}, "")
    assert parse_arguments('{"a": [1]}') == ({"a": [1]}, "")
    for text, kind in [("[1]", "array"), ('"s"', "string"), ("3", "number"), ("null", "null")]:
        assert parse_arguments(text)[1] == (
            f"The tool call's arguments are a JSON {kind}, not an object: {text}"
        )
    error = parse_arguments('{"a": 1')[1]
    assert error.startswith("The tool call's arguments are not valid JSON (Expecting")
    deep = parse_arguments('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    assert deep[0] == {} and "nested too deep" in deep[1]
    long = parse_arguments("{" + "x" * 500)[1]
    assert len(long) < 200 and long.endswith("…")


def test_escaped_lone_surrogates_become_replacement_characters() -> None:
    arguments, error = parse_arguments('{"s": "a\\ud800"}')
    assert not error
    json.dumps(arguments, ensure_ascii=False).encode("utf-8")
    assert arguments["s"].startswith("a\ufffd")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.text(max_size=5)), max_size=30))
def test_fragments_joined_per_call_are_the_calls_arguments(
    pieces: list[tuple[int, str]],
) -> None:
    tools = ToolCallAssembler("t")
    expected: dict[int, str] = {}
    for key, text in pieces:
        tools.fragment(key, f"id{key}", "f", text)
        expected[key] = expected.get(key, "") + text
    calls = tools.finish_all()
    assert [c.index for c in calls] == list(range(len(expected)))
    assert {c.call_id: c.arguments_text for c in calls} == {
        f"id{key}": text for key, text in expected.items()
    }


CONVERSATION = (
    Message("system", "Be brief."),
    Message("user", "add 2 and 3"),
    Message(
        "assistant",
        "",
        tool_calls=(
            ToolCall(0, "call_a", "add", {"a": 2, "b": 3}, '{"a":2,"b":3}'),
            ToolCall(1, "call_b", "add", {}, '{"a":', error="not JSON"),
        ),
    ),
    Message("tool", "5", tool_call_id="call_a", name="add"),
    Message("tool", "Denied by the user.", tool_call_id="call_b", name="add", is_error=True),
)
TOOLS = (ToolSpec("add", "Adds two numbers", {"type": "object", "required": ["a", "b"]}),)


def test_chat_and_websocket_requests_write_tools_calls_and_results_the_same_way() -> None:
    request = ChatRequest("gpt-4.1", CONVERSATION, tools=TOOLS)
    body, frame = request.openai_body(), request.websocket_message()
    for sent in (body, frame):
        assert sent["tools"] == [
            {
                "type": "function",
                "function": {
                    "name": "add",
                    "description": "Adds two numbers",
                    "parameters": {"type": "object", "required": ["a", "b"]},
                },
            }
        ]
        assert sent["messages"][2:] == [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "add", "arguments": '{"a":2,"b":3}'},
                    },
                    {
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "add", "arguments": "{}"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": "5"},
            {"role": "tool", "tool_call_id": "call_b", "content": "Denied by the user."},
        ]
    assert "tools" not in ChatRequest("m", CONVERSATION[:2]).openai_body()
