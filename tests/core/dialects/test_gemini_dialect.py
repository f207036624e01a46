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
    Usage,
)
from streamdesk.core.request import ChatRequest, Message
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
                "content": {"parts": [{"functionCall": {"name": "f", "args": {}}}, {"text": ""}]},
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
