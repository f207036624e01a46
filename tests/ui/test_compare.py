"""Compare streams every column through the engine: the window's proxy, key and timeouts apply,
each column's figures count from its own request, replies are rendered Markdown, and one reply
can carry the chat on (stored with its own tokens and cost)."""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QStandardItemModel,
    QTextBlock,
    QTextCharFormat,
    QTextDocument,
    QTextTable,
)
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from ui_helpers import (
    FAST,
    PROMPT,
    SLOW,
    online_window,
    open_window,
    recording_proxy,
    wait_reply,
)

from streamdesk.core.chat import ReplyStatus, Target
from streamdesk.core.providers import MOCK_PROVIDER_ID, Provider, mock_provider
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.wording import history_left_out
from streamdesk.mock import reply_for
from streamdesk.ui.compare import figures_text, open_compare, summary_text

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui_helpers import KEY

    monkeypatch.setenv("STREAMDESK_API_KEY", KEY)
    for name in (*PROXY_ENV, "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.asyncio
async def test_send_over_both_goes_through_the_configured_proxy(
    qtbot: QtBot, env_key: None
) -> None:
    seen: asyncio.Queue[bytes] = asyncio.Queue()
    proxy = await recording_proxy(seen)
    port = proxy.sockets[0].getsockname()[1]
    try:
        url = f"http://127.0.0.1:{port}"
        async with online_window(qtbot, proxy_mode="manual", proxy_url=url) as window:
            compare = open_compare(window, PROMPT)
            await compare.run(PROMPT)
            heads = [(await asyncio.wait_for(seen.get(), 10)).decode("latin-1") for _ in "ab"]
            assert all(s.startswith("failed") for s in compare.status), compare.status
            compare.close()
    finally:
        proxy.close()
        await proxy.wait_closed()
    # SSE goes to the proxy with the absolute URL; WebSocket tunnels with CONNECT
    assert any(h.startswith("POST http://127.0.0.1:") for h in heads), heads
    assert any(h.startswith("CONNECT 127.0.0.1:") for h in heads), heads


@pytest.mark.asyncio
async def test_one_after_the_other_each_total_counts_from_its_own_request(qtbot: QtBot) -> None:
    options = {"tokens_per_second": 100.0, "first_token_delay": 0.0, "reply_tokens": 30}
    async with open_window(qtbot, **options) as window:
        compare = open_compare(window, "time both")
        compare.at_once.setChecked(False)
        await compare.run("time both")
        assert [lane.target.protocol for lane in compare.lanes] == ["sse", "ws"]
        sse, ws = compare.stats(0), compare.stats(1)
        assert sse is not None and ws is not None
        assert sse.total_ms is not None and ws.total_ms is not None
        whole = "".join(reply_for("time both", tokens=30))
        assert [lane.reply.text for lane in compare.lanes] == [whole, whole]
        assert [view.text for view in compare.views] == [whole, whole]
        # both replies take about as long; a WebSocket total counted from the SSE request
        # would be about twice the SSE one
        assert ws.total_ms < 1.5 * sse.total_ms and sse.total_ms < 1.5 * ws.total_ms, (
            sse.total_ms,
            ws.total_ms,
        )
        compare.close()


@pytest.mark.asyncio
async def test_replies_are_rendered_markdown_not_raw(qtbot: QtBot) -> None:
    prompt = "Give me a table comparing SSE and WebSocket"
    async with open_window(qtbot) as window:
        compare = open_compare(window, prompt)
        await compare.run(prompt)
        raw = compare.lanes[0].reply.text
        markers = [m for m in ("```", "**", "|---", "## ") if m in raw]
        assert "|---" in markers and len(markers) >= 2, "the mock's reply holds Markdown"
        for view, pane in zip(compare.views, compare.panes, strict=True):
            assert view.text == raw  # the text itself is kept as received
            shown = pane.toPlainText()
            assert [m for m in markers if m in shown] == [], shown[:300]
            frames = pane.document().rootFrame().childFrames()
            tables = []
            while frames:
                frame = frames.pop()
                frames += frame.childFrames()
                tables += [frame] if isinstance(frame, QTextTable) else []
            assert tables, "the table is a real table, not pipes"
        compare.close()


@pytest.mark.asyncio
async def test_model_html_and_local_files_stay_inert(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        compare = open_compare(window, "x")
        pane = compare.panes[0]
        reply = pane.begin_assistant("sse")
        reply.append_text('<b>bold?</b> <img src="file:///etc/hostname"> ![x](file:///etc/passwd)')
        reply.finish("complete")
        shown = pane.toPlainText()
        assert "<b>bold?</b>" in shown  # shown as text, never read as HTML
        assert "file:///etc/passwd" in shown  # the refused image says where it pointed
        images = [
            f for block in _blocks(pane.document()) for f in _formats(block) if f.isImageFormat()
        ]
        assert images == []
        compare.close()


@pytest.mark.asyncio
async def test_the_panes_follow_a_theme_switch(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.set_theme("light")
        compare = open_compare(window, "theme")
        assert not compare.panes[0].is_dark()
        window.set_theme("dark")
        assert all(pane.is_dark() for pane in compare.panes)
        window.set_theme("light")
        assert not any(pane.is_dark() for pane in compare.panes)
        compare.close()


@pytest.mark.asyncio
async def test_escape_closes_the_compare_window(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        compare = open_compare(window, "close me")
        assert compare.isVisible()
        QTest.keyClick(compare.prompt_edit, Qt.Key.Key_Escape)
        assert not compare.isVisible()
        compare = open_compare(window, "again")  # opens again, the same window
        assert compare.isVisible()
        QTest.keyClick(compare.panes[1], Qt.Key.Key_Escape)
        assert not compare.isVisible()


@pytest.mark.asyncio
@pytest.mark.parametrize("at_once", [False, True])
async def test_the_default_columns_compare_sse_and_websocket(qtbot: QtBot, at_once: bool) -> None:
    async with open_window(qtbot, **FAST) as window:
        compare = open_compare(window, "Compare me")
        compare.at_once.setChecked(at_once)
        compare.start()
        assert compare.task is not None
        await asyncio.wait_for(compare.task, 15)
        assert all(s.startswith("done") for s in compare.status), compare.status
        for index, protocol in enumerate(("sse", "ws")):
            stats = compare.stats(index)
            assert stats is not None and stats.tokens > 0 and stats.protocol == protocol
        texts = [lane.reply.text for lane in compare.lanes]
        assert texts[0] == texts[1] != ""  # same prompt, same mock reply
        assert compare.table.item(2, 0).text() != "–"  # TTFT shown
        compare.close()


@pytest.mark.asyncio
async def test_three_columns_show_each_reply_its_figures_and_a_summary(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        compare = open_compare(window, "Three models")
        column = compare.add_column("mock", "deepseek-v3.2", "ws")
        assert column is not None and len(compare.columns) == 3
        compare.columns[1].choose("mock", "claude-sonnet-4.5", "sse")
        await compare.run("Three models")
        targets = [(lane.target.model, lane.target.protocol) for lane in compare.lanes]
        assert targets == [
            ("gpt-4.1", "sse"),
            ("claude-sonnet-4.5", "sse"),
            ("deepseek-v3.2", "ws"),
        ]
        assert compare.table.columnCount() == 3
        for column, lane in zip(compare.columns, compare.lanes, strict=True):
            reply = lane.reply
            assert reply.status is ReplyStatus.COMPLETE and reply.cost is not None
            shown = column.figures.text()
            assert f"{reply.prompt_tokens} → {reply.completion_tokens} tokens" in shown
            # the offline demo costs nothing: worded as the chat's status bar words it
            assert "Cost: demo" in shown and "$" not in shown and "TTFT" in shown
            assert column.continue_button.isEnabled()
        summary = compare.summary.text()
        assert compare.summary.textFormat() == Qt.TextFormat.PlainText  # names are not HTML
        assert "3 of 3 complete" in summary
        assert "Cheapest" not in summary and "$" not in summary and "Cost: demo" in summary
        compare.close()


@pytest.mark.asyncio
async def test_two_to_four_columns(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        compare = open_compare(window, "columns")
        assert len(compare.columns) == 2
        assert not compare.columns[0].remove_button.isVisible()
        compare.remove_column(compare.columns[0])
        assert len(compare.columns) == 2
        assert compare.add_column() is not None and compare.add_column() is not None
        assert compare.add_column() is None and not compare.add_button.isEnabled()
        models = {c.model_box.currentText() for c in compare.columns}
        assert len(models) >= 3, "an added column picks a model no column has yet"
        compare.remove_column(compare.columns[3])
        assert len(compare.columns) == 3 and compare.table.columnCount() == 3
        compare.close()


@pytest.mark.asyncio
async def test_continue_with_a_reply_adds_it_to_the_chat_and_its_history(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = window.current_session()
        session.send("First question")
        await wait_reply(session)
        compare = open_compare(window, "Second question")
        assert compare.with_chat.isChecked(), "a new prompt goes after the chat"
        compare.columns[1].choose("mock", "deepseek-v3.2", "ws")
        await compare.run("Second question")
        sent = compare.lanes[1].send.request.messages
        assert [m.content for m in sent if m.role == "user"] == [
            "First question",
            "Second question",
        ]
        chosen = compare.lanes[1].reply
        compare.columns[1].continue_button.click()
        assert not compare.isVisible()
        turn = session.turns[-1]
        assert (turn.prompt, turn.reply) == ("Second question", chosen)
        assert "Second question" in session.view.toPlainText()
        cid = session.conversation.conversation_id
        assert cid is not None
        with HistoryStore() as store:
            messages = store.messages(cid)
        assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
        stored = messages[-1]
        assert stored.content == chosen.text and stored.status == "complete"
        assert (stored.model, stored.protocol) == ("deepseek-v3.2", "ws")
        assert stored.completion_tokens == chosen.completion_tokens
        assert stored.prompt_tokens == chosen.prompt_tokens and stored.cost == chosen.cost


@pytest.mark.asyncio
async def test_a_column_whose_model_reads_less_than_the_chat_says_what_it_left_out(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deepseek-v3.2 reads 20,000 tokens here, gpt-4.1 no limit: the chat of 60 messages of
    about 500 tokens goes whole to one column and only its newest to the other, which says so
    under its reply as the chat would."""
    windows = {"deepseek-v3.2": 20_000}
    monkeypatch.setattr(Provider, "context_window", lambda _self, model: windows.get(model))
    with HistoryStore() as store:
        cid = store.create_conversation(title="long", provider=MOCK_PROVIDER_ID)
        for i in range(60):
            store.add_message(cid, "user" if i % 2 == 0 else "assistant", f"m{i}. " + "w" * 2_000)
    async with open_window(qtbot) as window:
        listed = window.conversations.keys()  # a list, not a dict
        window.conversations.select(
            next(k for k in listed if window.conversations.title(k) == "long")
        )
        compare = open_compare(window, "Second question")
        assert compare.with_chat.isChecked()
        compare.columns[1].choose("mock", "deepseek-v3.2", "ws")
        await compare.run("Second question")
        whole, cut = (lane.send.request for lane in compare.lanes)
        assert whole.left_out == 0 and len(whole.messages) == 61
        assert 0 < cut.left_out < 60 and len(cut.messages) == 61 - cut.left_out
        said = history_left_out(cut.left_out, "deepseek-v3.2", 20_000)
        assert compare.notices == ["", said]
        assert said in compare.columns[1].pane.document().toPlainText()  # under its reply
        assert "not sent" not in compare.columns[0].pane.document().toPlainText()
        assert all(lane.reply.status is ReplyStatus.COMPLETE for lane in compare.lanes)
        compare.close()


@pytest.mark.asyncio
async def test_continuing_a_new_chat_stores_and_titles_it(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = window.current_session()
        assert not session.turns
        compare = open_compare(window, "A fresh start")
        assert not compare.with_chat.isChecked()
        await compare.run("A fresh start")
        assert compare.continue_with(0)
        cid = session.conversation.conversation_id
        assert cid is not None and session.title == "A fresh start"
        assert window.conversations.title(window.current_key()) == "A fresh start"
        with HistoryStore() as store:
            user, reply = store.messages(cid)
        assert (user.content, reply.content) == ("A fresh start", compare.lanes[0].reply.text)


@pytest.mark.asyncio
async def test_a_busy_chat_is_not_continued(qtbot: QtBot) -> None:
    async with open_window(qtbot, **SLOW) as window:
        compare = open_compare(window, "wait for me")
        compare.with_chat.setChecked(False)
        await compare.run("wait for me")
        session = window.current_session()
        session.send("still streaming")
        assert not compare.continue_with(0)
        assert "busy" in compare.summary.text() and compare.isVisible()
        await session.aclose()  # stops the reply and waits until it is marked
        compare.close()


@pytest.mark.asyncio
async def test_websocket_is_offered_only_where_the_provider_has_it(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        compare = open_compare(window, "pick")
        column = compare.columns[1]
        assert column.target(window.target()).protocol == "ws"  # the mock has a WebSocket
        column.choose("anthropic", "claude-haiku-4-5", "ws")
        target = column.target(window.target())
        assert (target.provider.id, target.model, target.protocol) == (
            "anthropic",
            "claude-haiku-4-5",
            "sse",
        )
        index = column.protocol_box.findData("ws")
        model = column.protocol_box.model()
        assert isinstance(model, QStandardItemModel)
        item = model.item(index)
        assert item is not None and not item.isEnabled()
        compare.close()


def _blocks(doc: QTextDocument) -> list[QTextBlock]:
    block, found = doc.begin(), []
    while block.isValid():
        found.append(block)
        block = block.next()
    return found


def _formats(block: QTextBlock) -> list[QTextCharFormat]:
    it, found = block.begin(), []
    while not it.atEnd():
        found.append(it.fragment().charFormat())
        it += 1
    return found


def _lane(model: str, protocol: str, *, ttft: float, speed: float, cost: float) -> Any:
    """A lane whose run of `model` over `protocol` completed with these figures, on a priced
    provider (a stand-in: the summary reads only the reply's figures)."""
    provider = dataclasses.replace(
        mock_provider("http://127.0.0.1:1/v1", "ws://127.0.0.1:1/ws"), id="priced"
    )
    reply = SimpleNamespace(
        target=Target(provider=provider, model=model, protocol=protocol),
        status=ReplyStatus.COMPLETE,
        ttft=ttft,
        cost=cost,
        estimated=False,
        trace=SimpleNamespace(tokens_per_second=speed),
        prompt_tokens=5,
        completion_tokens=20,
    )
    return SimpleNamespace(reply=reply)


def test_a_tie_names_both_and_a_demo_reply_costs_demo() -> None:
    lanes = [
        _lane("gpt-4.1", "sse", ttft=0.05, speed=250.0, cost=0.002),
        _lane("gpt-4.1", "ws", ttft=0.08, speed=250.2, cost=0.002),
    ]
    summary = summary_text(lanes)
    assert "First token soonest: gpt-4.1 · SSE (50 ms)" in summary
    assert "Fastest: tie, gpt-4.1 · SSE and gpt-4.1 · WebSocket (250 tok/s)" in summary
    assert "Cheapest: tie, gpt-4.1 · SSE and gpt-4.1 · WebSocket ($0.0020)" in summary
    demo = lanes[0].reply
    demo.target = dataclasses.replace(
        demo.target, provider=mock_provider("http://127.0.0.1:1/v1", "ws://127.0.0.1:1/ws")
    )
    shown = figures_text(demo)
    assert "$" not in shown and "Cost: demo" in shown
    summary = summary_text(lanes)
    assert "Cheapest: gpt-4.1 · WebSocket ($0.0020)" in summary and "demo" in summary
