"""ChatSession against the real mock: each failure kind on the message, Retry and Continue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply, wait_text

from streamdesk.core.events import FailureKind
from streamdesk.core.request import Timeouts
from streamdesk.mock.replies import reply_for
from streamdesk.mock.scenarios import FAULT_AFTER

OFF = {"resume_override": "off"}  # a cut as it ends (test_resume_window covers resuming)
# scenario, protocol, failure kind, title shown on the message, window overrides
FAILURES: list[tuple[str, str, FailureKind, str, dict[str, Any]]] = [
    ("http-401", "sse", FailureKind.AUTHENTICATION, "Key rejected", {}),
    ("http-401", "ws", FailureKind.AUTHENTICATION, "Key rejected", {}),
    ("http-429", "sse", FailureKind.RATE_LIMITED, "Rate limited", {"max_retries_override": 1}),
    ("http-500", "sse", FailureKind.SERVER_ERROR, "Server error", {"max_retries_override": 0}),
    ("cut", "sse", FailureKind.CUT_MID_STREAM, f"Connection cut after {FAULT_AFTER} tokens", OFF),
    ("cut", "ws", FailureKind.CUT_MID_STREAM, f"Connection cut after {FAULT_AFTER} tokens", OFF),
    ("bad-json", "sse", FailureKind.BAD_RESPONSE, "Bad response", OFF),
    (
        "ws-close-1011",
        "ws",
        FailureKind.WEBSOCKET_CLOSED,
        f"WebSocket closed after {FAULT_AFTER} tokens",
        {"max_retries_override": 0, **OFF},
    ),
    (
        "stall",
        "sse",
        FailureKind.STALLED,
        f"Stalled after {FAULT_AFTER} tokens",
        {"timeouts_override": Timeouts(stall=0.3), **OFF},
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("scenario", "protocol", "kind", "title", "overrides"),
    FAILURES,
    ids=[f"{f[0]}-{f[1]}" for f in FAILURES],
)
async def test_each_failure_kind_shows_on_the_message_with_its_title(
    qtbot: QtBot,
    scenario: str,
    protocol: str,
    kind: FailureKind,
    title: str,
    overrides: dict[str, Any],
) -> None:
    async with open_window(qtbot) as window:
        for name, value in overrides.items():
            setattr(window, name, value)
        window.header.set_protocol(protocol)
        window.set_next_scenario(scenario)
        session = window.current_session()
        notices: list[str] = []
        session.noticeChanged.connect(lambda _key, text: notices.append(text))
        session.send("fail please")
        turn = await wait_reply(session)
        assert turn.reply.status.value == ("partial" if turn.reply.parts else "error")
        assert turn.reply.failure is not None and turn.reply.failure.kind is kind, (
            turn.reply.failure
        )
        shown = session.view.toPlainText()
        assert title in shown, shown[-400:]
        assert turn.reply.failure.message.split(":")[0] in shown
        partial = "".join(reply_for("fail please")[:FAULT_AFTER])
        if turn.reply.parts:  # mid-stream: the text that arrived stays above the failure
            assert session.views[turn.key].text == partial
            assert "Continue" in shown
            assert turn.reply.estimated and turn.reply.cost, "no usage came: its cost is estimated"
            assert session.conversation_cost() == turn.reply.cost
        assert "Retry" in shown
        if kind is FailureKind.RATE_LIMITED:
            assert any(n.startswith("Rate limited: retrying in") for n in notices), notices
        assert "Failed" in window.status.text()


@pytest.mark.asyncio
async def test_continue_sends_the_partial_as_the_assistant_prefix_and_appends_the_rest(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        window.resume_override = "off"
        window.set_next_scenario("cut")
        session = window.current_session()
        key = session.send("continue me")
        cut = await wait_reply(session)
        partial = session.views[cut.key].text
        assert cut.reply.status.value == "partial" and partial
        session.view.continueRequested.emit(key)  # what the Continue action on the message does
        turn = await wait_reply(session)
        assert turn is cut and turn.reply.status.value == "complete" and len(session.turns) == 1
        # the mock continues a trailing assistant message from where it ends: whole reply, once
        whole = "".join(reply_for("continue me"))
        assert turn.reply.text == session.views[turn.key].text == whole and len(whole) > len(
            partial
        )
        shown = session.view.toPlainText()
        assert shown.count("continue me") == 1 and "Continue exactly" not in shown
        assert turn.reply.failure is None and "Connection cut" not in shown


@pytest.mark.asyncio
async def test_a_cut_reply_without_usage_gets_an_estimated_cost_in_the_total(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        window.resume_override = "off"
        window.set_next_scenario("cut")
        session = window.current_session()
        session.send("price me!")
        turn = await wait_reply(session)
        assert turn.reply.status.value == "partial" and len(turn.reply.parts) == FAULT_AFTER
        # no usage chunk before the cut: one token per delta, the prompt at 4 characters a token
        assert turn.reply.estimated and turn.reply.completion_tokens == FAULT_AFTER
        assert turn.reply.prompt_tokens == 3  # "price me!": 9 characters / 4, rounded up
        target = turn.target
        expected = target.provider.cost(target.model, 3, FAULT_AFTER)
        assert expected and turn.reply.cost == pytest.approx(expected)
        assert session.conversation_cost() == pytest.approx(expected)
        status = window.status.text()
        cost = window.status.labels["cost"].toolTip()  # the demo's cost at list price
        assert f"out ≈{FAULT_AFTER}" in status and "≈$" in cost and "Cost: demo" in status
        session.send("and a whole one")  # with usage: exact, and the total adds both
        done = await wait_reply(session)
        assert not done.reply.estimated and done.reply.cost is not None
        assert session.conversation_cost() == pytest.approx(expected + done.reply.cost)
        status = window.status.text()
        cost = window.status.labels["cost"].toolTip()
        assert f"out {done.reply.completion_tokens}" in status and "chat" in cost
        assert cost.count("≈$") == 1, "the reply is exact; the chat total holds an estimate"


@pytest.mark.asyncio
async def test_retry_resends_the_prompt_as_a_new_reply(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.max_retries_override = 0
        window.set_next_scenario("http-500")
        session = window.current_session()
        key = session.send("retry me")
        failed = await wait_reply(session)
        assert failed.reply.status.value == "error"
        session.view.retryRequested.emit(key)
        turn = await wait_reply(session)
        assert turn is not failed and turn.reply.status.value == "complete" and failed.superseded
        assert session.views[turn.key].text == "".join(reply_for("retry me"))


@pytest.mark.asyncio
async def test_a_cut_reply_is_stored_as_partial_with_its_text_as_it_streamed(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        window.resume_override = "off"
        session = window.current_session()
        window.set_next_scenario("cut")
        session.send("store me")
        turn = await wait_reply(session)
        assert window.history.store is not None and turn.reply_id is not None
        stored = window.history.store.get_message(turn.reply_id)
        assert stored.status == "partial" and stored.failure_kind == "cut_mid_stream"
        assert stored.content == turn.reply.text and stored.estimated
        assert stored.completion_tokens == turn.reply.completion_tokens == FAULT_AFTER


@pytest.mark.asyncio
async def test_a_reply_cut_by_max_tokens_is_marked_and_continuable(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = window.current_session()
        session.params = {"max_tokens": 5}
        session.send("short please")
        turn = await wait_reply(session)
        assert turn.reply.status.value == "complete"
        shown = session.view.toPlainText()
        assert "Stopped at the max-tokens limit" in shown and "Continue" in shown, shown[-300:]
        assert "Max tokens" in window.status.text()
    async with open_window(qtbot) as again:  # the chat reopens from the history, marked alike
        shown = again.current_session().view.toPlainText()
        assert "Stopped at the max-tokens limit" in shown and "Continue" in shown, shown[-300:]
        assert "Max tokens" in again.status.text()


@pytest.mark.asyncio
async def test_a_stopped_reply_says_how_many_tokens_arrived(qtbot: QtBot) -> None:
    async with open_window(qtbot, tokens_per_second=200.0) as window:
        session = window.current_session()
        session.send("stop me")
        await wait_text(session)
        session.stop()
        turn = await wait_reply(session)
        assert turn.reply.status.value == "stopped"
        shown = session.view.toPlainText()
        assert f"Stopped after {turn.reply.completion_tokens} token" in shown, shown[-300:]
        assert turn.reply.completion_tokens >= 1 and "Continue" in shown
        assert turn.reply.estimated and turn.reply.cost, "a stopped reply still cost its tokens"
        assert session.conversation_cost() == turn.reply.cost
        assert "≈$" in window.status.labels["cost"].toolTip()


@pytest.mark.asyncio
async def test_stop_in_the_same_loop_turn_as_send_leaves_the_session_idle(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = window.current_session()
        ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def end(_key: object, status: str) -> None:
            if not ended.done():
                ended.set_result(status)

        session.finished.connect(end)
        session.send("stop before the first step")
        session.stop()  # the reply's task has not taken a step yet
        assert await asyncio.wait_for(ended, 5.0) == "stopped"
        assert not session.busy, "Stop at any moment leaves the session idle"
        turn = session.turns[-1]
        assert turn.prompt == "stop before the first step"
        assert "stop before the first step" in session.view.toPlainText()
        assert window.history.store is not None and turn.reply_id is not None
        assert window.history.store.get_message(turn.reply_id).status == "stopped"
        assert session.send("and again") is not None, "the next prompt can be sent"
        assert (await wait_reply(session)).reply.status.value == "complete"


@pytest.mark.asyncio
async def test_an_empty_reply_that_ends_normally_is_marked(qtbot: QtBot) -> None:
    async with open_window(
        qtbot, tokens_per_second=0.0, first_token_delay=0.0, reply_tokens=0
    ) as w:
        session = w.current_session()
        session.send("say nothing")
        turn = await wait_reply(session)
        assert turn.reply.status.value == "complete" and not turn.reply.text
        assert "Empty reply: the server sent no text" in session.view.toPlainText()


@pytest.mark.asyncio
async def test_the_status_bar_sums_the_conversation_cost_once_per_reply_not_per_refresh(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long chat has thousands of turns: summing their costs at every refresh (ten a
    second while a reply streams) would cost more the longer the chat."""
    from streamdesk.core.chat.conversation import Conversation

    async with open_window(qtbot, tokens_per_second=200, reply_tokens=60) as window:
        session = window.current_session()
        session.send("first")
        first = await wait_reply(session)
        sums: list[int] = []
        summed = Conversation.cost

        def counting(self: Conversation) -> tuple[float | None, bool]:
            sums.append(1)
            return summed(self)

        monkeypatch.setattr(Conversation, "cost", counting)
        refreshes: list[object] = []
        session.statsChanged.connect(refreshes.append)
        session.send("second")
        second = await wait_reply(session)
        assert len(refreshes) >= 4, "refreshed while it streamed"
        assert len(sums) <= 2, "summed when it started and when its own cost was settled"
        assert first.reply.cost is not None and second.reply.cost is not None
        total = session.stats.conversation_cost
        assert total == pytest.approx(first.reply.cost + second.reply.cost)


