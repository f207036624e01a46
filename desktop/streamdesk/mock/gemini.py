"""`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`: Gemini, whole responses as events.

Every event is one `data:` line holding a whole GenerateContentResponse: one token per chunk,
reasoning as parts with `"thought": true` first. The last chunk carries `finishReason` (STOP or
MAX_TOKENS) and `usageMetadata`; the stream has no other end marker. Errors are Google's error
JSON (`{"error": {"code", "message", "status"}}`), also as a data line mid-stream.
`:generateContent` answers the whole reply as one such object.
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

FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS"}
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
    messages = [
        {"role": ROLES.get(c.get("role", "user"), "user"), "content": _parts_text(c)}
        for c in contents
    ]
    system = body.get("systemInstruction")
    if system is not None:
        messages.insert(0, {"role": "system", "content": _parts_text(system)})
    chat: dict[str, Any] = {"model": path_model, "messages": messages}
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
        "candidatesTokenCount": len(chat.content),
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
    parts.append({"text": "".join(chat.content)})
    return _response(chat, f"mock-gemini-{next(_ids)}", parts, last=True)


def gemini_models(models: tuple[str, ...]) -> dict[str, object]:
    """`GET /v1beta/models`: resource names `models/{id}` with the methods they support."""
    methods = ["generateContent", "streamGenerateContent"]
    listing = [
        {"name": f"models/{m}", "displayName": m, "supportedGenerationMethods": methods}
        for m in models
    ]
    return {"models": listing}


GEMINI = Dialect("gemini", translate, error_body, stream, whole)
