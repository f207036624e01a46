"""A settings.toml written by hand (or by an older version) with a provider URL the Providers
form would refuse loads as written, and the window says so in its banner: one plain sentence
naming the provider and the field, with the suggested URL and a button to that field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pytestqt.qtbot import QtBot
from settings_dialogs import close_later
from ui_helpers import FAST

from streamdesk.core.store.settings import Settings, load_settings, save_settings, settings_path
from streamdesk.ui.window.main_window import MainWindow

PASTED = "https://api.openai.com/v1/chat/completions"
SENTENCE = (
    'The SSE base URL of Relay "https://api.openai.com/v1/chat/completi…" cannot be used: it'
    " ends in /chat/completions, which Streamdesk adds itself; use https://api.openai.com/v1"
    " instead."
)


def write_settings(base_url: str, name: str = "Relay") -> str:
    """A file as a user writes it: a profile used for chat that needs no key."""
    text = (
        'active_provider = "relay"\n'
        "[[providers]]\n"
        'id = "relay"\n'
        f"name = {name!r}\n"
        f'base_url = "{base_url}"\n'
        "needs_key = false\n"
        'default_model = "m"\n'
        'models = [{ id = "m" }]\n'
    )
    settings_path().write_text(text, encoding="utf-8")
    return text


@asynccontextmanager
async def window_on_file(qtbot: QtBot, *, save_on_close: bool = False) -> AsyncIterator[MainWindow]:
    """A window that loads settings.toml as the app does."""
    window = MainWindow(mock_options=FAST, save_on_close=save_on_close)
    qtbot.addWidget(window)
    window.show()
    try:
        await window.start()
        yield window
    finally:
        await window.shutdown()


@pytest.mark.asyncio
async def test_a_pasted_request_url_is_said_in_the_banner_and_the_file_is_kept(
    qtbot: QtBot,
) -> None:
    text = write_settings(PASTED)
    async with window_on_file(qtbot, save_on_close=True) as window:
        banner = window.settings_ui.banner
        assert banner.isVisible()
        assert banner.label.text() == SENTENCE
        assert banner.action.text() == "Open Settings ▸ Providers"
        assert window.settings.profile("relay").base_url == PASTED  # type: ignore[union-attr]
        assert settings_path().read_text(encoding="utf-8") == text, "nothing is rewritten"
    relay = load_settings().settings.profile("relay")  # the window saved its own state
    assert relay is not None and relay.base_url == PASTED, "closing does not put it right"


@pytest.mark.asyncio
async def test_the_banner_button_opens_the_providers_page_at_the_field(qtbot: QtBot) -> None:
    write_settings(PASTED)
    async with window_on_file(qtbot) as window:
        settings_ui = window.settings_ui
        settings_ui.banner.action.click()
        dialog = settings_ui.dialog
        assert dialog is not None and dialog.isVisible()
        close_later(dialog)
        assert not settings_ui.banner.isVisible()
        assert dialog.tabs.currentWidget() is dialog.providers
        assert dialog.providers.current_id == "relay"
        form = dialog.providers.form
        assert form.base_edit.text() == PASTED
        assert form.base_note.isVisible() and form.base_note.fix == "https://api.openai.com/v1"
        assert dialog.focusWidget() is form.base_edit


@pytest.mark.asyncio
async def test_saving_the_suggested_url_takes_the_line_away(qtbot: QtBot) -> None:
    write_settings(PASTED)
    async with window_on_file(qtbot) as window:
        banner = window.settings_ui.banner
        dialog = window.settings_ui.open_dialog()  # File ▸ Settings, not the banner's button
        close_later(dialog)
        assert banner.isVisible()
        dialog.providers.select("relay")
        dialog.providers.form.base_note.apply_fix()
        dialog.save(close=True)
        await dialog.wait_idle()
        assert not banner.isVisible()
        banner.show_message("Another line.")
        banner.hide()
        assert not banner.isVisible(), "the URL line does not come back once it is put right"
    relay = load_settings().settings.profile("relay")
    assert relay is not None and relay.base_url == "https://api.openai.com/v1"


@pytest.mark.asyncio
async def test_the_banner_is_plain_text_whatever_the_file_says(qtbot: QtBot) -> None:
    write_settings("https://relay.example/v1?x=1", name="<b>Relay</b>")
    async with window_on_file(qtbot) as window:
        label = window.settings_ui.banner.label
        assert label.text().startswith('The SSE base URL of <b>Relay</b> "https://relay.')
        assert label.textFormat().name == "PlainText"


@pytest.mark.asyncio
async def test_a_file_whose_urls_can_be_used_shows_no_banner(qtbot: QtBot) -> None:
    write_settings("https://relay.example/v1")
    async with window_on_file(qtbot) as window:
        assert not window.settings_ui.banner.isVisible()


@pytest.mark.asyncio
async def test_the_active_provider_is_said_first_and_stands_under_a_missing_key(
    qtbot: QtBot,
) -> None:
    """OpenAI (active, no key in the test keychain) is said before Spare, each line counting
    the problems; the window's "No API key" line shows over them, the URL comes back when that
    line is dismissed, and Spare's when OpenAI's is."""
    save_settings(Settings(active_provider="openai"))
    text = settings_path().read_text(encoding="utf-8")
    settings_path().write_text(
        text
        + '[[providers]]\nid = "spare"\nname = "Spare"\nbase_url = "https://s.example/v1/models"\n'
        + f'[[providers]]\nid = "openai"\nname = "OpenAI"\nbase_url = "{PASTED}"\n',
        encoding="utf-8",
    )
    async with window_on_file(qtbot) as window:
        banner = window.settings_ui.banner
        assert banner.label.text() == "No API key for OpenAI."
        banner.dismiss()
        assert banner.isVisible()
        assert banner.label.text().startswith("The SSE base URL of OpenAI ")
        assert banner.label.text().endswith("instead. (1 of 2)")
        assert banner.action.text() == "Open Settings ▸ Providers"
        banner.dismiss()
        assert banner.label.text().startswith("The SSE base URL of Spare ")
        assert banner.label.text().endswith("instead. (2 of 2)")
        banner.dismiss()
        assert not banner.isVisible(), "a dismissed URL line stays dismissed"
        window.settings_ui.clear_failure()
        banner.hide()
        assert not banner.isVisible()
