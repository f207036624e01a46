"""The "rejected the API key" banner: shown on a 401, gone after the next good reply or a
provider change (it used to stay across every later chat), and no CLI hint for the mock."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.core.chat import Turn
from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.window.main_window import MainWindow


async def send_rejected(window: MainWindow) -> tuple[ChatSession, Turn]:
    """One reply that the mock answers with HTTP 401."""
    session = window.current_session()
    window.set_next_scenario("http-401")
    session.send("first")
    return session, await wait_reply(session)


@pytest.mark.asyncio
async def test_key_banner_clears_on_the_next_complete_reply(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        banner = window.settings_ui.banner
        session, turn = await send_rejected(window)
        assert turn.reply.failure is not None and "keys set" not in turn.reply.failure.message
        assert banner.isVisible() and "rejected the API key" in banner.label.text()
        session.send("second")
        turn = await wait_reply(session)
        assert turn.reply.status.value == "complete"
        assert not banner.isVisible(), "a reply that worked must clear the key banner"


@pytest.mark.asyncio
async def test_key_banner_clears_when_the_provider_changes(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        banner = window.settings_ui.banner
        await send_rejected(window)
        assert banner.isVisible()
        window.header.providerChanged.emit("openai")
        assert not banner.isVisible()


@pytest.mark.asyncio
async def test_a_settings_warning_banner_is_not_cleared_by_a_reply(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        banner = window.settings_ui.banner
        banner.show_message("The settings file was damaged; defaults are used.")
        session = window.current_session()
        session.send("hello")
        await wait_reply(session)
        assert banner.isVisible()
