"""Anthropic Messages (`POST {base}/messages`, `stream: true`): typed SSE events to core events.

The stream is `message_start` (input usage), content blocks (`content_block_start`, `_delta`,
`_stop`) whose deltas are `text_delta`, `thinking_delta`, `signature_delta` or
`input_json_delta`, `message_delta` (stop reason, output usage), then `message_stop`, the
terminal event; `ping` may come anywhere and `error` (such as `overloaded_error`) may end the
stream instead. Without `message_stop` the stream was cut. Usage is counted the OpenAI way: the
prompt includes cache reads and writes, and `cached_tokens` is the cache reads.

A tool call is a `tool_use` content block: its start carries the id and name, its
`input_json_delta`s the arguments' JSON text, and its `content_block_stop` completes it (one
`ToolCall`); the stop reason is then `tool_use` ("tool_calls" in `Done`). In requests, tools are
`{name, description, input_schema}`, an assistant's calls `tool_use` blocks, and results
`tool_result` blocks (with `is_error`) in one user message per run of consecutive results.
Images are `image` blocks with a base64 `source`, before the prompt's text.

With extended thinking, a `thinking` block's text streams as `thinking_delta`s (shown as
reasoning) and its `signature_delta` signs it; a `redacted_thinking` block carries encrypted
`data` whole. Each ends as one `ReasoningBlock`, which a tool round keeps: the API rejects the
next request unless the assistant message with the `tool_use` starts with those blocks
exactly as received.
"""

from __future__ import annotations

import json
import re
from typing import Any

from streamdesk.core.dialects.wire import finish_reason, provider_error, read_events
from streamdesk.core.events import (
    Done,
    FailureKind,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)
from streamdesk.core.openai_chunks import count, optional_text, text_of
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.sse import ServerSentEvent
from streamdesk.core.tool_calls import ToolCallAssembler

__all__ = [
    "AnthropicInterpreter",
    "auth_headers",
    "max_tokens",
    "request_body",
    "request_path",
]

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # the API requires max_tokens; every current model allows this many

ERROR_KINDS = {
    "invalid_request_error": FailureKind.BAD_REQUEST,
    "request_too_large": FailureKind.BAD_REQUEST,
    "authentication_error": FailureKind.AUTHENTICATION,
    "permission_error": FailureKind.PERMISSION,
    "not_found_error": FailureKind.NOT_FOUND,
    "rate_limit_error": FailureKind.RATE_LIMITED,
    "api_error": FailureKind.SERVER_ERROR,
    "overloaded_error": FailureKind.SERVER_ERROR,
    "timeout_error": FailureKind.SERVER_ERROR,
}

_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


