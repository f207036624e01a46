"""The offline demo as a first-run user meets it: Settings saved while looking around keep it,
a key given there ends it at once, and Stop then Continue joins one take of the reply."""

from __future__ import annotations

import contextlib
import json

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import KEY, online_window, open_window, until, wait_reply

from streamdesk.core.chat import Turn
from streamdesk.mock import reply_for
from streamdesk.ui.keys import key_store
from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.settings.dialog import SettingsDialog
from streamdesk.ui.window.main_window import MainWindow


async def _open_settings(window: MainWindow) -> SettingsDialog:
    window.settingsRequested.emit()  # what Ctrl+, and File ▸ Settings… do
    dialog = window.settings_ui.dialog
    assert dialog is not None  # the window's shutdown closes it
    await dialog.wait_idle()
    return dialog


async def _save(window: MainWindow, dialog: SettingsDialog) -> None:
    dialog.save(close=True)
    await dialog.wait_idle()
    await window.wait_idle()


@pytest.mark.asyncio
async def test_settings_saved_while_looking_around_keep_the_demo_answering(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        mock = window.mock
        dialog = await _open_settings(window)
        await _save(window, dialog)  # nothing changed
        dialog = await _open_settings(window)
        dialog.appearance.font_spin.setValue(15)
        await _save(window, dialog)
        assert window.offline and window.provider.id == "mock" and window.mock is mock
        assert window.header.provider_id() == "mock"
        assert not window.settings_ui.banner.isVisible()
        assert window.current_session().view.font().pointSize() == 15
        session = window.current_session()
        session.send("Write a poem")
        turn = await wait_reply(session)
        assert turn.reply.failure is None and turn.reply.text == "".join(reply_for("Write a poem"))


@pytest.mark.asyncio
async def test_a_model_picked_in_the_header_stays_when_settings_are_saved(qtbot: QtBot) -> None:
    """Saving Settings is no choice of model: the demo's, or a configured provider's, stays;
    a header left on the default follows the saved provider's default."""
    async with open_window(qtbot) as window:
        window.header.model_box.setCurrentText("claude-sonnet-4.5")
        await _save(window, await _open_settings(window))
        assert window.offline and window.header.model() == "claude-sonnet-4.5"
        session = window.current_session()
        session.send("Which model?")
        await wait_reply(session)
        mock = window.mock
        assert (
            mock is not None and json.loads(mock.requests[-1].body)["model"] == "claude-sonnet-4.5"
        )


@pytest.mark.asyncio
async def test_a_model_picked_for_a_configured_provider_stays_when_settings_are_saved(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMDESK_API_KEY", KEY)
    async with online_window(qtbot) as window:
        window.header.model_box.setCurrentText("gpt-4.1-mini")
        await _save(window, await _open_settings(window))
        assert window.provider.id == "loopback" and window.switcher.api_key == KEY
        assert window.target().model == "gpt-4.1-mini"
        window.header.model_box.setCurrentText("gpt-4.1")  # the profile's default
        dialog = await _open_settings(window)
        dialog.providers.select("loopback")
        dialog.providers.form.default_model_box.setCurrentText("gpt-4o")
        await _save(window, dialog)
        assert window.target().model == "gpt-4o", "the saved default, never chosen over"


@pytest.mark.asyncio
async def test_a_provider_chosen_in_settings_without_its_key_ends_the_demo_and_says_so(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        dialog = await _open_settings(window)
        dialog.providers.select("openai")
        dialog.providers.use_for_chat()
        await _save(window, dialog)
        assert not window.offline and window.provider.id == "openai"
        banner = window.settings_ui.banner
        assert banner.isVisible() and "No API key for OpenAI" in banner.label.text()


@pytest.mark.asyncio
async def test_a_key_given_in_the_same_save_is_used_at_once(qtbot: QtBot) -> None:
    secret = "sk-demo-ends-0123456789abcdef"
    async with open_window(qtbot) as window:
        try:
            dialog = await _open_settings(window)
            page = dialog.providers
            assert page.current_id == window.switcher.wanted_provider_id() == "holysheep"
            page.keybox.key_edit.setText(secret)
            page.keybox.hold_key()  # this session only: no keychain needed
            dialog.appearance.font_spin.setValue(15)
            await _save(window, dialog)
            assert not window.offline and window.provider.id == "holysheep"
            assert window.switcher.api_key == secret
            assert not window.settings_ui.banner.isVisible()
        finally:
            with contextlib.suppress(Exception):
                key_store().delete("holysheep")


async def _stop_after(session: ChatSession, chars: int) -> Turn:
    """Stop the running reply once `chars` characters of it came (enough to tell takes apart)."""
    await until(lambda: len(session.turns[-1].reply.text) >= chars)
    session.stop()
    return await wait_reply(session)


@pytest.mark.asyncio
async def test_regenerate_after_stop_brings_another_take_and_continue_finishes_it(
    qtbot: QtBot,
) -> None:
    """The demo's mock gives another take of a reply asked again; a stopped reply's
    continuation must go on with the take it was cut from, not join another one."""
    prompt = "Explain server-sent events and the event-stream format"
    takes = ["".join(reply_for(prompt, variant=k)) for k in (0, 1)]
    async with open_window(qtbot, tokens_per_second=250.0, first_token_delay=0.0) as window:
        session = window.current_session()
        key = session.send(prompt)
        first = (await _stop_after(session, 40)).reply.text
        session.regenerate(key)
        stopped = await _stop_after(session, 40)
        partial = stopped.reply.text
        assert stopped.reply.status.value == "stopped"
        assert takes[0].startswith(first) and takes[1].startswith(partial), "another take"
        session.view.continueRequested.emit(key)  # what the Continue action on the message does
        turn = await wait_reply(session)
        assert turn is stopped and turn.reply.status.value == "complete"
        assert turn.reply.text == takes[1] and takes[1].count("```") % 2 == 0
