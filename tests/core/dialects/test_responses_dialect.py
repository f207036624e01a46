"""OpenAI Responses events become core events; failures and error events become failures."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamdesk.core.dialects import Interpreter
from streamdesk.core.dialects.responses import (
    ResponsesInterpreter,
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


def event(kind: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "sequence_number": 0, **fields}


def frame(body: dict[str, object]) -> str:
    return f"event: {body['type']}\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"


def response(status: str, **fields: object) -> dict[str, object]:
    return {
        "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": "o4-mini-2025-04-16",
        "output": [],
        "usage": None,
        **fields,
    }


USAGE = {
    "input_tokens": 37,
    "input_tokens_details": {"cached_tokens": 5},
    "output_tokens": 11,
    "output_tokens_details": {"reasoning_tokens": 4},
    "total_tokens": 48,
}
TEXT_ITEM = {"id": "msg_1", "type": "message", "role": "assistant", "content": []}
BODY = "".join(
    frame(body)
    for body in (
        event("response.created", response=response("in_progress")),
        event("response.in_progress", response=response("in_progress")),
        event(
            "response.output_item.added", output_index=0, item={"id": "rs_1", "type": "reasoning"}
        ),
        event(
            "response.reasoning_summary_part.added",
            item_id="rs_1",
            summary_index=0,
            part={"type": "summary_text", "text": ""},
        ),
        event("response.reasoning_summary_text.delta", item_id="rs_1", delta="**Greeting**"),
        event("response.reasoning_summary_text.done", item_id="rs_1", text="**Greeting**"),
        event("response.output_item.added", output_index=1, item=TEXT_ITEM),
        event("response.output_text.delta", item_id="msg_1", delta="Hi", logprobs=[]),
        event("response.output_text.delta", item_id="msg_1", delta=" 世界 🙂", logprobs=[]),
        event("response.output_text.done", item_id="msg_1", text="Hi 世界 🙂"),
        event("response.output_item.done", output_index=1, item=TEXT_ITEM),
    )
)
COMPLETED = frame(event("response.completed", response=response("completed", usage=USAGE)))
STREAM = (BODY + COMPLETED).encode()
EXPECTED = [
    ReasoningDelta("**Greeting**"),
    TextDelta("Hi"),
    TextDelta(" 世界 🙂"),
    Usage(37, 11, cached_tokens=5, reasoning_tokens=4),
    Done("stop"),
]


def run(*bodies: dict[str, object]) -> list[StreamEvent]:
    interpreter = ResponsesInterpreter()
    return [
        out
        for body in bodies
        for out in interpreter.interpret(ServerSentEvent(json.dumps(body), str(body["type"])))
    ]


def failure(*bodies: dict[str, object]) -> StreamError:
    with pytest.raises(StreamError) as caught:
        run(*bodies)
    return caught.value


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(0, len(STREAM)), max_size=20))
def test_a_stream_in_any_chunking_gives_reasoning_text_usage_then_done(
    wire: Feed, cuts: list[int]
) -> None:
    interpreter = ResponsesInterpreter()
    assert wire(interpreter, STREAM, cuts) == EXPECTED
    assert interpreter.done


def test_without_a_terminal_event_there_is_no_done(wire: Feed) -> None:
    """The transport calls that a cut."""
    interpreter = ResponsesInterpreter()
    assert wire(interpreter, BODY.encode(), ()) == EXPECTED[:3]
    assert not interpreter.done


def test_reasoning_text_deltas_and_nothing_after_the_terminal_event() -> None:
    events = run(
        event("response.reasoning_text.delta", delta="step 1"),
        event("response.completed", response=response("completed")),
        event("response.output_text.delta", delta="late"),
    )
    assert events == [ReasoningDelta("step 1"), Done("stop")]


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("max_output_tokens", "length"), ("content_filter", "content_filter"), (None, None)],
)
def test_incomplete_finishes_with_its_reason(reason: str | None, finish: str | None) -> None:
    incomplete = response("incomplete", incomplete_details={"reason": reason}, usage=USAGE)
    assert run(event("response.incomplete", response=incomplete)) == [
        Usage(37, 11, cached_tokens=5, reasoning_tokens=4),
        Done(finish),
    ]


def test_usage_details_may_be_missing_or_null() -> None:
    usage = {"input_tokens": 3, "output_tokens": 2, "input_tokens_details": None}
    assert run(event("response.completed", response=response("completed", usage=usage))) == [
        Usage(3, 2),
        Done("stop"),
    ]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"code": "server_error", "message": "The model failed."}, FailureKind.SERVER_ERROR),
        ({"code": "rate_limit_exceeded", "message": "Slow down."}, FailureKind.RATE_LIMITED),
        ({"code": "invalid_prompt", "message": "Flagged."}, FailureKind.BAD_REQUEST),
        ({"code": "vector_store_timeout", "message": "Timed out."}, FailureKind.SERVER_ERROR),
    ],
)
def test_response_failed_fails_with_the_kind_of_its_error(
    error: dict[str, str], kind: FailureKind
) -> None:
    failed = event("response.failed", response=response("failed", error=error))
    caught = failure(event("response.output_text.delta", delta="Hi"), failed)
    assert caught.kind is kind
    assert error["message"].rstrip(".") in caught.message
    assert error["code"] in caught.message


def test_response_failed_without_an_error_object_is_a_server_error() -> None:
    assert failure(event("response.failed", response=response("failed"))).kind is (
        FailureKind.SERVER_ERROR
    )


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (event("error", code="server_error", message="Boom", param=None), FailureKind.SERVER_ERROR),
        (event("error", code="rate_limit_exceeded", message="Boom"), FailureKind.RATE_LIMITED),
        (event("error", code="invalid_api_key", message="Boom"), FailureKind.AUTHENTICATION),
        (event("error", code="model_not_found", message="Boom"), FailureKind.NOT_FOUND),
        (event("error", code=None, message="Boom", param=None), FailureKind.SERVER_ERROR),
        (
            event("error", error={"type": "invalid_request_error", "message": "Boom"}),
            FailureKind.BAD_REQUEST,
        ),
    ],
)
def test_error_events_fail_with_their_kind(body: dict[str, object], kind: FailureKind) -> None:
    caught = failure(body)
    assert caught.kind is kind
    assert "Boom" in caught.message
    assert "(error" not in caught.message  # the event's own type is no error label


@pytest.mark.parametrize(
    "body",
    [
        event("response.output_text.delta", delta=5),
        event("response.output_text.delta"),
        event("response.reasoning_summary_text.delta", delta=["x"]),
        event("response.completed"),
        event("response.completed", response="done"),
        event("response.completed", response=response("completed", usage={"input_tokens": -1})),
        event("response.completed", response=response("completed", usage=[1])),
        event(
            "response.completed",
            response=response(
                "completed", usage={"output_tokens_details": {"reasoning_tokens": "4"}}
            ),
        ),
        event("response.incomplete", response=response("incomplete", incomplete_details="x")),
        event("response.incomplete", response=response("x", incomplete_details={"reason": 3})),
    ],
)
def test_events_of_the_wrong_shape_are_a_bad_response(body: dict[str, object]) -> None:
    assert failure(body).kind is FailureKind.BAD_RESPONSE


def test_the_sse_event_name_stands_in_for_a_missing_type() -> None:
    interpreter = ResponsesInterpreter()
    sse = ServerSentEvent('{"delta": "Hi"}', "response.output_text.delta")
    assert interpreter.interpret(sse) == [TextDelta("Hi")]


def test_request_body_has_input_instructions_and_options() -> None:
    request = ChatRequest(
        "gpt-5-mini",
        (Message("system", "Be brief."), Message("user", "Hi"), Message("assistant", "Hel")),
        max_tokens=500,
        temperature=1.0,
    )
    assert request_body(request) == {
        "model": "gpt-5-mini",
        "input": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hel"}],
        "stream": True,
        "instructions": "Be brief.",
        "max_output_tokens": 500,
        "temperature": 1.0,
    }
    plain = ChatRequest("gpt-5-mini", (Message("user", "Hi"),))
    assert request_body(plain) == {
        "model": "gpt-5-mini",
        "input": [{"role": "user", "content": "Hi"}],
        "stream": True,
    }


def test_path_and_headers() -> None:
    assert request_path("gpt-5-mini") == "/responses"
    assert auth_headers("sk-test") == {"Authorization": "Bearer sk-test"}


def call_item(
    n: int, name: str, arguments: str = "", status: str = "in_progress"
) -> dict[str, object]:
    return {
        "id": f"fc_{n}",
        "type": "function_call",
        "status": status,
        "call_id": f"call_{n}",
        "name": name,
        "arguments": arguments,
    }


def args_delta(n: int, text: str) -> dict[str, object]:
    return event(
        "response.function_call_arguments.delta", item_id=f"fc_{n}", output_index=n, delta=text
    )


CALL_EVENTS = (
    event("response.created", response=response("in_progress")),
    event("response.output_item.added", output_index=0, item=call_item(0, "add")),
    event("response.output_item.added", output_index=1, item=call_item(1, "read_note")),
    args_delta(0, '{"a": 2,'),
    args_delta(1, '{"title": "x"}'),
    args_delta(0, ' "b": 3}'),
    event(
        "response.function_call_arguments.done",
        item_id="fc_1",
        output_index=1,
        arguments='{"title": "x"}',
    ),
    event(
        "response.output_item.done",
        output_index=1,
        item=call_item(1, "read_note", "{}", "completed"),
    ),
    event(
        "response.function_call_arguments.done",
        item_id="fc_0",
        output_index=0,
        arguments='{"a": 2, "b": 3}',
    ),
    event("response.completed", response=response("completed", usage=USAGE)),
)
CALL_STREAM = "".join(frame(body) for body in CALL_EVENTS).encode()


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(0, len(CALL_STREAM)), max_size=12))
def test_function_call_items_stream_and_finish_at_their_done_in_any_chunking(
    wire: Feed, cuts: list[int]
) -> None:
    events = wire(ResponsesInterpreter(), CALL_STREAM, cuts)
    assert events == [
        ToolCallDelta(0, "call_0", "add", ""),
        ToolCallDelta(1, "call_1", "read_note", ""),
        ToolCallDelta(0, "call_0", "add", '{"a": 2,'),
        ToolCallDelta(1, "call_1", "read_note", '{"title": "x"}'),
        ToolCallDelta(0, "call_0", "add", ' "b": 3}'),
        ToolCall(1, "call_1", "read_note", {"title": "x"}, '{"title": "x"}'),
        ToolCall(0, "call_0", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}'),
        Usage(37, 11, cached_tokens=5, reasoning_tokens=4),
        Done("tool_calls"),
    ]


def test_a_call_completes_at_its_item_done_or_else_before_done() -> None:
    whole = run(
        event("response.output_item.added", output_index=0, item=call_item(0, "add")),
        event("response.output_item.done", output_index=0, item=call_item(0, "add", '{"a": 1}')),
        event("response.output_item.added", output_index=1, item=call_item(1, "sub")),
        args_delta(1, '{"a": '),
        event("response.completed", response=response("completed")),
    )
    assert whole[1] == ToolCall(0, "call_0", "add", {"a": 1}, '{"a": 1}')
    assert isinstance(whole[-2], ToolCall) and "not valid JSON" in whole[-2].error
    assert whole[-1] == Done("tool_calls")


def test_request_writes_tools_function_calls_and_outputs() -> None:
    call = ToolCall(0, "call_0", "add", {"a": 2}, '{"a":2}')
    bad = ToolCall(1, "call_1", "add", {}, '{"a":', error="not JSON")
    request = ChatRequest(
        "gpt-4.1",
        (
            Message("user", "add 2"),
            Message("assistant", "", tool_calls=(call, bad)),
            Message("tool", "2", tool_call_id="call_0", name="add"),
            Message("tool", "denied", tool_call_id="call_1", name="add", is_error=True),
        ),
        tools=(ToolSpec("add", "Adds", {"type": "object"}), ToolSpec("now")),
    )
    body = request_body(request)
    assert body["tools"] == [
        {
            "type": "function",
            "name": "add",
            "description": "Adds",
            "parameters": {"type": "object"},
        },
        {"type": "function", "name": "now", "parameters": {"type": "object"}},
    ]
    assert body["input"] == [
        {"role": "user", "content": "add 2"},
        {"type": "function_call", "call_id": "call_0", "name": "add", "arguments": '{"a":2}'},
        {"type": "function_call", "call_id": "call_1", "name": "add", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_0", "output": "2"},
        {"type": "function_call_output", "call_id": "call_1", "output": "denied"},
    ]
