"""Turn the frames of the WebSocket chat protocol into core events.

Sans-I/O like `openai_chunks`: one frame's bytes (or text) in, the `StreamEvent`s it carries out
(usually one, none for frames that carry nothing), or a `StreamError` for an `error` frame or a
frame we cannot read. Frames are JSON objects with a `type`:

- `{"type": "content.delta", "delta": "…"}` and `{"type": "reasoning.delta", "delta": "…"}`;
- `{"type": "tool_call.delta", "index": 0, "id": "call_1", "name": "add", "arguments": "{\"a"}`:
  a fragment of a tool call. `index` tells parallel calls apart (0, 1, … in the order they
  begin); `id` and `name` come with the call's first frame and may be left out (or "") after;
  `arguments` is the next piece of the JSON text. The calls are complete at `completion.done`;
- `{"type": "usage", "usage": {"prompt_tokens", "completion_tokens"}}`;
- `{"type": "completion.done", "finish_reason": "stop" | "length" | "tool_calls"}`: the end;
- `{"type": "error", "error": {"message", "type", "code"}}`.

Other types carry nothing for us and are skipped, so newer servers work. A frame of the wrong
shape (not JSON, nested too deep, a delta that is not a string, a token count that is not a small
non-negative integer) is a `BAD_RESPONSE` that quotes it, never another exception. Tool calls
are assembled as over SSE (`ToolCallDelta` per fragment, one `ToolCall` per call just before
`Done`, whose reason is then "tool_calls"); arguments that are not a JSON object fail that call,
not the stream.
"""

from __future__ import annotations

import json

from streamdesk.core.errors import StreamError, excerpt
from streamdesk.core.events import (
    Done,
    FailureKind,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
)
from streamdesk.core.openai_chunks import error_from_object, optional_text, read_usage, text_of
from streamdesk.core.tool_calls import ToolCallAssembler
from streamdesk.core.transports._classify import host_of, http_error, truncate

__all__ = ["MAX_MESSAGE_BYTES", "FrameInterpreter"]

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Bytes one WebSocket message may hold: the same bound as one SSE event (see `websocket.py`)."""


class FrameInterpreter:
    """State of one conversation: frames seen, whether a delta arrived (then errors are
    mid-stream), and the tool calls being assembled. `url` only names the server in messages."""

    __slots__ = ("_tools", "frames_seen", "started", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames_seen = 0  # none when the server closes: an empty reply, not a cut
        self.started = False  # a text, reasoning or tool-call delta arrived
        self._tools = ToolCallAssembler()

    def interpret(self, raw: bytes | str) -> list[StreamEvent]:
        """The events of one frame: none for frames that carry nothing (unknown types)."""
        self.frames_seen += 1
        try:
            data = json.loads(raw)
            kind = data["type"]
        except (ValueError, TypeError, KeyError, RecursionError):
            raise self._malformed(raw) from None
        try:
            event = self._event(kind, data)
        except (TypeError, AttributeError, RecursionError):
            raise self._malformed(raw) from None
        if event is None:
            return []
        if type(event) is Done:
            return [*self._tools.finish_all(), event]
        if type(event) in (TextDelta, ReasoningDelta, ToolCallDelta):
            self.started = True
        return [event]

    def _event(self, kind: object, data: dict[str, object]) -> StreamEvent | None:
        """The event of a parsed frame; TypeError or AttributeError for a field of a wrong type."""
        if kind == "content.delta":
            delta = data.get("delta")
            return TextDelta(text_of(delta)) if delta else None  # empty deltas carry nothing
        if kind == "reasoning.delta":
            delta = data.get("delta")
            return ReasoningDelta(text_of(delta)) if delta else None
        if kind == "tool_call.delta":
            index = data.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                raise TypeError("index")
            return self._tools.fragment(
                index,
                optional_text(data.get("id")),
                optional_text(data.get("name")),
                optional_text(data.get("arguments")),
            )
        if kind == "usage":
            return read_usage(data.get("usage") or {})
        if kind == "completion.done":
            finish_reason = data.get("finish_reason")
            reason = None if finish_reason is None else text_of(finish_reason)
            return Done(self._tools.finish_reason(reason))
        if kind == "error":
            raise self._error_frame(data.get("error"))
        return None

    def _malformed(self, raw: bytes | str) -> StreamError:
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        return StreamError(
            FailureKind.BAD_RESPONSE,
            f"{host_of(self.url)} sent a frame that is not a protocol message: {excerpt(text)}.",
        )

    def _error_frame(self, error: object) -> StreamError:
        """An `error` frame; its `code`, when an HTTP status, classifies it like that status.

        Before the first token it answers the request, so it reads like that HTTP status; after
        it, no HTTP status happened: it reads as an error sent mid-stream, as over SSE.
        """
        err = error if isinstance(error, dict) else {"message": str(error)}
        code = err.get("code")
        if isinstance(code, int) and 400 <= code < 600:
            headers: dict[str, str] = {}
            if isinstance(err.get("retry_after"), int | float):
                headers["retry-after"] = str(err["retry_after"])
            body = json.dumps({"error": err}).encode()
            classified = http_error(code, headers, body, self.url)
            if not self.started:
                return classified
            said = error_from_object(err)
            return StreamError(classified.kind, said.message, retry_after=classified.retry_after)
        message = truncate(str(err.get("message") or err))
        return StreamError(
            FailureKind.SERVER_ERROR,
            f"{host_of(self.url)} reported an error during the reply: {message}",
        )
