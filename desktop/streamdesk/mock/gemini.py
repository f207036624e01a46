"""`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`: Gemini, whole responses as events.

Every event is one `data:` line holding a whole GenerateContentResponse: one token per chunk,
reasoning as parts with `"thought": true` first. The last chunk carries `finishReason` (STOP or
MAX_TOKENS) and `usageMetadata`; the stream has no other end marker. Errors are Google's error
JSON (`{"error": {"code", "message", "status"}}`), also as a data line mid-stream.
`:generateContent` answers the whole reply as one such object.

Tool calls (see `mock.tools`) are `functionCall` parts with their whole `args` and no id, one
chunk per call, and finish with STOP as Gemini does. Requests may offer `functionDeclarations`
(`parameters` or `parametersJsonSchema`) and carry `functionCall` and `functionResponse` parts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from streamdesk.mock.chat import Chat, ChatRejected
from streamdesk.mock.dialect import Dialect
from streamdesk.mock.scenarios import STREAM_ERROR, HttpError
from streamdesk.mock.sse import SseFaults, SseReply
from streamdesk.mock.tools import MockCall

FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}
STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
ROLES = {"model": "assistant", "user": "user"}

_ids = itertools.count(1)


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _parts_text(content: Any) -> str:
    """The text of a Content's parts, leaving thought parts out."""
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return ""
    texts = (p.get("text") for p in parts if isinstance(p, dict) and not p.get("thought"))
    return "".join(t for t in texts if isinstance(t, str))


