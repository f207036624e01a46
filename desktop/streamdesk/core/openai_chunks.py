"""Turn the SSE events of an OpenAI chat-completions stream into core events.

Sans-I/O like the decoder under it: one `ServerSentEvent` in, a list of `StreamEvent` out, or a
`StreamError` when the server sent an error object or data we cannot read. Data that is not what
the API promises is a failure that quotes it, never a silent skip: a proxy's HTML error page or a
wrong base URL must not look like an empty reply. Unknown fields are ignored, so newer servers
and compatible providers (DeepSeek's `reasoning_content`, OpenRouter's `reasoning`) work.

Tool calls stream as `delta.tool_calls` entries: `index` tells parallel calls apart, `id` and
`function.name` come once, `function.arguments` in fragments (a server that leaves `index` out
is followed by `id`). Each fragment is a `ToolCallDelta`; each call is one `ToolCall` when the
choice's `finish_reason` arrives (at the latest before `Done`, whose reason is "tool_calls").
The legacy `delta.function_call` is read as one more call.

Nothing a server sends makes it raise anything but `StreamError`: JSON nested too deep for the
parser, token counts that are not small non-negative integers, and text holding lone UTF-16
surrogates (valid JSON, but no file or terminal can take them) are all handled here.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from streamdesk.core.errors import StreamError, excerpt, quote
from streamdesk.core.events import (
    Done,
    FailureKind,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)
from streamdesk.core.sse import ServerSentEvent
from streamdesk.core.tool_calls import ToolCallAssembler
from streamdesk.core.wording import adds_to

__all__ = [
    "ChunkInterpreter",
    "empty_reply",
    "error_from_object",
    "error_sentence",
    "malformed",
    "optional_text",
    "quote",
    "read_usage",
    "text_of",
]

MAX_TOKEN_COUNT = 10**12  # above any real count; keeps cost arithmetic in float range


class ChunkInterpreter:
    """State of one stream: events seen, the last finish reason, whether `[DONE]` arrived,
    and the tool calls being assembled."""

    __slots__ = ("_last_tool_key", "_tools", "done", "events_seen", "finish_reason")

    def __init__(self) -> None:
        self.done = False
        self.events_seen = 0  # none at the end of the stream: an empty reply, not a cut
        self.finish_reason: str | None = None  # the last one seen, reported by Done
        self._tools = ToolCallAssembler()
        self._last_tool_key: Hashable = 0  # where a fragment without an index or id belongs

    def interpret(self, sse: ServerSentEvent) -> list[StreamEvent]:
        """Events for one SSE event; raises `StreamError` for error objects and bad data."""
        data = sse.data
        self.events_seen += 1
        if self.done:
            return []  # nothing after [DONE] belongs to the reply
        if data.startswith("[DONE]") or data.strip() == "[DONE]":
            self.done = True
            return [*self._tools.finish_all(), Done(self._tools.finish_reason(self.finish_reason))]
        chunk = json_object(sse)
        if chunk is None:
            return []
        try:
            if chunk.get("error") is not None:
                raise error_from_object(chunk["error"])
            return self._events(chunk)
        except (TypeError, KeyError, AttributeError, IndexError, RecursionError):
            raise malformed(data) from None

    def _events(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """Events of one JSON chunk; a field of the wrong type raises TypeError."""
        events: list[StreamEvent] = []
        choices = chunk.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                events.append(ReasoningDelta(text_of(reasoning)))
            content = delta.get("content")
            if content:
                events.append(TextDelta(text_of(content)))
            if delta.get("tool_calls"):
                events += self._tool_fragments(delta["tool_calls"])
            if delta.get("function_call"):
                events += self._fragment("function_call", {}, delta["function_call"])
            finish_reason = choice.get("finish_reason")
            if finish_reason is not None:
                self.finish_reason = text_of(finish_reason)
                events += self._tools.finish_all()
        elif choices is not None and not isinstance(choices, list):
            raise TypeError("choices")
        usage = chunk.get("usage")
        if usage is not None:
            events.append(read_usage(usage))
        return events

    def _tool_fragments(self, calls: object) -> list[StreamEvent]:
        if not isinstance(calls, list):
            raise TypeError("tool_calls")
        events: list[StreamEvent] = []
        for call in calls:
            index = call.get("index")
            if index is None:  # some servers number nothing: a new id is a new call
                key = call.get("id") or self._last_tool_key
            elif isinstance(index, int) and not isinstance(index, bool):
                key = index
            else:
                raise TypeError("index")
            events += self._fragment(key, call, call.get("function") or {})
        return events

    def _fragment(
        self, key: Hashable, call: dict[str, Any], function: dict[str, Any]
    ) -> list[StreamEvent]:
        self._last_tool_key = key
        delta = self._tools.fragment(
            key,
            optional_text(call.get("id")),
            optional_text(function.get("name")),
            optional_text(function.get("arguments")),
        )
        return [] if delta is None else [delta]


def malformed(data: str) -> StreamError:
    """The one failure for data we cannot read, quoting it."""
    return StreamError(
        FailureKind.BAD_RESPONSE, f"Malformed stream data from the server: {excerpt(data)}."
    )


def empty_reply() -> StreamError:
    """The failure for a stream that ended cleanly without a single event (not a cut)."""
    return StreamError(
        FailureKind.EMPTY_REPLY,
        "The server returned an empty reply; the prompt may exceed the model's context.",
    )


def error_from_object(error: object) -> StreamError:
    """An error object sent inside the stream (OpenAI shape, or a bare string), message quoted."""
    if isinstance(error, dict):
        message = quote(str(error.get("message") or "no message"), 300)
        labels = list(dict.fromkeys(str(error.get(key) or "") for key in ("type", "code")))
    else:
        message, labels = quote(str(error), 300), []
    detail = ", ".join(label for label in labels if label)
    normalized = " ".join(labels).lower().replace("_", " ")
    if "rate limit" in normalized or "ratelimit" in normalized or "429" in normalized:
        kind, head, tail = (
            FailureKind.RATE_LIMITED,
            "The server stopped the stream for rate limiting",
            "Wait a moment and retry.",
        )
    else:
        kind, head = FailureKind.SERVER_ERROR, "The server sent an error mid-stream"
        tail = "Retry; if it persists, check the provider."
    return StreamError(kind, error_sentence(head, message, detail, tail))


def error_sentence(head: str, message: str, detail: str, tail: str) -> str:
    """ "<head>: <the server's message> (<type, code>). <tail>"; the message only when it
    adds something to the head (see `core.wording`), the labels always."""
    said = message.rstrip(". ")
    sentence = f"{head}: {said}" if adds_to(said, head) else head
    return f"{sentence}{f' ({detail})' if detail else ''}. {tail}"


def text_of(value: object) -> str:
    """`value` as reply text; TypeError unless a string. Lone surrogates become U+FFFD."""
    if not isinstance(value, str):
        raise TypeError("expected a string")
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def optional_text(value: object) -> str:
    """`value` as text, "" when absent or null; TypeError for anything but a string."""
    return "" if value is None else text_of(value)


def json_object(sse: ServerSentEvent) -> dict[str, Any] | None:
    """The JSON object an event carries (None for a bare `data:` line, some servers'
    keep-alive); data that is not a JSON object is a `BAD_RESPONSE` failure, an unreadable
    `event: error` a server error quoting it. Every dialect reads its events through this."""
    data = sse.data
    try:
        chunk = json.loads(data)
    except (ValueError, RecursionError):
        if not data.strip():
            return None
        if sse.event == "error":
            raise error_from_object({"message": quote(data)}) from None
        raise malformed(data) from None
    if not isinstance(chunk, dict):
        raise malformed(data)
    return chunk


def read_usage(usage: object) -> Usage:
    """A `usage` object; TypeError unless its counts are absent, null or non-negative integers."""
    if not isinstance(usage, dict):
        raise TypeError("usage")
    return Usage(count(usage, "prompt_tokens"), count(usage, "completion_tokens"))


def count(fields: object, key: str) -> int:
    """The token count `fields[key]`: 0 when absent or null (or `fields` is None); TypeError
    unless a non-negative integer of a believable size, or `fields` is not an object."""
    if fields is None:
        return 0
    if not isinstance(fields, dict):
        raise TypeError("usage")
    value = fields.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TOKEN_COUNT:
        raise TypeError(key)
    return value
