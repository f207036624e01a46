"""The whole tool loop against the built-in mock over SSE and WebSocket and every API (chat
completions, Anthropic, Gemini, Responses), with the real MCP test server: approval, denial, a
tool error, a timeout, a server crash and Stop mid-tool; with reasoning on, Anthropic's signed
thinking goes back with the calls, also from the history when a stopped reply is continued."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from streamdesk.core.chat import (
    Approval,
    ChatEvent,
    Conversation,
    ConversationRecord,
    Reply,
    ReplyRecord,
    ReplyStatus,
    Target,
    ToolRequest,
    ToolRunner,
    ToolRunning,
    allow_all,
    stream_reply,
    turns_of,
    with_api,
)
from streamdesk.core.events import ReasoningBlock, ToolCall, ToolResult
from streamdesk.core.providers import mock_provider
from streamdesk.core.request import ChatRequest
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.tools import ToolHub
from streamdesk.mock import MockServer

WIRES = [
    ("sse", "chat"),
    ("ws", "chat"),
    ("sse", "anthropic"),
    ("sse", "gemini"),
    ("sse", "responses"),
]


@pytest_asyncio.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with MockServer(tokens_per_second=0, first_token_delay=0) as server:
        yield server


def target(mock: MockServer, wire: tuple[str, str]) -> Target:
    protocol, api = wire
    provider = with_api(mock_provider(mock.sse_base_url, mock.ws_url), api)
    return Target(provider, "gpt-4.1", protocol)


async def run(
    mock: MockServer, wire: tuple[str, str], prompt: str, runner: ToolRunner
) -> tuple[Reply, list[ChatEvent]]:
    send = Conversation(target(mock, wire)).ask(prompt)
    seen: list[ChatEvent] = []
    events = stream_reply(send.turn.reply, send.request, keys=None, tools=runner)
    async with contextlib.aclosing(events):
        async for event in events:
            seen.append(event)
    return send.turn.reply, seen


def ids(wire: tuple[str, str]) -> str:
    return "-".join(wire)


@pytest.mark.asyncio
@pytest.mark.parametrize("wire", WIRES, ids=ids)
async def test_an_approved_call_runs_and_the_reply_quotes_its_result(
    mock: MockServer, hub: ToolHub, wire: tuple[str, str]
) -> None:
    asked: list[ToolRequest] = []

    async def approve(request: ToolRequest) -> Approval:
        asked.append(request)
        return Approval.ONCE

    reply, seen = await run(
        mock, wire, "Use the add tool to add 2 and 3", ToolRunner(hub, ["notes"], approve)
    )
    assert [(r.tool, r.server, dict(r.call.arguments)) for r in asked] == [
        ("add", "notes", {"a": 2, "b": 3})
    ]
    order = [type(e).__name__ for e in seen if isinstance(e, ToolCall | ToolRunning | ToolResult)]
    assert order == ["ToolCall", "ToolRunning", "ToolResult"]
    assert reply.status is ReplyStatus.COMPLETE and reply.finish_reason == "stop"
    assert "The add tool returned: 5." in reply.text
    (found,) = reply.tool_rounds
    assert [(r.outcome, r.content) for r in found.results] == [("ok", "5")]


@pytest.mark.asyncio
@pytest.mark.parametrize("wire", WIRES, ids=ids)
async def test_denied_failed_and_slow_calls_are_reported_to_the_model(
    mock: MockServer, hub: ToolHub, wire: tuple[str, str]
) -> None:
    async def deny(request: ToolRequest) -> Approval:
        return Approval.DENY

    denied, _ = await run(
        mock, wire, "Use the add tool to add 2 and 3", ToolRunner(hub, ["notes"], deny)
    )
    assert denied.tool_rounds[0].results[0].outcome == "denied"
    assert denied.status is ReplyStatus.COMPLETE and "add" in denied.tail

    failed, _ = await run(
        mock,
        wire,
        'Use the fail tool with "the disk is on fire"',
        ToolRunner(hub, ["notes"], allow_all),
    )
    (result,) = failed.tool_rounds[0].results
    assert result.outcome == "error" and "the disk is on fire" in result.content
    assert failed.status is ReplyStatus.COMPLETE

    slow, _ = await run(
        mock,
        wire,
        "Use the slow tool to wait 30 seconds",
        ToolRunner(hub, ["notes"], allow_all, timeout=0.5),
    )
    assert slow.tool_rounds[0].results[0].outcome == "timeout"
    assert slow.status is ReplyStatus.COMPLETE


@pytest.mark.asyncio
@pytest.mark.parametrize("wire", WIRES, ids=ids)
async def test_a_crashed_server_is_an_error_naming_it_and_runs_again_next_time(
    mock: MockServer, hub: ToolHub, wire: tuple[str, str]
) -> None:
    runner = ToolRunner(hub, ["notes"], allow_all)
    crashed, _ = await run(mock, wire, "Use the crash tool now", runner)
    (result,) = crashed.tool_rounds[0].results
    assert result.outcome == "error" and '"notes" stopped while running crash' in result.content
    assert crashed.status is ReplyStatus.COMPLETE
    again, _ = await run(mock, wire, "Use the add tool to add 40 and 2", runner)
    assert again.tool_rounds[0].results[0].content == "42"


async def stop_mid_tool(
    reply: Reply, request: ChatRequest, hub: ToolHub, recorder: ReplyRecord | None = None
) -> None:
    """Stream `request` with the notes tools and stop it once a tool is running."""
    running = asyncio.get_running_loop().create_future()

    async def consume() -> None:
        runner = ToolRunner(hub, ["notes"], allow_all)
        events = stream_reply(reply, request, keys=None, recorder=recorder, tools=runner)
        async for event in events:
            if isinstance(event, ToolRunning):
                running.set_result(None)

    task = asyncio.create_task(consume())
    await running
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
@pytest.mark.parametrize("wire", WIRES, ids=ids)
async def test_stop_mid_tool_stops_the_reply_and_keeps_the_call(
    mock: MockServer, hub: ToolHub, wire: tuple[str, str]
) -> None:
    send = Conversation(target(mock, wire)).ask("Use the slow tool to wait 30 seconds")
    reply = send.turn.reply
    await stop_mid_tool(reply, send.request, hub)
    assert reply.status is ReplyStatus.STOPPED
    assert [r.outcome for r in reply.tool_rounds[0].results] == ["cancelled"]


ANTHROPIC = ("sse", "anthropic")


def signed(thinking: str) -> ReasoningBlock:
    """A thinking block as the mock signs it."""
    return ReasoningBlock(thinking, hashlib.sha256(thinking.encode()).hexdigest())


def sent_messages(mock: MockServer) -> list[dict[str, Any]]:
    messages = json.loads(mock.requests[-1].body)["messages"]
    assert isinstance(messages, list)
    return messages


@pytest.mark.asyncio
async def test_with_reasoning_on_the_anthropic_round_sends_its_signed_thinking_back(
    mock: MockServer, hub: ToolHub
) -> None:
    send = Conversation(target(mock, ANTHROPIC), params={"reasoning": True}).ask(
        "Use the add tool to add 2 and 3"
    )
    reply, runner = send.turn.reply, ToolRunner(hub, ["notes"], allow_all)
    seen = [e async for e in stream_reply(reply, send.request, keys=None, tools=runner)]
    assert reply.status is ReplyStatus.COMPLETE, reply.failure
    assert "The add tool returned: 5." in reply.text
    (found,) = reply.tool_rounds
    (block,) = found.reasoning_blocks
    assert block == signed(block.text) and block.text and block.text in reply.reasoning_text
    assert next(e for e in seen if isinstance(e, ReasoningBlock)) == block
    assistant = sent_messages(mock)[1]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": block.text,
        "signature": block.signature,
    }


@pytest.mark.asyncio
async def test_a_stopped_round_continued_from_the_history_keeps_its_thinking(
    mock: MockServer, hub: ToolHub
) -> None:
    chat_target = target(mock, ANTHROPIC)
    with HistoryStore() as store:
        conversation = Conversation(chat_target, params={"reasoning": True})
        record = ConversationRecord(store, conversation)
        send = conversation.ask("Use the slow tool to wait 30 seconds")
        await stop_mid_tool(send.turn.reply, send.request, hub, record.open_reply(send.turn))
        (block,) = send.turn.reply.tool_rounds[0].reasoning_blocks
        cid = conversation.conversation_id
        assert cid is not None
        stored = store.messages(cid)
        assert stored[1].tool_rounds[0]["reasoning_blocks"] == [
            {"text": block.text, "signature": block.signature}
        ]

        again = Conversation(chat_target, params={"reasoning": True}, conversation_id=cid)
        again.load(turns_of(stored, chat_target))
        latest = again.latest
        assert latest is not None
        carried = again.continue_reply(latest)
        assert carried is not None
        assert carried.request.messages[1].reasoning_blocks == (block,)
        reply = carried.turn.reply
        events = stream_reply(
            reply, carried.request, keys=None, tools=ToolRunner(hub, ["notes"], allow_all)
        )
        async with contextlib.aclosing(events):
            async for _ in events:
                pass
        assert reply.status is ReplyStatus.COMPLETE, reply.failure
        assert reply.tool_rounds[0].reasoning_blocks == (block,)
        assert "The slow tool" in reply.tail