@pytest.mark.asyncio
async def test_the_chat_total_while_a_reply_streams_counts_the_stored_turns_read_for_it(
    qtbot: QtBot,
) -> None:
    """A reopened long chat has read only its newest turns when Enter is pressed; the rest are
    read for the request. The total the status bar shows while the reply streams is the
    whole chat's, not the part read at Enter."""
    from streamdesk.core.providers import MOCK_PROVIDER_ID
    from streamdesk.core.store.history import HistoryStore

    with HistoryStore() as store:
        cid = store.create_conversation(title="long and priced", provider=MOCK_PROVIDER_ID)
        data = store.export_json(cid)
        data["messages"] = [
            {"role": "user", "content": f"message {i}."}
            if i % 2 == 0
            else {"role": "assistant", "content": f"answer {i}.", "cost": 0.01}
            for i in range(400)
        ]
        store.delete_conversation(cid)
        store.import_json(data)
    async with open_window(qtbot, tokens_per_second=40.0, reply_tokens=40) as window:
        lst = window.conversations
        listed = lst.keys()  # a list, not a dict
        key = next(k for k in listed if lst.title(k) == "long and priced")
        lst.select(key)
        session = window.sessions[key]
        assert session.earlier is not None and session.earlier.left, "only the newest were read"
        session.send("and now?")
        streaming = asyncio.get_running_loop().create_future()
        session.statsChanged.connect(
            lambda stats: (
                stats.state == "Streaming"
                and not streaming.done()
                and streaming.set_result(stats.conversation_cost)
            )
        )
        shown = await asyncio.wait_for(streaming, 10)
        assert shown == pytest.approx(2.00)  # 200 replies at $0.01, the new one not priced yet
        await wait_reply(session)


def test_a_reply_from_a_local_server_named_no_model_says_whose_model_it_is() -> None:
    from streamdesk.core.chat import Target
    from streamdesk.core.providers import builtin
    from streamdesk.ui.session.session import label

    local = builtin("llamacpp")
    assert not local.default_model
    assert label(Target(local, "")) == "the server's model · SSE"
    assert label(Target(local, "qwen3-8b", "ws")).startswith("qwen3-8b · ")
