"""Gemini `GenerateContentResponse` chunks become core events; error objects become failures."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamdesk.core.dialects import Interpreter
from streamdesk.core.dialects.gemini import (
    GeminiInterpreter,
    auth_headers,
    request_body,
    request_path,
)
from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    FailureKind,
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


def response(
    parts: list[dict[str, object]], finish: str | None = None, **usage: int
) -> dict[str, object]:
    candidate: dict[str, object] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 9, **usage},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "mZFxaNn2Ke6Gz7IP3qrg0Ak",
    }


def data(chunk: object) -> str:
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\r\n\r\n"  # Google ends lines in CRLF


FIRST = response([{"text": "The user greets me.", "thought": True}], totalTokenCount=9)
MIDDLE = response([{"text": "Hello"}, {"text": ", 世界", "thoughtSignature": "CiQB0e2Kb"}])
LAST = response(
    [{"text": " 🙂"}],
    "STOP",
    candidatesTokenCount=3,
    thoughtsTokenCount=28,
    cachedContentTokenCount=4,
    totalTokenCount=40,
    promptTokensDetails=[{"modality": "TEXT", "tokenCount": 9}],  # type: ignore[arg-type]
)
STREAM = (data(FIRST) + data(MIDDLE) + data(LAST)).encode()
EXPECTED = [
    ReasoningDelta("The user greets me."),
    TextDelta("Hello"),
    TextDelta(", 世界"),
    TextDelta(" 🙂"),
    Usage(9, 31, cached_tokens=4, reasoning_tokens=28),
    Done("stop"),
]


def run(*chunks: object) -> list[StreamEvent]:
    interpreter = GeminiInterpreter()
    return [
        event
        for chunk in chunks
        for event in interpreter.interpret(ServerSentEvent(json.dumps(chunk)))
    ]


def failure(*chunks: object) -> StreamError:
    with pytest.raises(StreamError) as caught:
        run(*chunks)
    return caught.value


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(0, len(STREAM)), max_size=20))
def test_a_stream_in_any_chunking_gives_thoughts_text_usage_then_done(
    wire: Feed, cuts: list[int]
) -> None:
    interpreter = GeminiInterpreter()
    assert wire(interpreter, STREAM, cuts) == EXPECTED
    assert interpreter.done


def test_without_a_finish_reason_there_is_no_done(wire: Feed) -> None:
    """The transport calls that a cut."""
    interpreter = GeminiInterpreter()
    assert wire(interpreter, (data(FIRST) + data(MIDDLE)).encode(), ()) == EXPECTED[:3]
    assert not interpreter.done


def test_nothing_after_the_finishing_chunk_belongs_to_the_reply() -> None:
    assert run(LAST, MIDDLE) == EXPECTED[3:]


def test_usage_is_the_last_metadata_seen_even_without_it_in_the_last_chunk() -> None:
    last = {"candidates": [{"content": {"parts": [{"text": "!"}]}, "finishReason": "STOP"}]}
    assert run(response([], candidatesTokenCount=2), last) == [
        TextDelta("!"),
        Usage(9, 2),
        Done("stop"),
    ]
    assert run(last) == [TextDelta("!"), Done("stop")]


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "safety"),
        ("RECITATION", "recitation"),
        ("MALFORMED_FUNCTION_CALL", "malformed_function_call"),
    ],
)
def test_finish_reasons_in_openai_words_or_lower_case(reason: str, finish: str) -> None:
    assert run(response([], reason)) == [Usage(9, 0), Done(finish)]


def test_a_blocked_prompt_finishes_with_its_block_reason() -> None:
    blocked = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 7},
    }
    assert run(blocked) == [Usage(7, 0), Done("safety")]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"code": 429, "status": "RESOURCE_EXHAUSTED"}, FailureKind.RATE_LIMITED),
        ({"code": 503, "status": "UNAVAILABLE"}, FailureKind.SERVER_ERROR),
        ({"code": 500, "status": "INTERNAL"}, FailureKind.SERVER_ERROR),
        ({"code": 400, "status": "INVALID_ARGUMENT"}, FailureKind.BAD_REQUEST),
        ({"code": 401, "status": "UNAUTHENTICATED"}, FailureKind.AUTHENTICATION),
        ({"code": 403, "status": "PERMISSION_DENIED"}, FailureKind.PERMISSION),
        ({"code": 404, "status": "NOT_FOUND"}, FailureKind.NOT_FOUND),
        ({"code": 429}, FailureKind.RATE_LIMITED),
        ({"code": 599, "status": "SOMETHING_NEW"}, FailureKind.SERVER_ERROR),
    ],
)
def test_error_objects_fail_with_their_kind_quoting_the_message(
    error: dict[str, object], kind: FailureKind
) -> None:
    caught = failure(MIDDLE, {"error": {**error, "message": "Resource has been exhausted."}})
    assert caught.kind is kind
    assert "Resource has been exhausted" in caught.message


@pytest.mark.parametrize(
    "chunk",
    [
        [1, 2],
        {"candidates": {"0": {}}},
        {"candidates": ["text"]},
        {"candidates": [{"content": ["x"]}]},
        {"candidates": [{"content": {"parts": {"text": "x"}}}]},
        {"candidates": [{"content": {"parts": ["x"]}}]},
        {"candidates": [{"content": {"parts": [{"text": 5}]}}]},
        {"candidates": [{"finishReason": 1}]},
        {"promptFeedback": "blocked"},
        {"usageMetadata": {"promptTokenCount": "9"}},
        {"usageMetadata": {"thoughtsTokenCount": 10**13}},
        {"usageMetadata": [9]},
    ],
)
def test_json_of_the_wrong_shape_is_a_bad_response(chunk: object) -> None:
    assert failure(chunk).kind is FailureKind.BAD_RESPONSE


def test_unknown_parts_and_fields_are_ignored() -> None:
    chunk = {
        "candidates": [
            {
                "content": {"parts": [{"inlineData": {"data": ""}}, {"text": ""}]},
                "safetyRatings": [],
            }
        ],
        "newField": {"x": 1},
    }
    assert run(chunk, {"candidates": []}, {}) == []


def test_request_body_has_contents_system_instruction_and_config() -> None:
    request = ChatRequest(
        "gemini-2.5-flash",
        (
            Message("system", "Be brief."),
            Message("user", "Hi"),
            Message("assistant", "Hello"),
            Message("user", "Again"),
        ),
        max_tokens=256,
        temperature=0.2,
    )
    assert request_body(request) == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello"}]},
            {"role": "user", "parts": [{"text": "Again"}]},
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"maxOutputTokens": 256, "temperature": 0.2},
    }
    plain = ChatRequest("gemini-2.5-flash", (Message("user", "Hi"),))
    assert request_body(plain) == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


def test_path_takes_a_bare_model_id_or_a_resource_name_and_headers() -> None:
    expected = "/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert request_path("gemini-2.5-flash") == expected
    assert request_path("models/gemini-2.5-flash") == expected
    assert request_path("tunedModels/my-model") == (
        "/tunedModels/my-model:streamGenerateContent?alt=sse"
    )
    assert request_path("odd name?") == "/models/odd%20name%3F:streamGenerateContent?alt=sse"
    assert auth_headers("AIza-test") == {"x-goog-api-key": "AIza-test"}


CALLS = response(
    [
        {"functionCall": {"name": "add", "args": {"a": 2, "b": 3}}, "thoughtSignature": "sig1"},
        {"functionCall": {"name": "read_note", "args": {"title": "x"}, "id": "fc-7"}},
    ],
    "STOP",
)
CALL_STREAM = (data(FIRST) + data(CALLS)).encode()


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(0, len(CALL_STREAM)), max_size=12))
def test_function_call_parts_are_whole_calls_in_any_chunking(wire: Feed, cuts: list[int]) -> None:
    events = wire(GeminiInterpreter(), CALL_STREAM, cuts)
    add_delta, add, note_delta, note = events[1:5]
    assert isinstance(add, ToolCall) and isinstance(note_delta, ToolCallDelta)
    assert add_delta == ToolCallDelta(0, "", "add", '{"a": 2, "b": 3}')  # no id sent
    assert add == ToolCall(0, add.call_id, "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}', "", "sig1")
    assert add.call_id.startswith("sd-") and add.call_id.endswith("-0")  # made, from responseId
    assert note_delta.call_id == "fc-7" and note == ToolCall(
        1, "fc-7", "read_note", {"title": "x"}, '{"title": "x"}'
    )
    assert events[-1] == Done("tool_calls")


def test_made_ids_are_the_same_for_the_same_response_and_differ_between_responses() -> None:
    first, again = run(CALLS)[1], run(CALLS)[1]
    other = run({**CALLS, "responseId": "another"})[1]
    assert isinstance(first, ToolCall) and isinstance(other, ToolCall)
    assert first == again and first.call_id != other.call_id


def test_a_call_without_args_has_no_arguments_and_one_without_a_name_fails() -> None:
    events = run(response([{"functionCall": {"name": "now"}}, {"functionCall": {}}], "STOP"))
    now, nameless = (e for e in events if isinstance(e, ToolCall))
    assert (now.name, dict(now.arguments), now.error) == ("now", {}, "")
    assert nameless.error == "The server sent a tool call without a tool name."


@pytest.mark.parametrize("call", [{"name": "f", "args": [1]}, {"name": 3}, "f"])
def test_a_function_call_of_the_wrong_shape_is_a_bad_response(call: object) -> None:
    assert failure(response([{"functionCall": call}])).kind is FailureKind.BAD_RESPONSE


def test_request_writes_declarations_calls_and_merged_responses() -> None:
    made = ToolCall(0, "sd-abc-0", "add", {"a": 2}, '{"a": 2}', signature="sig1")
    given_id = ToolCall(1, "fc-7", "read_note", {"title": "x"}, '{"title": "x"}')
    request = ChatRequest(
        "gemini-2.5-flash",
        (
            Message("user", "add 2"),
            Message("assistant", "", tool_calls=(made, given_id)),
            Message("tool", "4", tool_call_id="sd-abc-0"),
            Message("tool", "missing", tool_call_id="fc-7", name="read_note", is_error=True),
        ),
        tools=(ToolSpec("add", "Adds", {"type": "object", "additionalProperties": False}),),
    )
    body = request_body(request)
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "add",
                    "description": "Adds",
                    "parametersJsonSchema": {"type": "object", "additionalProperties": False},
                }
            ]
        }
    ]
    assert body["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "add", "args": {"a": 2}}, "thoughtSignature": "sig1"},
                {"functionCall": {"name": "read_note", "args": {"title": "x"}, "id": "fc-7"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "add", "response": {"output": "4"}}},
                {
                    "functionResponse": {
                        "name": "read_note",
                        "response": {"error": "missing"},
                        "id": "fc-7",
                    }
                },
            ],
        },
    ]
