"""`POST /v1/messages`: Anthropic Messages, streamed as named server-sent events.

A stream is `message_start`, `ping`, then per content block `content_block_start`,
`content_block_delta` (`thinking_delta` then one `signature_delta` for the thinking block,
`text_delta` for the text block) and `content_block_stop`; then `message_delta` with the stop
reason and output tokens, and `message_stop`, the terminal event. A `ping` also comes every
`PING_EVERY` tokens. A mid-stream error is `event: error` with an `overloaded_error`.

Tool calls (see `mock.tools`) take the text block's place: one `tool_use` block per call whose
input streams as `input_json_delta`s, and the stop reason `tool_use`. Requests may offer `tools`
(`input_schema`) and carry `tool_use` and `tool_result` blocks.

With thinking on, the thinking block comes before the calls too, and the request that brings
their results is checked as the real API checks it: each assistant message with `tool_use` in
the turn under way must start with its thinking block, and every thinking block must carry the
signature the mock gave it (a hash of its text), else 400 `invalid_request_error`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from typing import Any

from streamdesk.mock.chat import Chat, ChatRejected
from streamdesk.mock.dialect import Dialect
from streamdesk.mock.scenarios import HttpError
from streamdesk.mock.sse import SseFaults, SseReply, sse_event
from streamdesk.mock.tools import MockCall

PING_EVERY = 100
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
}
PING = sse_event("ping", {"type": "ping"})
OVERLOADED = sse_event(
    "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
)

_ids = itertools.count(1)


def translate(body: Mapping[str, Any], path_model: str | None) -> tuple[dict[str, Any], bool]:
    """The top-level `system` becomes a system message; `max_tokens` is required."""
    if "max_tokens" not in body:
        raise ChatRejected("max_tokens: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise ChatRejected("messages: Field required")
    system = body.get("system")
    head = [{"role": "system", "content": system}] if system else []
    thinking = body.get("thinking")
    wants = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    if wants:
        _check_thinking(messages)
    chat = {"model": body.get("model"), "messages": [*head, *_chat_messages(messages)]}
    tools = body.get("tools")
    if isinstance(tools, list):
        chat["tools"] = [_chat_tool(tool) for tool in tools if isinstance(tool, dict)]
    return {**chat, "max_tokens": body["max_tokens"]}, wants


def _check_thinking(messages: list[Any]) -> None:
    """Raise ChatRejected as the API answers a thinking request whose tool rounds lost or
    changed their thinking blocks."""
    for i, message in enumerate(messages):
        for j, block in enumerate(_blocks_of(message)):
            if block.get("type") == "thinking" and block.get("signature") != _signed(
                str(block.get("thinking") or "")
            ):
                raise ChatRejected(
                    f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                )
    for i in range(_turn_start(messages), len(messages)):
        kinds = [b.get("type") for b in _blocks_of(messages[i])]
        if (
            "tool_use" in kinds
            and messages[i].get("role") == "assistant"
            and kinds[0] not in ("thinking", "redacted_thinking")
        ):
            raise ChatRejected(
                f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, "
                f"but found `{kinds[0]}`. When `thinking` is enabled, a final `assistant` "
                "message must start with a thinking block (preceding the lastmost set of "
                "`tool_use` and `tool_result` blocks). To avoid this requirement, disable "
                "`thinking`."
            )


def _blocks_of(message: object) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _turn_start(messages: list[Any]) -> int:
    """Where the assistant turn under way starts: after the last user message that is a
    prompt rather than tool results."""
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if isinstance(message, dict) and message.get("role") == "user":
            kinds = {b.get("type") for b in _blocks_of(message)}
            if kinds != {"tool_result"}:
                return i + 1
    return 0


def _chat_tool(tool: dict[str, Any]) -> dict[str, object]:
    function = {"name": tool.get("name"), "parameters": tool.get("input_schema")}
    return {"type": "function", "function": {**function, "description": tool.get("description")}}


def _chat_messages(messages: list[Any]) -> list[Any]:
    """Messages whose content blocks hold tool use in the chat-completions shape: `tool_use`
    blocks as the assistant's `tool_calls`, `tool_result` blocks as `tool` messages."""
    out: list[Any] = []
    for message in messages:
        blocks = message.get("content") if isinstance(message, dict) else None
        if not isinstance(blocks, list):
            out.append(message)
            continue
        kinds = {b.get("type") for b in blocks if isinstance(b, dict)}
        texts = [b for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
        if "tool_use" in kinds:
            calls = [
                {
                    "id": b.get("id"),
                    "type": "function",
                    "function": {"name": b.get("name"), "arguments": json.dumps(b.get("input"))},
                }
                for b in blocks
                if isinstance(b, dict) and b.get("type") == "tool_use"
            ]
            out.append({"role": "assistant", "content": texts, "tool_calls": calls})
        elif "tool_result" in kinds:
            out += [
                {
                    "role": "tool",
                    "tool_call_id": b.get("tool_use_id"),
                    "content": b.get("content"),
                    "is_error": b.get("is_error") is True,
                }
                for b in blocks
                if isinstance(b, dict) and b.get("type") == "tool_result"
            ]
            if texts:
                out.append({"role": "user", "content": texts})
        else:
            out.append(message)
    return out


def error_body(error: HttpError) -> dict[str, object]:
    kind = ERROR_TYPES.get(error.status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def _signature(chat: Chat) -> str:
    return _signed("".join(chat.reasoning))


def _signed(thinking: str) -> str:
    """The mock's signature of a thinking block: a hash of its text, so a changed text or a
    made-up signature shows without the mock keeping state."""
    return hashlib.sha256(thinking.encode()).hexdigest()


def _block_start(index: int, block: dict[str, object]) -> str:
    start = {"type": "content_block_start", "index": index, "content_block": block}
    return sse_event("content_block_start", start)


def _delta(index: int, delta: dict[str, object]) -> str:
    event = {"type": "content_block_delta", "index": index, "delta": delta}
    return sse_event("content_block_delta", event)


def _stop(index: int) -> str:
    return sse_event("content_block_stop", {"type": "content_block_stop", "index": index})


def _message(chat: Chat, mid: str) -> dict[str, object]:
    return {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": chat.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": chat.prompt_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        },
    }


def stream(chat: Chat) -> SseReply:
    mid = f"msg_mock{next(_ids)}"
    start = {"type": "message_start", "message": _message(chat, mid)}
    prelude = [sse_event("message_start", start)]
    text_index = 1 if chat.reasoning else 0
    if chat.tool_calls:  # tool_use blocks, each with its own start and stop, instead of text
        opening, body, closing = [], _tool_use_events(chat, text_index), []
    else:
        opening = [_block_start(text_index, {"type": "text", "text": ""})]
        body = [_delta(text_index, {"type": "text_delta", "text": t}) for t in chat.content]
        closing = [_stop(text_index)]
    events: list[str] = []
    if chat.reasoning:
        prelude.append(_block_start(0, {"type": "thinking", "thinking": "", "signature": ""}))
        events = [_delta(0, {"type": "thinking_delta", "thinking": t}) for t in chat.reasoning]
        signature = _delta(0, {"type": "signature_delta", "signature": _signature(chat)})
        opening = [signature, _stop(0), *opening]
    else:
        prelude.extend(opening)
        opening = []
    prelude.append(PING)
    events += body
    first_text = len(chat.reasoning)
    if opening and first_text < len(events):  # the thinking block ends as the text begins
        events[first_text] = "\n\n".join([*opening, events[first_text]])
        opening = []
    for k in range(PING_EVERY, len(events), PING_EVERY):
        events[k] = f"{PING}\n\n{events[k]}"
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": STOP_REASONS[chat.finish_reason], "stop_sequence": None},
        "usage": {"output_tokens": chat.completion_tokens},
    }
    trailer = [
        *opening,
        *closing,
        sse_event("message_delta", message_delta),
        sse_event("message_stop", {"type": "message_stop"}),
    ]
    bad = 'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "oops'  # noqa: E501
    faults = SseFaults(bad_json=bad, error=OVERLOADED)
    return SseReply(mid, prelude, events, trailer, faults, head=[("request-id", f"req_{mid}")])


