"""One chat request, protocol-free: what to stream, how fast, and which fault to play."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streamdesk.mock.images import BadImage, received_images, received_sentence
from streamdesk.mock.replies import (
    FIRST_TAKE,
    Take,
    continued_variant,
    count_tokens,
    reasoning_for,
    reply_for,
    tokenize,
)
from streamdesk.mock.scenarios import (
    SCENARIOS,
    SLOW_FIRST_TOKEN_SECONDS,
    STALL_SECONDS,
    Pace,
    bad_request,
    pace_from,
    split_model,
)
from streamdesk.mock.tools import MockCall, with_tools


class ChatRejected(Exception):
    """The request cannot be served; carries the 4xx to answer with."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.error = bad_request(message)


@dataclass(frozen=True, slots=True)
class Defaults:
    tokens_per_second: float
    first_token_delay: float
    reply_tokens: int | None


@dataclass(slots=True)
class Chat:
    model: str  # as echoed: without the `#scenario` suffix
    scenario: str
    prompt: str  # the last user message
    reasoning: list[str]
    content: list[str]
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    include_usage: bool
    pace: Pace
    tool_calls: list[MockCall] = field(default_factory=list)  # instead of text, when asked
    take: Take = FIRST_TAKE  # which take of the prompt's reply this is, and of which request

    @property
    def completion_tokens(self) -> int:
        return len(self.reasoning) + len(self.content) + self.tool_call_tokens

    @property
    def tool_call_tokens(self) -> int:
        return sum(len(call.fragments) for call in self.tool_calls)

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def _text(content: Any) -> str:
    """Message content as text: a string, or OpenAI's list of `{"type": "text"}` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _after(tokens: list[str], chars: int) -> list[str]:
    """The reply's tokens after its first `chars` characters (the prefix already sent)."""
    for i, token in enumerate(tokens):
        if chars < len(token):
            return tokens[i:] if chars == 0 else [token[chars:], *tokens[i + 1 :]]
        chars -= len(token)
    return []


def pick_scenario(explicit: str | None, model: str) -> tuple[str, str]:
    """(model to echo, scenario): an explicit header/field wins over a `#NAME` model suffix."""
    name, suffix = split_model(model)
    scenario = explicit or suffix or "ok"
    if scenario not in SCENARIOS:
        known = ", ".join(SCENARIOS)
        raise ChatRejected(f"Unknown mock scenario {scenario!r}; known: {known}.")
    return name, scenario


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ChatRejected(f"The request body is not JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise ChatRejected("The request body must be a JSON object.")
    return body


def plan_chat(
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    explicit_scenario: str | None,
    defaults: Defaults,
    thinking: bool = False,
    take: Take = FIRST_TAKE,
) -> Chat:
    """Validate a chat-completions body and decide the reply; raises ChatRejected.

    When the last message is the assistant's (a partial reply sent as its prefix), the reply is
    the rest of the prompt's reply after that many characters, as a real server continues it,
    of the take the prefix was cut from. `thinking`: the request asked for reasoning (a native
    API's thinking option). `take`: which take of the prompt's reply to give (see
    `ReplyVariants`).
    """
    model = body.get("model")
    messages = body.get("messages")
    if not isinstance(model, str) or not model:
        raise ChatRejected("'model' is required and must be a string.")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ChatRejected("'messages' is required and must be a list of objects.")
    name, scenario = pick_scenario(explicit_scenario, model)
    try:
        pace = pace_from(
            headers, defaults.tokens_per_second, defaults.first_token_delay, defaults.reply_tokens
        )
    except ValueError as exc:
        raise ChatRejected(f"Bad X-Mock header: {exc}.") from exc
    if scenario == "slow-first-token" and "x-mock-first-token-delay" not in headers:
        pace = Pace(pace.interval, SLOW_FIRST_TOKEN_SECONDS, pace.tokens)
    elif scenario == "no-first-token":
        pace = Pace(pace.interval, STALL_SECONDS, pace.tokens)
    users = [m for m in messages if m.get("role") == "user"]
    prompt = _text(users[-1].get("content")) if users else ""
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ChatRejected("'max_tokens' must be a positive integer.")
    try:
        images = received_images(messages)
    except BadImage as exc:
        raise ChatRejected(f"Invalid image: {exc}.") from exc
    lead = tokenize(received_sentence(images) + "\n\n") if images else []  # the round trip shows
    last = messages[-1] if messages else {}
    prefix = _text(last.get("content")) if last.get("role") == "assistant" else None
    if prefix is not None and pace.tokens is None:  # a length is a fixture, of no take
        cut_from = continued_variant(prompt, prefix.removeprefix("".join(lead)), take.variant)
        take = dataclasses.replace(take, variant=cut_from)
    content = [*lead, *reply_for(prompt, pace.tokens, take.variant)]
    if prefix is not None:  # a partial reply sent as the prefix: continue it
        content = _after(content, len(prefix))
    finish = "stop"
    if limit is not None and len(content) > limit:
        content, finish = content[:limit], "length"
    lowered = name.lower()
    thinking = (
        thinking
        or scenario == "reasoning"
        or prompt.strip() == "/reasoning"
        or "reasoner" in lowered
        or "r1" in lowered
    )
    options = body.get("stream_options")
    chat = Chat(
        model=name,
        scenario=scenario,
        prompt=prompt,
        reasoning=reasoning_for(prompt, take.variant) if thinking else [],
        content=content,
        finish_reason=finish,
        prompt_tokens=sum(count_tokens(_text(m.get("content"))) for m in messages),
        include_usage=isinstance(options, dict) and options.get("include_usage") is True,
        pace=pace,
        take=take,
    )
    return with_tools(chat, body)
