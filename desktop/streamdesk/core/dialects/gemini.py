"""Gemini `streamGenerateContent?alt=sse`: each `data:` is a whole `GenerateContentResponse`.

Text is in `candidates[0].content.parts[].text`, parts marked `thought: true` being the model's
thinking. The chunk that carries a `finishReason` (STOP, MAX_TOKENS, SAFETY, …) is the last; a
prompt blocked outright ends with `promptFeedback.blockReason` and no candidate. `usageMetadata`
is cumulative, so the last one seen is the reply's. Without a finish reason the stream was cut.
Usage is counted the OpenAI way: completion tokens include the thoughts, and the cached count is
part of the prompt.

A tool call is a `functionCall` part (`name`, `args` whole, sometimes an `id`, sometimes a
`thoughtSignature` beside it that must go back with the call): one `ToolCallDelta` with the whole
arguments and one `ToolCall` at once. A call without an id gets `sd-<tag>-<n>`, the tag made from
the response id; such ids are left out of requests. The finish reason is then "tool_calls". In
requests, tools are `functionDeclarations` (with `parametersJsonSchema`, which takes any JSON
Schema), calls `functionCall` parts of the model's turn, and each run of results one user turn
of `functionResponse` parts (`response: {"output": …}` or `{"error": …}`). Images are
`inlineData` parts (`mimeType`, base64 `data`) after the prompt's text.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from streamdesk.core.dialects.wire import finish_reason, provider_error, read_events
from streamdesk.core.events import Done, FailureKind, ReasoningDelta, StreamEvent, TextDelta, Usage
from streamdesk.core.openai_chunks import count, optional_text, text_of
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.sse import ServerSentEvent
from streamdesk.core.tool_calls import ToolCallAssembler, is_synthetic_id

__all__ = ["GeminiInterpreter", "auth_headers", "request_body", "request_path"]

# Google API error statuses (google.rpc.Code) and the HTTP codes that carry them.
ERROR_KINDS = {
    "INVALID_ARGUMENT": FailureKind.BAD_REQUEST,
    "FAILED_PRECONDITION": FailureKind.BAD_REQUEST,
    "OUT_OF_RANGE": FailureKind.BAD_REQUEST,
    "UNAUTHENTICATED": FailureKind.AUTHENTICATION,
    "PERMISSION_DENIED": FailureKind.PERMISSION,
    "NOT_FOUND": FailureKind.NOT_FOUND,
    "RESOURCE_EXHAUSTED": FailureKind.RATE_LIMITED,
    "INTERNAL": FailureKind.SERVER_ERROR,
    "UNAVAILABLE": FailureKind.SERVER_ERROR,
    "DEADLINE_EXCEEDED": FailureKind.SERVER_ERROR,
    "400": FailureKind.BAD_REQUEST,
    "401": FailureKind.AUTHENTICATION,
    "403": FailureKind.PERMISSION,
    "404": FailureKind.NOT_FOUND,
    "429": FailureKind.RATE_LIMITED,
}


class GeminiInterpreter:
    """State of one stream: events seen, the last usage metadata, whether it finished."""

    __slots__ = ("_tagged", "_tools", "_usage", "done", "events_seen", "finish_reason")

    def __init__(self) -> None:
        self.done = False
        self.events_seen = 0  # none at the end of the stream: an empty reply, not a cut
        self.finish_reason: str | None = None
        self._usage: Usage | None = None
        self._tools = ToolCallAssembler()
        self._tagged = False  # the ids made for calls are named after the response id

    def interpret(self, sse: ServerSentEvent) -> list[StreamEvent]:
        """Events for one SSE event; raises `StreamError` for error objects and bad data."""
        self.events_seen += 1
        if self.done:
            return []  # nothing after the finishing chunk belongs to the reply
        return read_events(sse, self._events)

    def _events(self, kind: str, chunk: dict[str, Any]) -> list[StreamEvent]:
        if chunk.get("error") is not None:
            raise provider_error(chunk["error"], ERROR_KINDS, ("status", "code"))
        events: list[StreamEvent] = []
        reason: object = None
        candidates = chunk.get("candidates")
        if candidates:
            candidate = candidates[0]
            content = candidate.get("content") or {}
            for part in content.get("parts") or ():
                text = part.get("text")
                if text:
                    delta = ReasoningDelta if part.get("thought") is True else TextDelta
                    events.append(delta(text_of(text)))
                if part.get("functionCall") is not None:
                    events += self._call(chunk, part)
            reason = candidate.get("finishReason")
        elif candidates is not None and not isinstance(candidates, list):
            raise TypeError("candidates")
        feedback = chunk.get("promptFeedback")
        if reason is None and feedback is not None:
            reason = feedback.get("blockReason")
        if chunk.get("usageMetadata") is not None:
            self._usage = _usage(chunk["usageMetadata"])
        if reason is not None:
            self.finish_reason = self._tools.finish_reason(finish_reason(reason))
            self.done = True
            if self._usage is not None:
                events.append(self._usage)
            events.append(Done(self.finish_reason))
        return events

    def _call(self, chunk: dict[str, Any], part: dict[str, Any]) -> list[StreamEvent]:
        """A `functionCall` part: its delta and the whole call, which came in one piece."""
        if not self._tagged and isinstance(chunk.get("responseId"), str):
            self._tagged = True
            digest = hashlib.sha256(chunk["responseId"].encode("utf-8", "replace"))
            self._tools.set_tag(digest.hexdigest()[:10])
        call = part["functionCall"]
        args = call.get("args")
        if args is not None and not isinstance(args, dict):
            raise TypeError("args")
        key = self._tools.count
        arguments = "" if args is None else json.dumps(args, ensure_ascii=False)
        delta = self._tools.fragment(
            key, optional_text(call.get("id")), optional_text(call.get("name")), arguments
        )
        self._tools.sign(key, optional_text(part.get("thoughtSignature")))
        done = self._tools.finish(key)
        return [event for event in (delta, done) if event is not None]


def _usage(metadata: object) -> Usage:
    thoughts = count(metadata, "thoughtsTokenCount")
    return Usage(
        count(metadata, "promptTokenCount"),
        count(metadata, "candidatesTokenCount") + thoughts,
        cached_tokens=count(metadata, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


def request_body(request: ChatRequest) -> dict[str, Any]:
    """The JSON body of a `streamGenerateContent` request: the conversation as `contents`
    (roles user and model), system messages as `systemInstruction`."""
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    body: dict[str, Any] = {"contents": _contents(request.messages)}
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if request.tools:
        declarations = []
        for tool in request.tools:
            declaration: dict[str, Any] = {"name": tool.name}
            if tool.description:
                declaration["description"] = tool.description
            declaration["parametersJsonSchema"] = dict(tool.parameters)
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.reasoning:  # thinking models think anyway; this returns their thought summaries
        config["thinkingConfig"] = {"includeThoughts": True}
    if config:
        body["generationConfig"] = config
    return body


def _contents(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """The conversation as Contents: calls as `functionCall` parts of the model's turn, each
    run of tool results one user turn of `functionResponse` parts."""
    names = {c.call_id: c.name for m in messages for c in m.tool_calls}
    contents: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            response = {"name": m.name or names.get(m.tool_call_id, ""), "response": {}}
            response["response"] = {"error" if m.is_error else "output": m.content}
            if m.tool_call_id and not is_synthetic_id(m.tool_call_id):
                response["id"] = m.tool_call_id
            result = {"functionResponse": response}
            last = contents[-1] if contents else None
            if last is not None and all("functionResponse" in p for p in last["parts"]):
                last["parts"].append(result)
            else:
                contents.append({"role": "user", "parts": [result]})
            continue
        parts: list[dict[str, Any]] = [{"text": m.content}] if m.content or not m.tool_calls else []
        for call in m.tool_calls:
            function: dict[str, Any] = {"name": call.name, "args": dict(call.arguments)}
            if not is_synthetic_id(call.call_id):
                function["id"] = call.call_id
            part: dict[str, Any] = {"functionCall": function}
            if call.signature:
                part["thoughtSignature"] = call.signature
            parts.append(part)
        parts += [{"inlineData": {"mimeType": a.mime, "data": a.base64}} for a in m.attachments]
        contents.append({"role": "model" if m.role == "assistant" else "user", "parts": parts})
    return contents


def request_path(model: str) -> str:
    """Where to post, relative to a base URL such as
    https://generativelanguage.googleapis.com/v1beta. `model` may be a bare id or a resource
    name from the model list (`models/…`, `tunedModels/…`)."""
    name = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
    return f"/{quote(name, safe='/')}:streamGenerateContent?alt=sse"


def auth_headers(api_key: str) -> dict[str, str]:
    return {"x-goog-api-key": api_key}