class AnthropicInterpreter:
    """State of one stream: events seen, usage and stop reason so far, whether it stopped."""

    __slots__ = (
        "_inputs",
        "_reasoning",
        "_tools",
        "_usage",
        "done",
        "events_seen",
        "finish_reason",
    )

    def __init__(self) -> None:
        self.done = False
        self.events_seen = 0  # none at the end of the stream: an empty reply, not a cut
        self.finish_reason: str | None = None
        self._usage: dict[str, int] = {}  # the latest value of each count the server sent
        self._tools = ToolCallAssembler()
        self._inputs: dict[int, str] = {}  # a tool_use block's `input` given whole at its start
        self._reasoning: dict[int, _OpenBlock] = {}  # thinking blocks not ended yet, by index

    def interpret(self, sse: ServerSentEvent) -> list[StreamEvent]:
        """Events for one SSE event; raises `StreamError` for error events and bad data."""
        self.events_seen += 1
        if self.done:
            return []  # nothing after message_stop belongs to the reply
        return read_events(sse, self._events)

    def _events(self, kind: str, event: dict[str, Any]) -> list[StreamEvent]:
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta.get("type") == "input_json_delta":
                return self._tool_fragment(event["index"], delta)
            if delta.get("type") in ("thinking_delta", "signature_delta"):
                self._open_block(event["index"]).add(delta)
            return _delta(delta)
        if kind == "content_block_start":
            block = event["content_block"]
            if block.get("type") == "tool_use":
                return self._tool_start(event["index"], block)
            if block.get("type") in ("thinking", "redacted_thinking"):
                self._open_block(event["index"]).add(block)
            return _delta(block)
        if kind == "content_block_stop":
            index = event.get("index")
            if not isinstance(index, int):
                return []
            thought = self._reasoning.pop(index, None)
            if thought is not None:
                return [thought.finish()]
            call = self._tools.finish(index, self._inputs.pop(index, None))
            return [] if call is None else [call]
        if kind == "message_start":
            self._add_usage(event["message"].get("usage"))
        elif kind == "message_delta":
            self.finish_reason = finish_reason(event["delta"].get("stop_reason"))
            self._add_usage(event.get("usage"))
        elif kind == "message_stop":
            self.done = True
            thoughts = [block.finish() for block in self._reasoning.values()]
            self._reasoning.clear()
            calls: list[StreamEvent] = [*thoughts, *self._tools.finish_all()]
            return [
                *calls,
                *self._usage_event(),
                Done(self._tools.finish_reason(self.finish_reason)),
            ]
        elif kind == "error":
            raise provider_error(event.get("error"), ERROR_KINDS, ("type",))
        return []  # ping, and types added after this was written

    def _open_block(self, index: object) -> _OpenBlock:
        key = _block_index(index)
        block = self._reasoning.get(key)
        if block is None:
            block = self._reasoning[key] = _OpenBlock()
        return block

    def _tool_start(self, index: object, block: dict[str, Any]) -> list[StreamEvent]:
        key = _block_index(index)
        given = block.get("input")
        if given:  # a server that sends the input whole instead of as deltas
            if not isinstance(given, dict):
                raise TypeError("input")
            self._inputs[key] = json.dumps(given, ensure_ascii=False)
        call_id, name = optional_text(block.get("id")), optional_text(block.get("name"))
        delta = self._tools.fragment(key, call_id, name)
        return [] if delta is None else [delta]

    def _tool_fragment(self, index: object, delta: dict[str, Any]) -> list[StreamEvent]:
        key = _block_index(index)
        piece = self._tools.fragment(key, arguments=optional_text(delta.get("partial_json")))
        return [] if piece is None else [piece]

    def _add_usage(self, usage: object) -> None:
        if usage is None:
            return
        if not isinstance(usage, dict):
            raise TypeError("usage")
        for key in _USAGE_KEYS:
            if usage.get(key) is not None:  # message_delta repeats only some counts
                self._usage[key] = count(usage, key)

    def _usage_event(self) -> list[StreamEvent]:
        if not self._usage:
            return []
        cached = self._usage.get("cache_read_input_tokens", 0)
        written = self._usage.get("cache_creation_input_tokens", 0)
        prompt = self._usage.get("input_tokens", 0) + cached + written
        return [Usage(prompt, self._usage.get("output_tokens", 0), cached_tokens=cached)]


class _OpenBlock:
    """A thinking or redacted_thinking block as far as it has come: its pieces of text,
    signature and redacted data, joined when it ends."""

    __slots__ = ("redacted", "signature", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.signature: list[str] = []
        self.redacted: list[str] = []

    def add(self, part: dict[str, Any]) -> None:
        """A block's start or one of its deltas; fields it does not have add nothing."""
        for key, pieces in (
            ("thinking", self.text),
            ("signature", self.signature),
            ("data", self.redacted),
        ):
            value = part.get(key)
            if value:
                pieces.append(text_of(value))

    def finish(self) -> ReasoningBlock:
        return ReasoningBlock("".join(self.text), "".join(self.signature), "".join(self.redacted))


def _block_index(index: object) -> int:
    if not isinstance(index, int) or isinstance(index, bool):
        raise TypeError("index")
    return index


def _delta(delta: object) -> list[StreamEvent]:
    """Text or thinking of a content block or its delta; signatures and tool input are not."""
    if not isinstance(delta, dict):
        raise TypeError("delta")
    kind = delta.get("type")
    if kind in ("text_delta", "text") and delta.get("text"):
        return [TextDelta(text_of(delta["text"]))]
    if kind in ("thinking_delta", "thinking") and delta.get("thinking"):
        return [ReasoningDelta(text_of(delta["thinking"]))]
    return []


def request_body(request: ChatRequest) -> dict[str, Any]:
    """The JSON body of a streamed Messages request. System messages become the top-level
    `system`; a last assistant message is Anthropic's prefill, which the model continues (the
    API refuses one ending in whitespace, so that is trimmed)."""
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    messages = _messages(request.messages, request.reasoning)
    if (
        messages
        and isinstance(messages[-1]["content"], str)
        and messages[-1]["role"] == "assistant"
    ):
        messages[-1]["content"] = messages[-1]["content"].rstrip()
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": max_tokens(request.max_tokens, request.reasoning),
        "messages": messages,
        "stream": True,
    }
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
            if t.description
            else {"name": t.name, "input_schema": dict(t.parameters)}
            for t in request.tools
        ]
    if request.reasoning:
        # Extended thinking takes no temperature (the API allows only the default with it on).
        budget = thinking_budget(request.max_tokens)
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif request.temperature is not None:
        body["temperature"] = request.temperature
    return body


