"""What every provider dialect reads the same way: one JSON object per SSE event,
finish reasons and provider error objects.

The rules are those of the chat-completions interpreter (`openai_chunks`): data we cannot read is
a `BAD_RESPONSE` failure quoting it, an error object is a failure of the kind it names, and
nothing a server sends raises anything but `StreamError`.

A request longer than the model reads is refused in each server's own words (`too_long`): the
engine sends it again with less history rather than give up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from streamdesk.core.errors import StreamError, quote
from streamdesk.core.events import Failure, FailureKind, StreamEvent
from streamdesk.core.openai_chunks import error_from_object, error_sentence, json_object, malformed
from streamdesk.core.sse import ServerSentEvent

__all__ = ["finish_reason", "provider_error", "read_events", "too_long"]

EventReader = Callable[[str, dict[str, Any]], list[StreamEvent]]

# Provider stop reasons with an OpenAI word; any other is kept, lower-cased.
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "stop": "stop",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "model_context_window_exceeded": "length",
    "length": "length",
    "tool_use": "tool_calls",
}

_REFUSED = "The server refused the request mid-stream"
# What we say for each kind of error object: (head, what to do); the server's words go between.
_SENTENCES = {
    FailureKind.SERVER_ERROR: (
        "The server sent an error mid-stream",
        "Retry; if it persists, check the provider.",
    ),
    FailureKind.RATE_LIMITED: (
        "The server stopped the stream for rate limiting",
        "Wait a moment and retry.",
    ),
    FailureKind.AUTHENTICATION: (_REFUSED, "Check the API key."),
    FailureKind.PERMISSION: (_REFUSED, "Check that the key may use this model."),
    FailureKind.NOT_FOUND: (_REFUSED, "Check the model name and the base URL."),
    FailureKind.BAD_REQUEST: (_REFUSED, "Check the model, max tokens and temperature."),
}


def read_events(sse: ServerSentEvent, read: EventReader) -> list[StreamEvent]:
    """`read(type, object)` on the JSON object of `sse`, its type the object's `type` field or
    else the SSE event name; a bare `data:` line gives no events. Data that is not a JSON object,
    or fields of the wrong type (TypeError and kin from `read`), are a `BAD_RESPONSE` failure."""
    chunk = json_object(sse)
    if chunk is None:
        return []
    try:
        kind = chunk.get("type", sse.event)
        return read(kind if isinstance(kind, str) else "", chunk)
    except (TypeError, KeyError, AttributeError, IndexError, RecursionError):
        raise malformed(sse.data) from None


def finish_reason(reason: object) -> str | None:
    """A provider's stop reason in OpenAI's words where there is one, else lower-cased; None
    stays None and anything but a string is a TypeError."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise TypeError("finish reason")
    lowered = reason.lower()
    return _FINISH_REASONS.get(lowered, lowered)


def provider_error(
    error: object, kinds: Mapping[str, FailureKind], labels: tuple[str, ...]
) -> StreamError:
    """The failure for a provider's error object: its kind from the first of its `labels`
    fields whose value is in `kinds` (an error type, a status, an HTTP code), else by the
    chat-completions rules (a rate limit, or a server error); its message quoted."""
    if not isinstance(error, dict):
        return error_from_object(error)
    names = list(dict.fromkeys(str(error[key]) for key in labels if error.get(key) is not None))
    kind = next((kinds[name] for name in names if name in kinds), None)
    if kind is None:
        return error_from_object({"message": error.get("message"), "type": ", ".join(names)})
    head, tail = _SENTENCES[kind]
    message = quote(str(error.get("message") or "no message"), 300)
    return StreamError(kind, error_sentence(head, message, ", ".join(names), tail))


# How servers say a request is longer than the model reads, lower-cased: OpenAI and the servers
# that copy it (vLLM, DeepSeek, Mistral, OpenRouter, Groq: "maximum context length",
# `context_length_exceeded`; the Responses API: "exceeds the context window"), Anthropic
# ("prompt is too long", "exceed context limit"), Gemini ("exceeds the maximum number of
# tokens"), llama.cpp ("exceeds the available context size"), vLLM ("longer than the maximum
# model length"), TGI ("`inputs` tokens + `max_new_tokens` must be"), xAI ("maximum prompt
# length"), LM Studio ("context length of only") and Bedrock ("input is too long").
_TOO_LONG = re.compile(
    "|".join(
        re.escape(words)
        for words in (
            "maximum context length",
            "context_length_exceeded",
            "context length exceeded",
            "exceeds the context window",
            "prompt is too long",
            "exceed context limit",
            "exceeds the maximum number of tokens",
            "exceeds the available context size",
            "exceed_context_size",
            "longer than the maximum model length",
            "`inputs` tokens + `max_new_tokens` must be",
            "maximum prompt length",
            "context length of only",
            "input is too long",
        )
    )
)


def too_long(failure: Failure) -> bool:
    """Whether `failure` is the server refusing a request longer than its model reads: a
    refused request (HTTP 400 or 413, or an error object) in one of the wordings above."""
    return failure.kind is FailureKind.BAD_REQUEST and bool(
        _TOO_LONG.search(failure.message.lower())
    )
