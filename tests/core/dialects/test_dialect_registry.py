"""Every dialect: found by its API name, and nothing a server sends makes it raise anything but
`StreamError`."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamdesk.core.dialects import API_NAMES, DIALECTS, Dialect, dialect
from streamdesk.core.errors import StreamError
from streamdesk.core.events import Done, FailureKind
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.sse import ServerSentEvent, SSEDecoder

NATIVE = ("anthropic", "gemini", "responses")

# Event types and field names of the three dialects, so random objects reach deep code paths.
TYPES = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "message_delta",
    "message_stop",
    "error",
    "ping",
    "response.output_text.delta",
    "response.reasoning_summary_text.delta",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "text_delta",
    "thinking_delta",
]
KEYS = [
    "type",
    "delta",
    "message",
    "usage",
    "content_block",
    "text",
    "thinking",
    "stop_reason",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "candidates",
    "content",
    "parts",
    "thought",
    "finishReason",
    "usageMetadata",
    "promptTokenCount",
    "thoughtsTokenCount",
    "promptFeedback",
    "blockReason",
    "error",
    "code",
    "status",
    "response",
    "incomplete_details",
    "reason",
    "input_tokens_details",
    "cached_tokens",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TYPES),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)
OBJECTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)


def test_api_names_and_the_native_dialects() -> None:
    assert API_NAMES == ("chat", "responses", "anthropic", "gemini")
    assert set(DIALECTS) == set(NATIVE)
    for name in NATIVE:
        assert dialect(name).name == name


@pytest.mark.parametrize("api", ["chat", "Anthropic", ""])
def test_chat_and_unknown_names_are_not_dialects(api: str) -> None:
    with pytest.raises(ValueError, match="anthropic, gemini, responses"):
        dialect(api)


@pytest.mark.parametrize("name", NATIVE)
def test_each_dialect_makes_fresh_interpreters_bodies_paths_and_headers(name: str) -> None:
    found: Dialect = dialect(name)
    first, second = found.interpreter(), found.interpreter()
    assert first is not second
    assert (first.done, first.events_seen) == (False, 0)
    request = ChatRequest("some-model", (Message("user", "Hi"),))
    assert json.loads(json.dumps(found.request_body(request)))
    assert found.request_path("some-model").startswith("/")
    assert "key-123" in "".join(found.auth_headers("key-123").values())


@pytest.mark.parametrize("name", NATIVE)
def test_a_bare_data_line_is_no_event_but_is_counted(name: str) -> None:
    interpreter = dialect(name).interpreter()
    assert interpreter.interpret(ServerSentEvent("")) == []
    assert interpreter.interpret(ServerSentEvent("  ")) == []
    assert interpreter.events_seen == 2


@pytest.mark.parametrize("name", NATIVE)
@pytest.mark.parametrize(
    "data",
    [
        "<html>502 Bad Gateway</html>",
        '"text"',
        "[" * 100_000,
        "{" + '"a":{' * 100_000,
        '{"type":"content_block_delta","candidates":' + "[" * 100_000 + "}",
        '{"usage":' + "9" * 5000 + "}",
        "[DONE]",
    ],
)
def test_unreadable_data_is_a_bad_response_quoting_it(name: str, data: str) -> None:
    with pytest.raises(StreamError) as caught:
        dialect(name).interpreter().interpret(ServerSentEvent(data))
    assert caught.value.kind is FailureKind.BAD_RESPONSE
    assert len(caught.value.message) < 200


@pytest.mark.parametrize("name", NATIVE)
def test_lone_surrogates_become_replacement_characters(name: str) -> None:
    data = {
        "anthropic": r'{"type":"content_block_delta","delta":{"type":"text_delta",'
        r'"text":"a\ud800"}}',
        "gemini": r'{"candidates":[{"content":{"parts":[{"text":"a\ud800"}]}}]}',
        "responses": r'{"type":"response.output_text.delta","delta":"a\ud800"}',
    }[name]
    (event,) = dialect(name).interpreter().interpret(ServerSentEvent(data))
    assert event.text == "a\ufffd\ufffd\ufffd"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", NATIVE)
def test_deep_but_parseable_error_objects_fail_cleanly(name: str) -> None:
    for depth in (200, 500, 900, 990):
        nested = "[" * depth + "]" * depth
        data = f'{{"type":"error","error":{{"message":{nested},"type":{nested}}}}}'
        with pytest.raises(StreamError) as caught:
            dialect(name).interpreter().interpret(ServerSentEvent(data, "error"))
        assert caught.value.kind in (FailureKind.BAD_RESPONSE, FailureKind.SERVER_ERROR)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NATIVE), objects=st.lists(OBJECTS, max_size=8))
def test_random_objects_give_events_or_a_stream_error_never_another_exception(
    name: str, objects: list[dict[str, object]]
) -> None:
    interpreter = dialect(name).interpreter()
    for index, chunk in enumerate(objects):
        kind = chunk.get("type")
        sse = ServerSentEvent(json.dumps(chunk), kind if isinstance(kind, str) else "message")
        finished_before = interpreter.done
        try:
            events = interpreter.interpret(sse)
        except StreamError:
            return
        assert interpreter.events_seen == index + 1
        if finished_before:  # nothing after the finishing event belongs to the reply
            assert events == []
        elif interpreter.done:
            assert isinstance(events[-1], Done)
            assert all(not isinstance(event, Done) for event in events[:-1])


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NATIVE), stream=st.binary(max_size=300))
def test_random_bytes_give_events_or_a_stream_error_never_another_exception(
    name: str, stream: bytes
) -> None:
    interpreter, decoder = dialect(name).interpreter(), SSEDecoder()
    try:
        for sse in [*decoder.feed(b"data: " + stream + b"\n\n"), *decoder.close()]:
            interpreter.interpret(sse)
    except StreamError:
        pass
