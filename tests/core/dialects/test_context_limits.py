"""What each API counts against the context window, and how each server says a request is too
long: the max_tokens a body sends is what a request leaves room for (`sent_max_tokens`, one rule
for every dialect), and a refusal for length is told from other refusals (`too_long`) whether it
came as an HTTP status or an error event mid-stream."""

from __future__ import annotations

import json

import pytest

from streamdesk.core.dialects import anthropic, gemini, responses, sent_max_tokens
from streamdesk.core.dialects.wire import too_long
from streamdesk.core.errors import StreamError
from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.sse import ServerSentEvent
from streamdesk.core.transports._classify import http_error

PROMPT = (Message("user", "hi"),)


@pytest.mark.parametrize("asked", [None, 500, 1_000, 3_000, 4_096, 20_000])
@pytest.mark.parametrize("reasoning", [False, True])
def test_the_max_tokens_reserved_is_the_one_each_body_sends(
    asked: int | None, reasoning: bool
) -> None:
    request = ChatRequest("m", PROMPT, max_tokens=asked, reasoning=reasoning)
    sent = anthropic.request_body(request)["max_tokens"]
    assert sent_max_tokens("anthropic", asked, reasoning) == sent
    if reasoning:  # the thinking budget stays below it, as the API requires
        assert anthropic.request_body(request)["thinking"]["budget_tokens"] < sent
    assert sent_max_tokens("chat", asked, reasoning) == request.openai_body().get("max_tokens")
    assert sent_max_tokens("responses", asked, reasoning) == (
        responses.request_body(request).get("max_output_tokens")
    )
    config = gemini.request_body(request).get("generationConfig", {})
    assert sent_max_tokens("gemini", asked, reasoning) == config.get("maxOutputTokens")


def test_anthropic_without_max_tokens_reserves_its_default_and_more_with_thinking() -> None:
    assert sent_max_tokens("anthropic", None, False) == anthropic.DEFAULT_MAX_TOKENS
    assert sent_max_tokens("anthropic", 1_000, True) == 2_048  # budget 1,024 and 1,024 more


SAID = {
    "openai": "This model's maximum context length is 128000 tokens. However, your messages"
    " resulted in 130412 tokens. Please reduce the length of the messages.",
    "responses": "Your input exceeds the context window of this model. Please adjust your input"
    " and try again.",
    "anthropic": "prompt is too long: 215311 tokens > 200000 maximum",
    "anthropic_max": "input length and `max_tokens` exceed context limit: 195000 + 8192 > 200000",
    "gemini": "The input token count (1200000) exceeds the maximum number of tokens allowed"
    " (1048576).",
    "llama.cpp": "the request exceeds the available context size, try increasing it",
    "vllm": "The decoder prompt (length 5000) is longer than the maximum model length of 4096.",
    "tgi": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096.",
}


@pytest.mark.parametrize("server", SAID)
def test_an_http_400_for_length_is_told_apart_in_each_servers_words(server: str) -> None:
    body = json.dumps({"error": {"message": SAID[server], "type": "invalid_request_error"}})
    failure = http_error(400, {}, body.encode(), "https://api.example.com/v1/x").to_failure()
    assert failure.kind is FailureKind.BAD_REQUEST and too_long(failure)


def test_other_refusals_are_not_for_length() -> None:
    body = b'{"error": {"message": "temperature must be at most 2", "type": "invalid_request"}}'
    assert not too_long(http_error(400, {}, body, "https://h/v1").to_failure())
    said = SAID["openai"]
    assert not too_long(Failure(FailureKind.RATE_LIMITED, said))  # only a refused request
    assert not too_long(Failure(FailureKind.SERVER_ERROR, said))


def test_an_error_event_for_length_mid_stream_is_told_apart() -> None:
    error = {"code": "context_length_exceeded", "message": "Too many tokens in the input."}
    interpreter = responses.ResponsesInterpreter()
    sse = ServerSentEvent(event="error", data=json.dumps({"type": "error", **error}))
    with pytest.raises(StreamError) as caught:
        interpreter.interpret(sse)
    assert too_long(caught.value.to_failure())
    claude = anthropic.AnthropicInterpreter()
    refused = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": SAID["anthropic"]},
    }
    with pytest.raises(StreamError) as caught:
        claude.interpret(ServerSentEvent(event="error", data=json.dumps(refused)))
    assert too_long(caught.value.to_failure())
