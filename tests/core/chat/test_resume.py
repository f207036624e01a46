"""A reply survives a broken connection: the engine continues or restarts it by itself, and the
joined text equals the uncut reply over SSE and WebSocket."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from streamdesk.core.chat import (
    Conversation,
    ConversationRecord,
    Joiner,
    Reply,
    ReplyStatus,
    ResumePolicy,
    Resuming,
    Target,
    stream_reply,
)
from streamdesk.core.events import FailureKind, TextDelta
from streamdesk.core.providers import mock_provider
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.store.history import HistoryStore
from streamdesk.mock import MockServer, reply_for
from streamdesk.mock.scenarios import FAULT_AFTER

TOKENS = 30
ONCE = {
    "sse": ["cut-once", "truncate-once", "bad-json-once", "error-event-once"],
    "ws": ["cut-once", "truncate-once", "bad-json-once", "error-event-once", "ws-close-once"],
}


@pytest_asyncio.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with MockServer(tokens_per_second=0, first_token_delay=0, reply_tokens=TOKENS) as m:
        yield m


async def run(
    target: Target, prompt: str, policy: ResumePolicy, record: ConversationRecord | None = None
) -> tuple[Reply, list[object]]:
    conversation = record.conversation if record is not None else Conversation()
    conversation.target = target
    send = conversation.ask(prompt)
    recorder = record.open_reply(send.turn) if record is not None else None
    seen: list[object] = []
    async for event in stream_reply(
        send.turn.reply, send.request, keys=None, recorder=recorder, resume=policy
    ):
        seen.append(event)
    return send.turn.reply, seen


@pytest.mark.asyncio
@pytest.mark.parametrize("strategy", ["continue", "restart"])
@pytest.mark.parametrize(
    ("protocol", "scenario"), [(p, s) for p, names in ONCE.items() for s in names]
)
async def test_a_reply_cut_once_ends_whole_and_identical_to_the_uncut_one(
    mock: MockServer, protocol: str, scenario: str, strategy: str
) -> None:
    provider = mock_provider(mock.sse_base_url, mock.ws_url)
    target = Target(provider, "gpt-4.1", protocol, scenario=scenario)
    prompt = f"resume {scenario} over {protocol} by {strategy}"
    reply, seen = await run(target, prompt, ResumePolicy(strategy, 2))
    assert reply.status is ReplyStatus.COMPLETE, reply.failure
    assert reply.text == "".join(reply_for(prompt, tokens=TOKENS))
    (resuming,) = [e for e in seen if isinstance(e, Resuming)]
    assert resuming.strategy == strategy and resuming.attempt == 2 and resuming.attempts == 3
    assert resuming.tokens == FAULT_AFTER
    assert len(reply.attempts) == 1 and reply.attempts[0].tokens == FAULT_AFTER
    if strategy == "continue":  # the text streamed once: the pieces join to the whole reply
        streamed = "".join(e.text for e in seen if isinstance(e, TextDelta))
        assert streamed == reply.text
        assert reply.completion_tokens == TOKENS
    assert reply.cost is not None and reply.estimated, "the cut part had no usage"
    assert reply.trace is not None and len(reply.trace.resumes) == 1
    assert reply.ttft is not None and reply.first_ttft == reply.ttft, "the first attempt's"


@pytest.mark.asyncio
async def test_a_reply_that_keeps_breaking_ends_partial_after_the_attempts(
    mock: MockServer,
) -> None:
    target = Target(mock_provider(mock.sse_base_url, mock.ws_url), "gpt-4.1", scenario="cut")
    reply, seen = await run(target, "always cut", ResumePolicy("continue", 2))
    assert reply.status is ReplyStatus.PARTIAL and reply.failure is not None
    assert reply.failure.kind is FailureKind.CUT_MID_STREAM
    assert len([e for e in seen if isinstance(e, Resuming)]) == 2 and len(reply.attempts) == 2
    whole = "".join(reply_for("always cut", tokens=TOKENS))
    assert whole.startswith(reply.text) and len(reply.text) > len("".join(whole[:5]))
    assert reply.completion_tokens == 3 * FAULT_AFTER


@pytest.mark.asyncio
async def test_off_ends_at_the_first_cut(mock: MockServer) -> None:
    target = Target(mock_provider(mock.sse_base_url, mock.ws_url), "gpt-4.1", scenario="cut-once")
    reply, seen = await run(target, "no resume please", ResumePolicy("off", 2))
    assert reply.status is ReplyStatus.PARTIAL and not reply.attempts
    assert not [e for e in seen if isinstance(e, Resuming)]


@pytest.mark.asyncio
@pytest.mark.parametrize("strategy", ["continue", "restart"])
async def test_the_history_keeps_each_attempt_and_the_whole_reply(
    mock: MockServer, tmp_path: Path, strategy: str
) -> None:
    provider = mock_provider(mock.sse_base_url, mock.ws_url)
    target = Target(provider, "gpt-4.1", scenario="cut-once")
    prompt = f"store the attempts by {strategy}"
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        record = ConversationRecord(store, Conversation(target))
        reply, _ = await run(target, prompt, ResumePolicy(strategy, 2), record)
        cid = record.conversation_id
        assert cid is not None
        (user, stored) = store.messages(cid)
        assert stored.status == "complete" and stored.content == reply.text
        assert stored.content == "".join(reply_for(prompt, tokens=TOKENS))
        assert stored.timings is not None
        (attempt,) = stored.timings["attempts"]
        assert attempt["strategy"] == strategy and attempt["tokens"] == FAULT_AFTER
        versions = store.alternatives(stored.id)
        if strategy == "restart":  # the cut attempt is kept as the earlier version (‹1/2›)
            assert [v.status for v in versions] == ["partial", "complete"]
            assert versions[0].failure_kind == "cut_mid_stream"
        else:
            assert [v.id for v in versions] == [stored.id]
    assert user.role == "user"


def test_the_joiner_drops_a_repeated_end_and_a_doubled_space() -> None:
    prefix = "The quick brown fox jumps over the lazy "
    repeat = Joiner(prefix)
    assert repeat.feed("over the lazy ") == ""  # could still be the prefix's end
    assert repeat.feed("dog.") + repeat.flush() == "dog."
    space = Joiner("Hello ")
    assert space.feed(" world") + space.flush() == "world"
    short = Joiner("see the")  # a short overlap is the text itself: kept
    assert short.feed(" the end") + short.flush() == " the end"
    mid_word = Joiner("connec")
    assert mid_word.feed("tion") + mid_word.flush() == "tion"


def test_a_continuation_is_sent_the_way_the_provider_continues() -> None:
    base = ChatRequest("m", (Message("user", "q"), Message("assistant", "half")), max_tokens=50)
    plain = dataclasses.replace(base, continuation="assistant").openai_body()
    assert plain["messages"][-1] == {"role": "assistant", "content": "half"}
    deepseek = dataclasses.replace(base, continuation="prefix").openai_body()
    assert deepseek["messages"][-1] == {"role": "assistant", "content": "half", "prefix": True}
    vllm = dataclasses.replace(base, continuation="vllm").openai_body()
    assert vllm["continue_final_message"] is True and vllm["add_generation_prompt"] is False
    assert "continue_final_message" not in base.openai_body()
