"""'Send over both' streams through the engine: the window's proxy, key and timeouts apply, and
each protocol's figures count from its own request."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextBlock, QTextCharFormat, QTextDocument, QTextTable
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from ui_helpers import PROMPT, online_window, open_window, recording_proxy

from streamdesk.mock import reply_for
from streamdesk.ui.compare import open_compare

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
            assert all(s.startswith("failed") for s in compare.status.values()), compare.status
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
        assert not compare.at_once.isChecked()
        await compare.run("time both")
        sse, ws = compare.stats("sse"), compare.stats("ws")
        assert sse is not None and ws is not None
        assert sse.total_ms is not None and ws.total_ms is not None
        whole = "".join(reply_for("time both", tokens=30))
        assert "".join(compare.texts["sse"]) == "".join(compare.texts["ws"]) == whole
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
        raw = "".join(compare.texts["sse"])
        markers = [m for m in ("```", "**", "|---", "## ") if m in raw]
        assert "|---" in markers and len(markers) >= 2, "the mock's reply holds Markdown"
        for key in ("sse", "ws"):
            assert compare.replies[key].text == raw  # the text itself is kept as received
            shown = compare.panes[key].toPlainText()
            assert [m for m in markers if m in shown] == [], shown[:300]
            frames = compare.panes[key].document().rootFrame().childFrames()
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
        pane = compare.panes["sse"]
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
        assert not compare.panes["sse"].is_dark()
        window.set_theme("dark")
        assert all(pane.is_dark() for pane in compare.panes.values())
        window.set_theme("light")
        assert not any(pane.is_dark() for pane in compare.panes.values())
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
        QTest.keyClick(compare.panes["ws"], Qt.Key.Key_Escape)
        assert not compare.isVisible()


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
