"""The window against the real mock server on the qasync loop: stream, stop, close, offline."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_helpers import SLOW, open_window, until, wait_reply, wait_text

from streamdesk.core.store.settings import load_settings
from streamdesk.mock.replies import reply_for
from streamdesk.ui.window.main_window import MainWindow


def _type_and_send(qtbot: QtBot, window: MainWindow, prompt: str) -> None:
    window.prompt.setFocus()
    qtbot.keyClicks(window.prompt, prompt)
    qtbot.keyClick(window.prompt, Qt.Key.Key_Return)


@pytest.mark.asyncio
async def test_a_reply_streams_into_the_transcript_and_completes(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        _type_and_send(qtbot, window, "Explain backpressure")
        session = window.current_session()
        assert session.busy and window.composer.stop_button.isEnabled()
        turn = await wait_reply(session)
        expected = "".join(reply_for("Explain backpressure"))
        assert turn.reply.status.value == "complete"
        assert session.views[turn.key].text == expected
        assert window.prompt.toPlainText() == ""
        status = window.status.text()
        assert "Done" in status and "SSE" in status
        assert f"out {turn.reply.completion_tokens}" in status and turn.reply.completion_tokens > 0
        assert "Cost: demo" in status and "$" not in status, "the demo costs no money"
        tip = window.status.labels["cost"].toolTip()
        assert "$" in tip, "the mock is priced like the relay: the list-price cost is in the tip"
        assert turn.reply.cost is not None and session.conversation_cost() == turn.reply.cost
        assert window.conversations.list.currentItem().text().startswith("Explain backpressure")


@pytest.mark.asyncio
async def test_sse_and_websocket_give_identical_transcripts(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        texts = []
        for protocol in ("sse", "ws"):
            window.header.set_protocol(protocol)
            session = window.new_chat()
            session.send("Compare the protocols")
            turn = await wait_reply(session)
            assert turn.reply.status.value == "complete" and turn.target.protocol == protocol
            texts.append(session.views[turn.key].text)
        assert texts[0] == texts[1] == "".join(reply_for("Compare the protocols"))


@pytest.mark.asyncio
async def test_stop_keeps_the_partial_text_marked_stopped(qtbot: QtBot) -> None:
    async with open_window(qtbot, **SLOW) as window:
        _type_and_send(qtbot, window, "A long answer please")
        session = window.current_session()
        await wait_text(session)
        qtbot.keyClick(window.prompt, Qt.Key.Key_Escape)
        turn = await wait_reply(session)
        full = "".join(reply_for("A long answer please"))
        assert turn.reply.status.value == "stopped"
        shown = session.views[turn.key].text
        assert shown and full.startswith(shown) and shown != full
        assert "Stopped" in window.status.text()
        assert (
            not window.composer.stop_button.isEnabled() and window.composer.send_button.isEnabled()
        )


@pytest.mark.asyncio
async def test_two_conversations_stream_at_once_and_switching_loses_nothing(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot, **SLOW) as window:
        first = window.current_session()
        first.send("first conversation")
        await wait_text(first)
        second = window.new_chat()
        second.send("second conversation")
        await wait_text(second)
        assert first.busy and second.busy, "both replies stream at the same time"
        window.conversations.select(window.conversations.keys()[-1])  # back to the first
        assert window.stack.currentWidget() is first.view
        turns = await asyncio.gather(wait_reply(first), wait_reply(second))
        assert first.views[turns[0].key].text == "".join(reply_for("first conversation"))
        assert second.views[turns[1].key].text == "".join(reply_for("second conversation"))


@pytest.mark.asyncio
async def test_closing_the_window_mid_stream_cancels_and_keeps_the_text(qtbot: QtBot) -> None:
    async with open_window(qtbot, **SLOW) as window:
        session = window.current_session()
        session.send("close me while I talk")
        await wait_text(session)
        window.close()
        await window.shutdown()
        turn = session.turns[-1]
        assert not session.busy and turn.reply.status.value == "stopped"
        assert session.views[turn.key].text and "".join(
            reply_for("close me while I talk")
        ).startswith(session.views[turn.key].text)
        assert window.mock is None, "the mock server is stopped on shutdown"


@pytest.mark.asyncio
async def test_no_key_starts_the_offline_demo_with_a_badge_and_debug_menu(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        assert window.offline and window.provider.id == "mock"
        assert window.header.offline_badge.isVisibleTo(window)
        assert "No API key" in window.header.offline_badge.toolTip()
        assert window.menus.debug_menu.menuAction().isEnabled()
        assert window.header.provider_box.currentData() == "mock"


@pytest.mark.asyncio
async def test_debug_scenario_applies_to_the_next_request_only(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.max_retries_override = 0
        window.menus.scenario_actions["http-500"].trigger()
        session = window.current_session()
        session.send("one")
        turn = await wait_reply(session)
        assert turn.reply.status.value == "error" and turn.target.scenario == "http-500"
        session.send("two")
        turn = await wait_reply(session)
        assert turn.reply.status.value == "complete" and turn.target.scenario is None


@pytest.mark.asyncio
async def test_websocket_switch_is_disabled_with_a_reason_without_a_ws_endpoint(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        window.header.set_protocol("ws")
        index = window.header.provider_box.findData("openai")
        window.header.provider_box.setCurrentIndex(index)
        assert not window.header.ws_button.isEnabled()
        assert "no WebSocket endpoint" in window.header.ws_button.toolTip()
        assert window.header.protocol() == "sse"


@pytest.mark.asyncio
async def test_geometry_is_saved_on_close_and_restored(qtbot: QtBot) -> None:
    # On the loop, with shutdown awaited: a window's tasks and timers must not outlive the test.
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(700, 500)
    window.show()
    window.close()
    await window.shutdown()
    saved = load_settings().settings
    assert saved.window_geometry
    again = MainWindow()
    qtbot.addWidget(again)
    try:
        assert (again.width(), again.height()) == (700, 500)
    finally:
        await again.shutdown()


@pytest.mark.asyncio
async def test_shortcuts_focus_the_prompt_and_the_search_field(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.current_session().send("fill the first chat")  # Ctrl+N reuses an empty one
        await wait_reply(window.current_session())
        window.activateWindow()
        await until(window.isActiveWindow)
        asked = []
        window.settingsRequested.connect(lambda: asked.append("settings"))
        window.inspectorRequested.connect(lambda: asked.append("inspector"))
        qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert window.conversations.search.hasFocus()
        qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        assert window.prompt.hasFocus()
        qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
        assert window.settings_ui.dialog is not None and window.settings_ui.dialog.isVisible()
        qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
        assert asked == ["settings", "inspector"]
        count = len(window.sessions)
        qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        assert len(window.sessions) == count + 1