def translate(body: Mapping[str, Any], path_model: str | None) -> tuple[dict[str, Any], bool]:
    """`contents` (roles user/model), `systemInstruction` and `generationConfig` as a chat body."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not all(isinstance(c, dict) for c in contents):
        raise ChatRejected("contents: a list of Content objects is required")
    messages = [message for c in contents for message in _chat_messages(c)]
    system = body.get("systemInstruction")
    if system is not None:
        messages.insert(0, {"role": "system", "content": _parts_text(system)})
    chat: dict[str, Any] = {"model": path_model, "messages": messages}
    tools = body.get("tools")
    if isinstance(tools, list):
        chat["tools"] = [
            _chat_tool(declaration)
            for tool in tools
            if isinstance(tool, dict)
            for declaration in tool.get("functionDeclarations")
            or tool.get("function_declarations")
            or ()
            if isinstance(declaration, dict)
        ]
    config = body.get("generationConfig")
    config = config if isinstance(config, dict) else {}
    if "maxOutputTokens" in config:
        chat["max_tokens"] = config["maxOutputTokens"]
    thinking = config.get("thinkingConfig")
    # protobuf JSON takes either spelling, and google-genai sends the snake_case one
    wants = isinstance(thinking, dict) and True in (
        thinking.get("includeThoughts"),
        thinking.get("include_thoughts"),
    )
    return chat, wants


def _chat_tool(declaration: dict[str, Any]) -> dict[str, object]:
    schema: object = next(
        (
            declaration[key]
            for key in ("parametersJsonSchema", "parameters_json_schema", "parameters")
            if isinstance(declaration.get(key), dict)
        ),
        {},
    )
    function = {"name": declaration.get("name"), "parameters": _lower_types(schema)}
    return {"type": "function", "function": function}


def _lower_types(schema: object) -> object:
    """A Gemini `Schema` as JSON Schema: its types are upper case (`OBJECT`, `INTEGER`)."""
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    lowered = {key: _lower_types(value) for key, value in schema.items()}
    kind = lowered.get("type")
    if isinstance(kind, str):
        lowered["type"] = kind.lower()
    return lowered


def _chat_messages(content: dict[str, Any]) -> list[dict[str, Any]]:
    """A Content as chat messages: `functionCall` parts as the assistant's `tool_calls`,
    `functionResponse` parts as `tool` messages (an `error` response is an error result)."""
    role = ROLES.get(content.get("role", "user"), "user")
    parts = content.get("parts")
    parts = [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []
    calls = [p["functionCall"] for p in parts if isinstance(p.get("functionCall"), dict)]
    responses = [
        p["functionResponse"] for p in parts if isinstance(p.get("functionResponse"), dict)
    ]
    if calls:
        tool_calls = [
            {
                "id": call.get("id") or call.get("name"),
                "type": "function",
                "function": {"name": call.get("name"), "arguments": _dumps(call.get("args") or {})},
            }
            for call in calls
        ]
        return [{"role": "assistant", "content": _parts_text(content), "tool_calls": tool_calls}]
    if responses:
        return [_tool_message(response) for response in responses]
    images = [p for p in parts if isinstance(p.get("inlineData", p.get("inline_data")), dict)]
    if images:  # kept as parts, for the reply to say what it received
        return [
            {"role": role, "content": [{"type": "text", "text": _parts_text(content)}, *images]}
        ]
    return [{"role": role, "content": _parts_text(content)}]


def _tool_message(response: dict[str, Any]) -> dict[str, Any]:
    result = response.get("response")
    result = result if isinstance(result, dict) else {"output": result}
    failed = "error" in result and "output" not in result
    said = result.get("error" if failed else "output", result)
    return {
        "role": "tool",
        "tool_call_id": response.get("id") or response.get("name"),
        "name": response.get("name"),
        "content": said if isinstance(said, str) else _dumps(said),
        "is_error": failed,
    }


def error_body(error: HttpError) -> dict[str, object]:
    status = STATUSES.get(error.status, "UNKNOWN")
    body: dict[str, object] = {"code": error.status, "message": error.message, "status": status}
    if error.retry_after is not None:
        retry = {
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": f"{error.retry_after:g}s",
        }
        body["details"] = [retry]
    return {"error": body}


def _usage(chat: Chat) -> dict[str, int]:
    usage = {
        "promptTokenCount": chat.prompt_tokens,
        "candidatesTokenCount": len(chat.content) + chat.tool_call_tokens,
        "totalTokenCount": chat.prompt_tokens + chat.completion_tokens,
    }
    if chat.reasoning:
        usage["thoughtsTokenCount"] = len(chat.reasoning)
    return usage


def _response(
    chat: Chat, rid: str, parts: list[dict[str, object]], last: bool = False
) -> dict[str, object]:
    candidate: dict[str, object] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    response: dict[str, object] = {"candidates": [candidate]}
    if last:
        candidate["finishReason"] = FINISH_REASONS[chat.finish_reason]
        response["usageMetadata"] = _usage(chat)
    response["modelVersion"] = chat.model
    response["responseId"] = rid
    return response


def stream(chat: Chat) -> SseReply:
    rid = f"mock-gemini-{next(_ids)}"
    base = _dumps(_response(chat, rid, []))
    head, _, tail = base.partition('"parts":[]')  # the same envelope around every token

    def chunk(part: dict[str, object]) -> str:
        return f'data: {head}"parts":[{_dumps(part)}]{tail}'

    events = [chunk({"text": t, "thought": True}) for t in chat.reasoning]
    events += [chunk({"text": t}) for t in chat.content]
    events += [chunk(_function_call(call)) for call in chat.tool_calls]
    trailer = ["data: " + _dumps(_response(chat, rid, [{"text": ""}], last=True))]
    faults = SseFaults(
        bad_json='data: {"candidates": [{"content": {"parts": [{"text": "oops',
        error="data: " + _dumps(error_body(STREAM_ERROR)),
    )
    return SseReply(rid, [], events, trailer, faults)


def whole(chat: Chat) -> dict[str, object]:
    """The `:generateContent` answer: every part in one response."""
    parts: list[dict[str, object]] = []
    if chat.reasoning:
        parts.append({"text": "".join(chat.reasoning), "thought": True})
    if chat.tool_calls:
        parts += [_function_call(call) for call in chat.tool_calls]
    else:
        parts.append({"text": "".join(chat.content)})
    return _response(chat, f"mock-gemini-{next(_ids)}", parts, last=True)


def _function_call(call: MockCall) -> dict[str, object]:
    return {"functionCall": {"name": call.name, "args": call.arguments}}


def gemini_models(models: tuple[str, ...]) -> dict[str, object]:
    """`GET /v1beta/models`: resource names `models/{id}` with the methods they support."""
    methods = ["generateContent", "streamGenerateContent"]
    listing = [
        {"name": f"models/{m}", "displayName": m, "supportedGenerationMethods": methods}
        for m in models
    ]
    return {"models": listing}


GEMINI = Dialect("gemini", translate, error_body, stream, whole)
