"""The tool loop in the engine, against a scripted chat server and the real MCP test server
(tests/tools_server.py, written with the SDK's own server API): approval, denial, a tool error,
a timeout, a crash, Stop while waiting for approval and mid-tool, the round limit, and the
calls and results kept with the reply in the history."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from scripted import ScriptedChat

from streamdesk.core.chat import (
    Approval,
    ChatEvent,
    Conversation,
    ConversationRecord,
    Reply,
    ReplyStatus,
    ResumePolicy,
    Target,
    ToolRequest,
    ToolRunner,
    ToolRunning,
    allow_all,
    base_url_provider,
    stream_reply,
    turns_of,
)
from streamdesk.core.events import Done, TextDelta, ToolCall, ToolResult
from streamdesk.core.request import ChatRequest
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.tools import ToolHub

CALLS: dict[str, dict[str, Any]] = {
    "add": {"a": 2, "b": 3},
    "read_note": {"name": "motto"},
    "fail": {"reason": "the disk is on fire"},
    "slow": {"seconds": 30},
    "crash": {},
}


@pytest_asyncio.fixture
async def chat() -> AsyncIterator[ScriptedChat]:
    async with ScriptedChat(CALLS) as server:
        yield server


def target_of(chat: ScriptedChat) -> Target:
    return Target(base_url_provider(chat.base_url), "scripted", "sse")


def ask(target: Target, prompt: str) -> tuple[Reply, ChatRequest]:
    send = Conversation(target).ask(prompt)
    return send.turn.reply, send.request


async def run(reply: Reply, request: ChatRequest, runner: ToolRunner) -> list[ChatEvent]:
    seen: list[ChatEvent] = []
    events = stream_reply(reply, request, keys=None, tools=runner)
    async with contextlib.aclosing(events):
        async for event in events:
            seen.append(event)
    return seen


@pytest.mark.asyncio
async def test_an_approved_call_runs_and_its_result_goes_back_to_the_model(
    chat: ScriptedChat, hub: ToolHub
) -> None:
    asked: list[ToolRequest] = []

    async def approve(request: ToolRequest) -> Approval:
        asked.append(request)
        return Approval.ONCE

    reply, request = ask(target_of(chat), "please add two numbers")
    seen = await run(reply, request, ToolRunner(hub, ["notes"], approve))
    assert [r.server for r in asked] == ["notes"] and asked[0].call.arguments == CALLS["add"]
    kinds = [type(e).__name__ for e in seen if not isinstance(e, TextDelta)]
    assert kinds[-4:] == ["ToolRunning", "ToolResult", "Usage", "Done"]
    assert "ToolCall" in kinds
    result = next(e for e in seen if isinstance(e, ToolResult))
    assert (result.content, result.outcome, result.server) == ("5", "ok", "notes")
    assert result.duration > 0
    assert reply.status is ReplyStatus.COMPLETE and reply.finish_reason == "stop"
    assert reply.text == "Let me check.The tool said: 5."
    (found,) = reply.tool_rounds
    assert found.at == len("Let me check.") and found.results == [result]
    second = chat.bodies[1]["messages"]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "add"
    assert second[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "5"}
    assert set(CALLS) <= {t["function"]["name"] for t in chat.bodies[0]["tools"]}
    assert reply.completion_tokens == 10, "both requests' tokens count"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("prompt", "approval", "outcome", "said"),
    [
        ("add please", Approval.DENY, "denied", "The user denied this tool call."),
        ("fail please", Approval.ONCE, "error", "the disk is on fire"),
    ],
)
async def test_a_denied_or_failed_call_is_reported_to_the_model(
    chat: ScriptedChat, hub: ToolHub, prompt: str, approval: Approval, outcome: str, said: str
) -> None:
    async def approve(request: ToolRequest) -> Approval:
        return approval

    reply, request = ask(target_of(chat), prompt)
    await run(reply, request, ToolRunner(hub, ["notes"], approve))
    (result,) = reply.tool_rounds[0].results
    assert result.outcome == outcome and said in result.content
    assert reply.status is ReplyStatus.COMPLETE and said in reply.text
    assert chat.bodies[1]["messages"][-1]["role"] == "tool"


@pytest.mark.asyncio
async def test_a_call_over_its_time_limit_is_a_timeout(chat: ScriptedChat, hub: ToolHub) -> None:
    reply, request = ask(target_of(chat), "slow please")
    await run(reply, request, ToolRunner(hub, ["notes"], allow_all, timeout=0.5))
    (result,) = reply.tool_rounds[0].results
    assert result.outcome == "timeout" and "0.5 s" in result.content
    assert reply.status is ReplyStatus.COMPLETE


@pytest.mark.asyncio
async def test_a_server_that_crashes_mid_call_is_an_error_naming_it_and_starts_again(
    chat: ScriptedChat, hub: ToolHub
) -> None:
    reply, request = ask(target_of(chat), "crash please")
    runner = ToolRunner(hub, ["notes"], allow_all)
    await run(reply, request, runner)
    (result,) = reply.tool_rounds[0].results
    assert result.outcome == "error"
    assert '"notes" stopped while running crash' in result.content
    assert "crashing on purpose" in result.content and "mcp-notes.log" in result.content
    again, request = ask(target_of(chat), "add please")
    await run(again, request, runner)
    assert again.tool_rounds[0].results[0].content == "5"


@pytest.mark.asyncio
async def test_stop_while_waiting_for_approval_keeps_the_call_with_a_result(
    chat: ScriptedChat, hub: ToolHub
) -> None:
    waiting = asyncio.get_running_loop().create_future()

    async def approve(request: ToolRequest) -> Approval:
        waiting.set_result(None)
        await asyncio.Event().wait()  # nobody answers
        return Approval.ONCE

    reply, request = ask(target_of(chat), "add please")
    task = asyncio.create_task(run(reply, request, ToolRunner(hub, ["notes"], approve)))
    await waiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reply.status is ReplyStatus.STOPPED and reply.text == "Let me check."
    (result,) = reply.tool_rounds[0].results
    assert result.outcome == "cancelled"


@pytest.mark.asyncio
async def test_stop_mid_tool_cancels_the_call(chat: ScriptedChat, hub: ToolHub) -> None:
    reply, request = ask(target_of(chat), "slow please")
    runner = ToolRunner(hub, ["notes"], allow_all)
    started = asyncio.get_running_loop().create_future()

    async def consume() -> None:
        async for event in stream_reply(reply, request, keys=None, tools=runner):
            if isinstance(event, ToolRunning):
                started.set_result(None)

    task = asyncio.create_task(consume())
    await started
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (result,) = reply.tool_rounds[0].results
    assert result.outcome == "cancelled" and result.server == "notes"
    assert reply.status is ReplyStatus.STOPPED
    assert len(chat.bodies) == 1, "nothing more was sent"
    assert (await hub.call("notes", "add", {"a": 1, "b": 1})).content == "2"


@pytest.mark.asyncio
async def test_rounds_are_bounded_and_the_end_says_why(hub: ToolHub) -> None:
    async with ScriptedChat({"add": {"a": 1, "b": 1}}, always=True) as chat:
        reply, request = ask(target_of(chat), "loop forever")
        seen = await run(reply, request, ToolRunner(hub, ["notes"], allow_all, max_rounds=2))
    assert len(chat.bodies) == 3 and len(reply.tool_rounds) == 3
    assert isinstance(seen[-1], Done) and seen[-1].finish_reason == "tool_calls"
    assert reply.tool_stop == "round_limit" and reply.status is ReplyStatus.COMPLETE
    (last,) = reply.tool_rounds[-1].results
    assert last.outcome == "cancelled" and "limit of 2 tool rounds" in last.content


@pytest.mark.asyncio
async def test_a_call_nobody_can_approve_ends_the_reply(chat: ScriptedChat, hub: ToolHub) -> None:
    async def nobody(request: ToolRequest) -> Approval:
        return Approval.STOP

    reply, request = ask(target_of(chat), "add please")
    seen = await run(reply, request, ToolRunner(hub, ["notes"], nobody))
    assert reply.tool_stop == "not_approved" and len(chat.bodies) == 1
    assert reply.finish_reason == "tool_calls"
    assert [e.outcome for e in seen if isinstance(e, ToolResult)] == ["denied"]


@pytest.mark.asyncio
async def test_allow_for_this_chat_asks_once_per_tool(chat: ScriptedChat, hub: ToolHub) -> None:
    asked: list[str] = []

    async def approve(request: ToolRequest) -> Approval:
        asked.append(request.call.name)
        return Approval.CHAT

    runner = ToolRunner(hub, ["notes"], approve)
    conversation = Conversation(target_of(chat))
    for prompt in ("add one", "add two", "read_note now"):
        send = conversation.ask(prompt)
        await run(send.turn.reply, send.request, runner)
    assert asked == ["add", "read_note"]


@pytest.mark.asyncio
async def test_allowed_for_this_chat_is_the_tool_of_its_server(hub: ToolHub) -> None:
    asked: list[str] = []

    async def approve(request: ToolRequest) -> Approval:
        asked.append(request.server)
        return Approval.ONCE

    runner = ToolRunner(hub, ["notes"], approve)
    runner.allowed = {"elsewhere/add"}  # the same tool name allowed on another server
    call = ToolCall(0, "c1", "add", {"a": 1, "b": 2})
    [*_, result] = [e async for e in runner.run([call])]
    assert asked == ["notes"] and isinstance(result, ToolResult) and result.content == "3"
    runner.allowed.add("notes/add")
    [*_, result] = [e async for e in runner.run([call])]
    assert asked == ["notes"], "allowed for this chat: not asked again"


@pytest.mark.asyncio
async def test_a_call_with_bad_arguments_is_an_error_result_not_run(hub: ToolHub) -> None:
    runner = ToolRunner(hub, ["notes"], allow_all)
    await runner.prepare()
    bad = ToolCall(0, "c1", "add", {}, "{nope", error="arguments are not JSON")
    results = [e async for e in runner.run([bad])]
    assert [(r.outcome, r.content) for r in results if isinstance(r, ToolResult)] == [
        ("error", "Not run: arguments are not JSON")
    ]


@pytest.mark.asyncio
async def test_calls_and_results_are_stored_and_sent_again(
    chat: ScriptedChat, hub: ToolHub
) -> None:
    target = target_of(chat)
    with HistoryStore() as store:
        conversation = Conversation(target)
        record = ConversationRecord(store, conversation)
        send = conversation.ask("add please")
        recorder = record.open_reply(send.turn)
        events = stream_reply(
            send.turn.reply,
            send.request,
            keys=None,
            recorder=recorder,
            tools=ToolRunner(hub, ["notes"], allow_all),
        )
        async with contextlib.aclosing(events):
            async for _ in events:
                pass
        cid = conversation.conversation_id
        assert cid is not None
        stored = store.messages(cid)
        assert stored[1].content == "Let me check.The tool said: 5."
        (found,) = stored[1].tool_rounds
        assert found["at"] == len("Let me check.") and found["results"][0]["content"] == "5"
        exported = store.export_markdown(cid)
        assert "**Tool call** `add` on notes" in exported and "(ok," in exported
        assert store.export_json(cid)["messages"][1]["tool_rounds"] == [found]

        again = Conversation(target, conversation_id=cid)
        again.load(turns_of(stored, target))
        follow = again.ask("and now?")
        roles = [(m.role, bool(m.tool_calls)) for m in follow.request.messages]
        assert roles == [
            ("user", False),
            ("assistant", True),
            ("tool", False),
            ("assistant", False),
            ("user", False),
        ]
        assert follow.request.messages[2].content == "5"
        assert follow.request.messages[3].content == "The tool said: 5."


@pytest.mark.asyncio
async def test_a_cut_after_a_tool_round_carries_on_from_the_text_since_the_round(
    hub: ToolHub,
) -> None:
    async with ScriptedChat(CALLS, cut=True) as chat:
        reply, request = ask(target_of(chat), "add please")
        events = stream_reply(
            reply,
            request,
            keys=None,
            resume=ResumePolicy("restart", 2),
            tools=ToolRunner(hub, ["notes"], allow_all),
        )
        async with contextlib.aclosing(events):
            async for _ in events:
                pass
    assert reply.status is ReplyStatus.COMPLETE
    assert reply.text == "Let me check.The tool said: 5 and the rest."
    assert [a.strategy for a in reply.attempts] == ["continue"], "a round is never redone"
    carried = chat.bodies[-1]["messages"]
    assert [m["role"] for m in carried] == ["user", "assistant", "tool", "assistant"]
    assert carried[-1]["content"] == "The tool said: 5 and"


@pytest.mark.asyncio
async def test_continuing_a_stopped_reply_with_tool_rounds_sends_them_first(
    chat: ScriptedChat, hub: ToolHub
) -> None:
    conversation = Conversation(target_of(chat))
    send = conversation.ask("add please")
    await run(send.turn.reply, send.request, ToolRunner(hub, ["notes"], allow_all))
    send.turn.reply.status = ReplyStatus.STOPPED
    again = conversation.continue_reply(send.turn)
    assert again is not None
    messages = again.request.messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1].content == "Let me check." and messages[2].content == "5"
    assert messages[3].content == "The tool said: 5." and again.request.continuation
    assert again.turn.reply.tool_rounds[0].results[0].content == "5"


def test_a_conversations_tool_servers_live_in_its_params() -> None:
    conversation = Conversation(params={"temperature": 0.2})
    assert conversation.tool_servers == []
    conversation.tool_servers = ["notes", "web", "notes"]
    assert conversation.params == {"temperature": 0.2, "mcp_servers": ["notes", "web"]}
    conversation.tool_servers = []
    assert conversation.params == {"temperature": 0.2}
