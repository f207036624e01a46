"""OpenAI Responses (`POST {base}/responses`, `stream: true`): typed SSE events to core events.

Each event's `event:` name matches its JSON `type`. Text comes in `response.output_text.delta`,
reasoning in `response.reasoning_summary_text.delta` or `response.reasoning_text.delta`; the
stream ends with `response.completed` or `response.incomplete` (with the usage and, for the
latter, why it stopped short), or fails with `response.failed` or an `error` event. Other events
(`response.created`, `response.content_part.added`, …) carry nothing new for a reply.
Without a terminal event the stream was cut.

A tool call is a `function_call` output item: `response.output_item.added` brings its `call_id`
and `name`, `response.function_call_arguments.delta` the arguments' JSON text in fragments, and
`response.function_call_arguments.done` (or else the item's `response.output_item.done`)
completes it (one `ToolCall`); a response that asked for tools ends "tool_calls". In requests,
tools are `{type: "function", name, description, parameters}`, calls `function_call` input items
and results `function_call_output` items. A prompt with images is a message whose content is an
`input_text` part and one `input_image` part (a base64 data URL) per image.
"""

from __future__ import annotations

from typing import Any

from streamdesk.core.dialects.wire import finish_reason, provider_error, read_events
from streamdesk.core.events import Done, FailureKind, ReasoningDelta, StreamEvent, TextDelta, Usage
from streamdesk.core.openai_chunks import count, optional_text, text_of
from streamdesk.core.request import ChatRequest, Message, arguments_json
from streamdesk.core.sse import ServerSentEvent
from streamdesk.core.tool_calls import ToolCallAssembler

__all__ = ["ResponsesInterpreter", "auth_headers", "request_body", "request_path"]

# OpenAI error types and codes; any other goes by the chat-completions rules.
ERROR_KINDS = {
    "invalid_request_error": FailureKind.BAD_REQUEST,
    "invalid_prompt": FailureKind.BAD_REQUEST,
    "context_length_exceeded": FailureKind.BAD_REQUEST,
    "authentication_error": FailureKind.AUTHENTICATION,
    "invalid_api_key": FailureKind.AUTHENTICATION,
    "permission_error": FailureKind.PERMISSION,
    "not_found_error": FailureKind.NOT_FOUND,
    "model_not_found": FailureKind.NOT_FOUND,
    "rate_limit_exceeded": FailureKind.RATE_LIMITED,
    "insufficient_quota": FailureKind.RATE_LIMITED,
    "server_error": FailureKind.SERVER_ERROR,
}
_ERROR_LABELS = ("code", "type")

_REASONING_DELTAS = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")


