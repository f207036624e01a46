"""`POST /v1/responses`: OpenAI Responses, streamed as typed events named after their `type`.

A stream is `response.created`, `response.in_progress`; with reasoning a reasoning item whose
summary streams as `response.reasoning_summary_text.delta`; then the message item:
`response.output_item.added`, `response.content_part.added`, `response.output_text.delta` per
token, the `...done` events, and `response.completed` (or `response.incomplete` when
`max_output_tokens` cut the reply) with usage, the terminal event. Every event has a
`sequence_number`. A mid-stream failure is an `error` event followed by `response.failed`.

Tool calls (see `mock.tools`) take the message item's place: one `function_call` item per call,
`response.output_item.added`, its arguments in `response.function_call_arguments.delta`s, then
`….done` and `response.output_item.done`. Requests may offer function `tools` and carry
`function_call` and `function_call_output` input items.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any

from streamdesk.mock.chat import Chat, ChatRejected
from streamdesk.mock.dialect import Dialect
from streamdesk.mock.scenarios import FAULT_AFTER, STREAM_ERROR, HttpError
from streamdesk.mock.sse import SseFaults, SseReply, sse_event
from streamdesk.mock.tools import MockCall

_ids = itertools.count(1)


def _input_messages(items: Any) -> list[dict[str, Any]]:
    """`input` as chat messages: a string is one user message; `function_call` items are the
    assistant's tool calls, `function_call_output` items tool results; other types are skipped."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise ChatRejected("input: a string or a list of input items is required")
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message" and "role" in item:
            messages.append({"role": item["role"], "content": item.get("content", "")})
        elif kind == "function_call":
            call = {"name": item.get("name"), "arguments": item.get("arguments")}
            tool_call = {"id": item.get("call_id"), "type": "function", "function": call}
            last = messages[-1] if messages else {}
            if last.get("role") == "assistant":
                last.setdefault("tool_calls", []).append(tool_call)
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [tool_call]})
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id"), "content": output}
            )
    return messages


def translate(body: Mapping[str, Any], path_model: str | None) -> tuple[dict[str, Any], bool]:
    """`instructions` becomes a system message; `max_output_tokens` caps the reply."""
    messages = _input_messages(body.get("input"))
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    tools = body.get("tools")
    if isinstance(tools, list):
        chat["tools"] = [
            {"type": "function", "function": tool}
            for tool in tools
            if isinstance(tool, dict) and tool.get("type") == "function"
        ]
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    reasoning = body.get("reasoning")
    wants = isinstance(reasoning, dict) and reasoning.get("summary") is not None
    return chat, wants


def error_body(error: HttpError) -> dict[str, object]:
    return {
        "error": {"message": error.message, "type": error.type, "param": None, "code": error.code}
    }


def _usage(chat: Chat) -> dict[str, object]:
    return {
        "input_tokens": chat.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": chat.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": len(chat.reasoning)},
        "total_tokens": chat.prompt_tokens + chat.completion_tokens,
    }


class _Ids:
    """The ids one response uses for itself and its output items."""

    def __init__(self) -> None:
        n = next(_ids)
        self.response = f"resp_mock{n}"
        self.reasoning = f"rs_mock{n}"
        self.message = f"msg_mock{n}"

    def function_call(self, call: MockCall) -> str:
        return f"fc_{call.suffix}"


def _reasoning_item(chat: Chat, ids: _Ids, done: bool) -> dict[str, object]:
    summary = [{"type": "summary_text", "text": "".join(chat.reasoning)}] if done else []
    return {"id": ids.reasoning, "type": "reasoning", "summary": summary}