def _tool_use(call: MockCall, streaming: bool) -> dict[str, object]:
    arguments = {} if streaming else call.arguments
    return {"type": "tool_use", "id": f"toolu_{call.suffix}", "name": call.name, "input": arguments}


def _tool_use_events(chat: Chat, first_index: int) -> list[str]:
    """Each call as a `tool_use` block: its start, its input in `input_json_delta`s, its stop."""
    events = []
    for index, call in enumerate(chat.tool_calls, first_index):
        events.append(_block_start(index, _tool_use(call, streaming=True)))
        events += [
            _delta(index, {"type": "input_json_delta", "partial_json": piece})
            for piece in call.fragments
        ]
        events.append(_stop(index))
    return events


def whole(chat: Chat) -> dict[str, object]:
    """The non-streaming answer: the message with its content blocks, stop reason and usage."""
    message = _message(chat, f"msg_mock{next(_ids)}")
    content: list[dict[str, object]] = []
    if chat.reasoning:
        thinking = "".join(chat.reasoning)
        content.append({"type": "thinking", "thinking": thinking, "signature": _signature(chat)})
    if chat.tool_calls:
        content += [_tool_use(call, streaming=False) for call in chat.tool_calls]
    else:
        content.append({"type": "text", "text": "".join(chat.content)})
    usage = {"input_tokens": chat.prompt_tokens, "output_tokens": chat.completion_tokens}
    stop = STOP_REASONS[chat.finish_reason]
    return {**message, "content": content, "stop_reason": stop, "usage": usage}


def anthropic_models(models: tuple[str, ...]) -> dict[str, object]:
    """`GET /v1/models` as Anthropic lists them (asked with an `anthropic-version` header)."""
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
        for m in models
    ]
    first, last = (models[0], models[-1]) if models else (None, None)
    return {"data": data, "has_more": False, "first_id": first, "last_id": last}


ANTHROPIC = Dialect("anthropic", translate, error_body, stream, whole)