THINKING_MIN_BUDGET = 1024  # the API's least thinking budget


def thinking_budget(asked: int | None) -> int:
    """The thinking budget of a request that asked for `asked` max_tokens (None: none): half
    of them, at least the API's minimum."""
    return max(THINKING_MIN_BUDGET, (DEFAULT_MAX_TOKENS if asked is None else asked) // 2)


def max_tokens(asked: int | None, reasoning: bool) -> int:
    """The max_tokens a Messages request sends: `asked`, else `DEFAULT_MAX_TOKENS` (the API
    requires one); with thinking on, at least the thinking budget and the API's minimum more
    for the answer, since the budget must stay below it. The server counts them all against
    the context window, so the request's history leaves exactly this much room."""
    tokens = DEFAULT_MAX_TOKENS if asked is None else asked
    return max(tokens, thinking_budget(asked) + THINKING_MIN_BUDGET) if reasoning else tokens


_NOT_IN_IDS = re.compile(r"[^A-Za-z0-9_-]")  # the API's tool_use id pattern


def _messages(messages: tuple[Message, ...], thinking: bool) -> list[dict[str, Any]]:
    """The conversation without system messages; tool calls as `tool_use` blocks, after the
    reasoning blocks that came before them when `thinking` is on (the API wants none when it is
    off), and each run of tool results as one user message of `tool_result` blocks."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": _tool_id(m.tool_call_id),
                "content": m.content,
            }
            if m.is_error:
                result["is_error"] = True
            if out and out[-1]["role"] == "user" and _all_results(out[-1]["content"]):
                out[-1]["content"].append(result)
            else:
                out.append({"role": "user", "content": [result]})
        elif m.tool_calls:
            blocks = [_reasoning_block(b) for b in m.reasoning_blocks] if thinking else []
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            blocks += [
                {
                    "type": "tool_use",
                    "id": _tool_id(c.call_id),
                    "name": c.name,
                    "input": dict(c.arguments),
                }
                for c in m.tool_calls
            ]
            out.append({"role": m.role, "content": blocks})
        elif (
            m.role == "user"
            and out
            and out[-1]["role"] == "user"
            and _all_results(out[-1]["content"])
        ):
            # A prompt after results that ended a reply: one user turn, results first, as
            # the API wants them.
            out[-1]["content"] += _blocks(m)
        elif m.attachments:
            out.append({"role": m.role, "content": _blocks(m)})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def _reasoning_block(block: ReasoningBlock) -> dict[str, Any]:
    """A thinking block as the API sent it: its text and signature, or its redacted data."""
    if block.redacted:
        return {"type": "redacted_thinking", "data": block.redacted}
    return {"type": "thinking", "thinking": block.text, "signature": block.signature}


def _blocks(m: Message) -> list[dict[str, Any]]:
    """A prompt as content blocks: its images first (where Claude reads them best), then its
    text."""
    images = [
        {"type": "image", "source": {"type": "base64", "media_type": a.mime, "data": a.base64}}
        for a in m.attachments
    ]
    return [*images, {"type": "text", "text": m.content}]


def _all_results(content: object) -> bool:
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def _tool_id(call_id: str) -> str:
    """An id as the API accepts it (letters, digits, _ and -), the same for a call and its
    result, so calls made through another API can be sent here."""
    return _NOT_IN_IDS.sub("_", call_id) or "call"


def request_path(model: str) -> str:
    """Where to post, relative to a base URL such as https://api.anthropic.com/v1."""
    return "/messages"


def auth_headers(api_key: str) -> dict[str, str]:
    return {"x-api-key": api_key, "anthropic-version": API_VERSION}
