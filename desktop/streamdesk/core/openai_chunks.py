"""OpenAI chat-completions stream chunks (one SSE event each) turned into core events.

Unknown fields are ignored so that any OpenAI-compatible server works; anything that is not the
expected shape is a `BAD_RESPONSE` failure quoting the line, never a silent skip.
"""

from __future__ import annotations

import json
from typing import Any

from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    FailureKind,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)
from streamdesk.core.sse import ServerSentEvent

QUOTE_LIMIT = 120
_RATE_LIMIT_MARKERS = ("rate_limit", "rate limit", "too many requests", "429")


def quote(line: str, limit: int = QUOTE_LIMIT) -> str:
    """A line shortened for an error message."""
    line = line.replace("\n", "\\n")
    return line if len(line) <= limit else line[:limit] + "…"


def _malformed(data: str, why: str) -> StreamError:
    return StreamError(
        FailureKind.BAD_RESPONSE,
        f"Malformed stream data from the server ({why}): {quote(data)}",
    )


def error_from_object(error: Any) -> StreamError:
    """An `error` object sent inside a stream (OpenAI shape, or a bare string)."""
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("type") or "unknown error")
        marker = f"{error.get('type', '')} {error.get('code', '')} {message}".lower()
    else:
        message = str(error)
        marker = message.lower()
    kind = FailureKind.SERVER_ERROR
    if any(m in marker for m in _RATE_LIMIT_MARKERS):
        kind = FailureKind.RATE_LIMITED
    return StreamError(kind, f"The server reported an error mid-stream: {quote(message)}")


class ChunkInterpreter:
    """Stateful: remembers the finish reason until `[DONE]` arrives."""

    __slots__ = ("done", "finish_reason")

    def __init__(self) -> None:
        self.done = False
        self.finish_reason: str | None = None

    def interpret(self, sse: ServerSentEvent) -> list[StreamEvent]:
        data = sse.data
        if data.startswith("[DONE]") or data.strip() == "[DONE]":
            self.done = True
            return [Done(self.finish_reason)]
        try:
            chunk = json.loads(data)
        except ValueError:
            raise _malformed(data, "not JSON") from None
        if not isinstance(chunk, dict):
            raise _malformed(data, "not a JSON object")
        if chunk.get("error") is not None:
            raise error_from_object(chunk["error"])
        events: list[StreamEvent] = []
        choices = chunk.get("choices")
        if choices:
            if not isinstance(choices, list) or not isinstance(choices[0], dict):
                raise _malformed(data, "'choices' is not a list of objects")
            choice = choices[0]
            delta = choice.get("delta")
            if isinstance(delta, dict):
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning and isinstance(reasoning, str):
                    events.append(ReasoningDelta(reasoning))
                content = delta.get("content")
                if content and isinstance(content, str):
                    events.append(TextDelta(content))
            elif delta is not None:
                raise _malformed(data, "'delta' is not an object")
            reason = choice.get("finish_reason")
            if isinstance(reason, str):
                self.finish_reason = reason
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            try:
                events.append(
                    Usage(
                        int(usage.get("prompt_tokens") or 0),
                        int(usage.get("completion_tokens") or 0),
                    )
                )
            except (TypeError, ValueError):
                raise _malformed(data, "'usage' counts are not numbers") from None
        return events