def _message_item(chat: Chat, ids: _Ids, done: bool) -> dict[str, object]:
    content = [_text_part("".join(chat.content))] if done else []
    status = "completed" if done else "in_progress"
    return {
        "id": ids.message,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _function_call_item(call: MockCall, ids: _Ids, done: bool) -> dict[str, object]:
    return {
        "id": ids.function_call(call),
        "type": "function_call",
        "status": "completed" if done else "in_progress",
        "call_id": f"call_{call.suffix}",
        "name": call.name,
        "arguments": call.arguments_text if done else "",
    }


def _function_call_events(chat: Chat, ids: _Ids, event: _Events, first: int) -> list[str]:
    """Each call as a `function_call` item: added, its arguments in deltas, done."""
    events = []
    for out, call in enumerate(chat.tool_calls, first):
        where = {"item_id": ids.function_call(call), "output_index": out}
        added = _function_call_item(call, ids, done=False)
        events.append(event("response.output_item.added", output_index=out, item=added))
        events += [
            event("response.function_call_arguments.delta", **where, delta=piece)
            for piece in call.fragments
        ]
        arguments = call.arguments_text
        events.append(event("response.function_call_arguments.done", **where, arguments=arguments))
        item = _function_call_item(call, ids, done=True)
        events.append(event("response.output_item.done", output_index=out, item=item))
    return events


def _status(chat: Chat) -> str:
    return "incomplete" if chat.finish_reason == "length" else "completed"


def _text_part(text: str) -> dict[str, object]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _response(chat: Chat, ids: _Ids, status: str, created: int) -> dict[str, object]:
    """The Response object in `status`; a finished one holds its output items and usage."""
    finished = status != "in_progress"
    output: list[dict[str, object]] = []
    if finished:
        if chat.reasoning:
            output.append(_reasoning_item(chat, ids, done=True))
        if chat.tool_calls:
            output += [_function_call_item(call, ids, done=True) for call in chat.tool_calls]
        else:
            output.append(_message_item(chat, ids, done=True))
    incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
    return {
        "id": ids.response,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": None,
        "max_output_tokens": None,
        "model": chat.model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _usage(chat) if finished else None,
        "metadata": {},
    }


class _Events:
    """Builds events in stream order, numbering them."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, kind: str, **fields: object) -> str:
        event = {"type": kind, "sequence_number": self.count, **fields}
        self.count += 1
        return sse_event(kind, event)


def stream(chat: Chat) -> SseReply:
    ids = _Ids()
    created = int(time.time())
    event = _Events()
    in_progress = _response(chat, ids, "in_progress", created)
    prelude = [
        event("response.created", response=in_progress),
        event("response.in_progress", response=in_progress),
    ]
    out = 1 if chat.reasoning else 0
    where = {"item_id": ids.message, "output_index": out, "content_index": 0}
    summary = {"item_id": ids.reasoning, "output_index": 0, "summary_index": 0}
    events: list[str] = []
    if chat.reasoning:
        reasoning = _reasoning_item(chat, ids, done=False)
        prelude.append(event("response.output_item.added", output_index=0, item=reasoning))
        part = {"type": "summary_text", "text": ""}
        prelude.append(event("response.reasoning_summary_part.added", **summary, part=part))
        events = [
            event("response.reasoning_summary_text.delta", **summary, delta=t)
            for t in chat.reasoning
        ]
        text = "".join(chat.reasoning)
        done_part = {"type": "summary_text", "text": text}
        opening = [
            event("response.reasoning_summary_text.done", **summary, text=text),
            event("response.reasoning_summary_part.done", **summary, part=done_part),
            event(
                "response.output_item.done",
                output_index=0,
                item=_reasoning_item(chat, ids, done=True),
            ),
        ]
    else:
        opening = []
    if chat.tool_calls:
        texts = _function_call_events(chat, ids, event, out)
    else:
        message = _message_item(chat, ids, done=False)
        opening.append(event("response.output_item.added", output_index=out, item=message))
        opening.append(event("response.content_part.added", **where, part=_text_part("")))
        texts = [
            event("response.output_text.delta", **where, delta=t, logprobs=[]) for t in chat.content
        ]
    if not chat.reasoning:
        prelude += opening
    elif texts:  # the reasoning item ends as the message begins
        texts[0] = "\n\n".join([*opening, texts[0]])
    elif opening:
        events += ["\n\n".join(opening)]
    events += texts
    before_fault = [*prelude, *events[: min(FAULT_AFTER, len(events))]]
    fault_at = sum(p.count("\n\nevent: ") + 1 for p in before_fault)
    text = "".join(chat.content)
    status = _status(chat)
    trailer = []
    if not chat.tool_calls:
        item = _message_item(chat, ids, True)
        trailer += [
            event("response.output_text.done", **where, text=text, logprobs=[]),
            event("response.content_part.done", **where, part=_text_part(text)),
            event("response.output_item.done", output_index=out, item=item),
        ]
    trailer.append(event(f"response.{status}", response=_response(chat, ids, status, created)))
    return SseReply(ids.response, prelude, events, trailer, _faults(chat, ids, created, fault_at))


def _faults(chat: Chat, ids: _Ids, created: int, sequence: int) -> SseFaults:
    """The bad-json line, and the `error` + `response.failed` pair numbered where they fire."""
    error = {"code": STREAM_ERROR.code, "message": STREAM_ERROR.message}
    failed = {**_response(chat, ids, "failed", created), "error": error, "usage": None}
    failed["output"] = []
    event = _Events()
    event.count = sequence
    pair = [event("error", **error, param=None), event("response.failed", response=failed)]
    bad = 'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", "delta": "oops'  # noqa: E501
    return SseFaults(bad_json=bad, error="\n\n".join(pair))


def whole(chat: Chat) -> dict[str, object]:
    """The non-streaming answer: the finished Response object."""
    status = _status(chat)
    return _response(chat, _Ids(), status, int(time.time()))


RESPONSES = Dialect("responses", translate, error_body, stream, whole)
