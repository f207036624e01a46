"""A reply's requests keep fitting the model's context window after the first: a tool round
whose call and result make the next request longer leaves more of the oldest turns out (never
the reply's own rounds: when they alone do not fit, the reply stops saying so, and nothing is
sent), and a request the server refuses as too long is sent once more with less, saying so.
Against a scripted chat server and the real MCP test server (tests/tools_server.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
from scripted import TOO_LONG, ScriptedChat

from streamdesk.core.chat import (
    ChatEvent,
    Conversation,
    Reply,
    ReplyStatus,
    Target,
    ToolRunner,
    Trimmed,
    Turn,
    allow_all,
    base_url_provider,
    stream_reply,
)
from streamdesk.core.chat.context import FILL_PERCENT
from streamdesk.core.events import Failure, FailureKind, Retrying
from streamdesk.core.providers import ModelInfo
from streamdesk.core.request import ChatRequest
from streamdesk.core.tools import ToolHub
from streamdesk.core.wording import history_left_out

WINDOW = 20_000  # the reply's reserve is a quarter: 5,000; a request may fill 13,500
TEXT = "x" * 1_200  # 360 tokens a message


def target_of(chat: ScriptedChat, window: int | None = WINDOW) -> Target:
    model = ModelInfo("scripted", context_window=window)
    provider = dataclasses.replace(base_url_provider(chat.base_url), models=(model,))
    return Target(provider, "scripted", "sse")


def long_chat(target: Target, turns: int) -> Conversation:
    conversation = Conversation(target)
    conversation.load(
        [
            Turn(
                n,
                f"question {n} {TEXT}",
                Reply(target, parts=[f"answer {n} {TEXT}"], status=ReplyStatus.COMPLETE),
            )
            for n in range(1, turns + 1)
        ]
    )
    return conversation


async def run(
    reply: Reply, request: ChatRequest, runner: ToolRunner | None = None
) -> list[ChatEvent]:
    seen: list[ChatEvent] = []
    events = stream_reply(reply, request, keys=None, tools=runner)
    async with contextlib.aclosing(events):
        async for event in events:
            seen.append(event)
    return seen


def questions(body: dict[str, object]) -> list[str]:
    messages = body["messages"]
    assert isinstance(messages, list)
    return [m["content"].split()[1] for m in messages if m["content"].startswith("question")]


@pytest.mark.asyncio
async def test_a_tool_round_that_outgrows_the_window_leaves_more_of_the_oldest_turns_out(
    hub: ToolHub,
) -> None:
    async with ScriptedChat({"fail": {"reason": "y" * 16_000}}) as chat:
        send = long_chat(target_of(chat), 8).ask("fail please")
        assert send.request.left_out == 0  # the chat fits before the round
        seen = await run(send.turn.reply, send.request, ToolRunner(hub, ["notes"], allow_all))
        reply = send.turn.reply
        assert reply.status is ReplyStatus.COMPLETE and reply.text.startswith("Let me check.")
        first, second = chat.bodies
        assert questions(first) == [str(n) for n in range(1, 9)]
        kept = questions(second)
        assert 0 < len(kept) < 8 and kept == [str(n) for n in range(9 - len(kept), 9)]
        # the reply's own round goes whole: the call, and its result
        assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "fail"
        assert "y" * 16_000 in second["messages"][-1]["content"]
        (trimmed,) = [e for e in seen if isinstance(e, Trimmed)]
        left_out = 2 * (8 - len(kept))
        assert trimmed.request.left_out == left_out
        assert trimmed.notice == history_left_out(left_out, "scripted", WINDOW)


@pytest.mark.asyncio
async def test_a_tool_round_too_long_by_itself_stops_the_reply_saying_why(hub: ToolHub) -> None:
    async with ScriptedChat({"fail": {"reason": "y" * 40_000}}) as chat:
        send = long_chat(target_of(chat), 3).ask("fail please")
        seen = await run(send.turn.reply, send.request, ToolRunner(hub, ["notes"], allow_all))
        assert len(chat.bodies) == 1, "nothing the server would refuse was sent"
        failure = seen[-1]
        assert isinstance(failure, Failure) and failure.kind is FailureKind.BAD_REQUEST
        room = (WINDOW - WINDOW // 4) * FILL_PERCENT // 100
        assert "(20,000 tokens)" in failure.message and f"the {room:,} that fit" in failure.message
        assert "about 2" in failure.message  # the estimate: 40,000 characters twice, 0.3 each
        reply = send.turn.reply
        assert reply.status is ReplyStatus.PARTIAL and reply.failure == failure
        assert reply.tool_rounds[0].results, "the round that ran is kept"


def refused_at(request: ChatRequest, share: float) -> int:
    """Characters of messages the scripted server takes: `share` of what `request` holds."""
    held = sum(len(json.dumps(m)) for m in request.openai_body()["messages"])
    return int(held * share)


@pytest.mark.asyncio
async def test_a_request_refused_as_too_long_goes_once_more_with_less_and_says_so() -> None:
    async with ScriptedChat({}) as chat:
        send = long_chat(target_of(chat, window=None), 10).ask("and now?")  # a local server
        assert send.request.left_out == 0  # its window is unknown: the whole chat goes
        chat.refuse_over = refused_at(send.request, 0.85)
        seen = await run(send.turn.reply, send.request)
        reply = send.turn.reply
        assert reply.status is ReplyStatus.COMPLETE and reply.text == "No tools needed."
        first, second = chat.bodies
        assert len(questions(first)) == 10
        kept = questions(second)
        assert 0 < len(kept) < 10 and kept == [str(n) for n in range(11 - len(kept), 11)]
        assert second["messages"][-1] == {"role": "user", "content": "and now?"}
        retry = next(e for e in seen if isinstance(e, Retrying))
        assert retry.delay == 0 and retry.failure.status == 400
        assert TOO_LONG.split(".")[0] in retry.failure.message
        (trimmed,) = [e for e in seen if isinstance(e, Trimmed)]
        assert seen.index(trimmed) == seen.index(retry) + 1
        assert trimmed.notice == history_left_out(2 * (10 - len(kept)), "scripted", None)
        assert trimmed.notice.endswith("longer than scripted reads.")


@pytest.mark.asyncio
async def test_a_refusal_for_length_is_retried_once_and_only_with_something_to_leave_out() -> None:
    async with ScriptedChat({}, refuse_over=10) as chat:
        send = long_chat(target_of(chat, window=None), 10).ask("and now?")
        seen = await run(send.turn.reply, send.request)
        assert len(chat.bodies) == 2, "one retry, not one per turn"
        assert sum(isinstance(e, Retrying) for e in seen) == 1
        failure = seen[-1]
        assert isinstance(failure, Failure) and "maximum context length" in failure.message
    async with ScriptedChat({}, refuse_over=10) as chat:
        send = Conversation(target_of(chat)).ask("a prompt with no chat before it")
        seen = await run(send.turn.reply, send.request)
        assert len(chat.bodies) == 1 and not any(isinstance(e, Retrying) for e in seen)
        assert send.turn.reply.failure is not None
        assert send.turn.reply.failure.kind is FailureKind.BAD_REQUEST