class ResponsesInterpreter:
    """State of one stream: events seen, the finish reason, whether it ended."""

    __slots__ = ("_tools", "done", "events_seen", "finish_reason")

    def __init__(self) -> None:
        self.done = False
        self.events_seen = 0  # none at the end of the stream: an empty reply, not a cut
        self.finish_reason: str | None = None
        self._tools = ToolCallAssembler()

    def interpret(self, sse: ServerSentEvent) -> list[StreamEvent]:
        """Events for one SSE event; raises `StreamError` for failures and bad data."""
        self.events_seen += 1
        if self.done:
            return []  # nothing after the terminal event belongs to the reply
        return read_events(sse, self._events)

    def _events(self, kind: str, event: dict[str, Any]) -> list[StreamEvent]:
        if kind == "response.output_text.delta":
            return [TextDelta(text_of(event["delta"]))] if event["delta"] else []
        if kind in _REASONING_DELTAS:
            return [ReasoningDelta(text_of(event["delta"]))] if event["delta"] else []
        if kind == "response.function_call_arguments.delta":
            delta = self._tools.fragment(_item_key(event), arguments=optional_text(event["delta"]))
            return [] if delta is None else [delta]
        if kind == "response.function_call_arguments.done":
            call = self._tools.finish(_item_key(event), optional_text(event.get("arguments")))
            return [] if call is None else [call]
        if kind in ("response.output_item.added", "response.output_item.done"):
            return self._item(kind, event)
        if kind == "response.completed":
            return self._finish(event["response"], "stop")
        if kind == "response.incomplete":
            details = event["response"].get("incomplete_details") or {}
            return self._finish(event["response"], finish_reason(details.get("reason")))
        if kind == "response.failed":
            error = event["response"].get("error")
            raise provider_error(error or {"code": "server_error"}, ERROR_KINDS, _ERROR_LABELS)
        if kind == "error":
            nested = event.get("error")
            error = (
                nested if nested is not None else {k: v for k, v in event.items() if k != "type"}
            )
            raise provider_error(error, ERROR_KINDS, _ERROR_LABELS)
        return []

    def _item(self, kind: str, event: dict[str, Any]) -> list[StreamEvent]:
        """A `function_call` item begins (its id and name) or ends (its whole arguments)."""
        item = event["item"]
        if item.get("type") != "function_call":
            return []
        key = _item_key({"item_id": item.get("id"), "output_index": event.get("output_index")})
        if kind == "response.output_item.done":
            call = self._tools.finish(key, optional_text(item.get("arguments")))
            return [] if call is None else [call]
        name = optional_text(item.get("name"))
        delta = self._tools.fragment(key, optional_text(item.get("call_id")), name)
        given = optional_text(item.get("arguments"))  # whole arguments sent at the start
        more = self._tools.fragment(key, arguments=given) if given else None
        return [event for event in (delta, more) if event is not None]

    def _finish(self, response: dict[str, Any], reason: str | None) -> list[StreamEvent]:
        self.done = True
        self.finish_reason = self._tools.finish_reason(reason)
        events: list[StreamEvent] = [*self._tools.finish_all()]
        usage = response.get("usage")
        if usage is not None:
            events.append(_usage(usage))
        return [*events, Done(self.finish_reason)]


def _item_key(event: dict[str, Any]) -> str | int:
    """What tells an output item's events apart: its id, else its output index."""
    item_id, index = event.get("item_id"), event.get("output_index")
    if isinstance(item_id, str) and item_id:
        return item_id
    if isinstance(index, int) and not isinstance(index, bool):
        return index
    raise TypeError("item_id")


def _usage(usage: object) -> Usage:
    if not isinstance(usage, dict):
        raise TypeError("usage")
    return Usage(
        count(usage, "input_tokens"),
        count(usage, "output_tokens"),
        cached_tokens=count(usage.get("input_tokens_details"), "cached_tokens"),
        reasoning_tokens=count(usage.get("output_tokens_details"), "reasoning_tokens"),
    )


def request_body(request: ChatRequest) -> dict[str, Any]:
    """The JSON body of a streamed Responses request: system messages as `instructions`, the
    rest of the conversation as `input`."""
    instructions = "\n\n".join(m.content for m in request.messages if m.role == "system")
    body: dict[str, Any] = {
        "model": request.model,
        "input": [item for m in request.messages if m.role != "system" for item in _items(m)],
        "stream": True,
    }
    if instructions:
        body["instructions"] = instructions
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "name": tool.name,
                "description": tool.description,
                "parameters": dict(tool.parameters),
            }
            if tool.description
            else {"type": "function", "name": tool.name, "parameters": dict(tool.parameters)}
            for tool in request.tools
        ]
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.reasoning:  # reasoning models: stream a summary of their reasoning
        body["reasoning"] = {"summary": "auto"}
    return body


def _items(message: Message) -> list[dict[str, Any]]:
    """A message as input items: a tool result is a `function_call_output`, an assistant's
    calls `function_call` items after its text."""
    if message.role == "tool":
        return [
            {
                "type": "function_call_output",
                "call_id": message.tool_call_id,
                "output": message.content,
            }
        ]
    items: list[dict[str, Any]] = []
    if message.attachments:
        content = [{"type": "input_text", "text": message.content}]
        content += [{"type": "input_image", "image_url": a.data_url} for a in message.attachments]
        items.append({"role": message.role, "content": content})
    elif message.content or not message.tool_calls:
        items.append({"role": message.role, "content": message.content})
    items += [
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": arguments_json(call),
        }
        for call in message.tool_calls
    ]
    return items


def request_path(model: str) -> str:
    """Where to post, relative to a base URL such as https://api.openai.com/v1."""
    return "/responses"


def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
