"""The Providers form says what is wrong with a URL as it is typed, Save refuses a provider
that cannot work (naming it and the field), and Test connection and Refresh models check the
URL before anything else. Nothing here reaches the network: each check comes first."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from settings_dialogs import open_dialog

from streamdesk.core.providers import ModelInfo
from streamdesk.core.store.settings import (
    ProviderSettings,
    Settings,
    load_settings,
    settings_path,
)
from streamdesk.ui.settings.dialog import SettingsDialog
from streamdesk.ui.settings.ops import CheckResult
from streamdesk.ui.settings.provider_form import ProviderForm

REFUSED = "Could not save the settings: "


def _new_provider(qtbot: QtBot) -> tuple[SettingsDialog, ProviderForm]:
    """A dialog on the defaults with a provider just added (named "New provider", no URL)."""
    dialog = open_dialog(qtbot, Settings())
    dialog.providers.add_provider()
    return dialog, dialog.providers.form


def _relay(base_url: str, *models: str, ws_url: str | None = None) -> ProviderSettings:
    return ProviderSettings(
        "relay", "Relay", base_url, ws_url, needs_key=False, models=[ModelInfo(m) for m in models]
    )


@pytest.mark.asyncio
async def test_the_form_says_what_is_wrong_as_the_url_is_typed_and_puts_it_right(
    qtbot: QtBot,
) -> None:
    _dialog, form = _new_provider(qtbot)
    note = form.base_note
    assert note.isHidden()  # nothing typed, nothing said
    form.base_edit.setText("api.openai.com/v1/chat/completions")
    assert note.text.text() == (
        "Cannot be used: it has no scheme (start it with https:// or http://), and it ends in"
        " /chat/completions, which Streamdesk adds itself. Suggested: https://api.openai.com/v1"
    )
    assert note.isVisible() and note.fix_button.isVisible()
    assert "border" in form.base_edit.styleSheet()  # the field is marked
    note.fix_button.click()
    assert form.base_edit.text() == "https://api.openai.com/v1"
    assert note.text.text() == "Requests go to https://api.openai.com/v1/chat/completions"
    assert not note.fix_button.isVisible()
    assert form.base_edit.styleSheet() == ""
    form.ws_edit.setText("https://api.openai.com/v1/ws")
    assert form.ws_note.text.text() == (
        "Cannot be used: the scheme must be ws or wss, not https."
        " Suggested: wss://api.openai.com/v1/ws"
    )
    form.ws_edit.clear()
    assert form.ws_note.isHidden()


@pytest.mark.asyncio
async def test_the_note_follows_the_api_chosen(qtbot: QtBot) -> None:
    _dialog, form = _new_provider(qtbot)
    form.base_edit.setText("https://api.anthropic.com/v1")
    form.api_box.setCurrentIndex(form.api_box.findData("anthropic"))
    assert form.base_note.text.text() == "Requests go to https://api.anthropic.com/v1/messages"


@pytest.mark.asyncio
async def test_save_refuses_a_bad_url_and_a_chat_provider_without_a_model(qtbot: QtBot) -> None:
    """The walkthrough's case: Base URL "not a url", no models, Use for chat, Save."""
    dialog, form = _new_provider(qtbot)
    form.base_edit.setText("not a url")
    dialog.providers.use_for_chat()
    dialog.save(close=False)
    await dialog.wait_idle()
    assert dialog.status.text() == (
        REFUSED + 'The SSE base URL of New provider "not a url" cannot be used: it is not a URL'
        " (one looks like https://api.example.com/v1)."
    )
    assert not settings_path().exists()
    form.base_edit.setText("https://relay.example/v1")
    dialog.save(close=False)
    await dialog.wait_idle()
    no_model = (
        "New provider is used for chat but has no model: add one, or press Refresh models to"
        " fill the list from the server."
    )
    assert dialog.status.text() == REFUSED + no_model
    assert form.models_label.text() == no_model and form.models_label.isVisible()
    assert not settings_path().exists()
    form.add_model_button.click()
    assert form.models_label.isHidden()  # being seen to
    form.add_model_row(ModelInfo("relay-large"))
    dialog.save(close=False)
    await dialog.wait_idle()
    assert dialog.status.text() == "Saved."
    saved = load_settings().settings
    profile = saved.profile(saved.active_provider)
    assert profile is not None and [m.id for m in profile.models] == ["relay-large"]


@pytest.mark.asyncio
async def test_save_shows_the_provider_that_cannot_work_whichever_is_selected(
    qtbot: QtBot,
) -> None:
    """A profile from a hand-written file, with a pasted request URL: Save selects it, goes to
    its tab and points at the field; the rest of the settings are not written."""
    settings = Settings(providers=[_relay("https://relay.example/v1/chat/completions", "m")])
    dialog = open_dialog(qtbot, settings)
    dialog.tabs.setCurrentWidget(dialog.appearance)
    page = dialog.providers
    page.select("openai")
    dialog.appearance.font_spin.setValue(14)
    dialog.save(close=True)
    await dialog.wait_idle()
    assert dialog.isVisible()
    assert dialog.status.text() == (
        REFUSED + 'The SSE base URL of Relay "https://relay.example/v1/chat/completio…" cannot be'
        " used: it ends in /chat/completions, which Streamdesk adds itself;"
        " use https://relay.example/v1 instead."
    )
    assert dialog.tabs.currentWidget() is dialog.providers
    assert page.current_id == "relay"
    assert page.form.base_note.fix == "https://relay.example/v1"
    assert not settings_path().exists()
    page.form.base_note.fix_button.click()
    dialog.save(close=True)
    await dialog.wait_idle()
    assert load_settings().settings.font_size == 14


@pytest.mark.asyncio
async def test_use_for_chat_says_at_once_that_a_model_is_missing(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, Settings(providers=[_relay("https://relay.example/v1")]))
    page = dialog.providers
    page.select("relay")
    assert page.form.models_label.isHidden()
    page.use_for_chat()
    assert page.form.models_label.text().startswith("Relay is used for chat but has no model")


@pytest.mark.asyncio
async def test_test_connection_and_refresh_check_the_url_before_the_model(
    qtbot: QtBot,
) -> None:
    dialog = open_dialog(qtbot, Settings(providers=[_relay("not a url")]))
    page = dialog.providers
    page.select("relay")
    results: list[CheckResult] = []
    page.testFinished.connect(results.append)
    page.test_connection()
    await dialog.wait_idle()
    url_problem = (
        'The SSE base URL "not a url" cannot be used: it is not a URL'
        " (one looks like https://api.example.com/v1)."
    )
    assert page.test_label.text() == url_problem
    assert results and not results[0].ok
    page.refresh_models()
    await dialog.wait_idle()
    assert page.form.models_label.text() == url_problem
    page.form.base_edit.setText("https://relay.example/v1")
    assert page.test_label.text() == ""  # an answer about the URL before is gone
    page.form.ws_edit.setText("https://relay.example/ws")
    page.test_connection()
    await dialog.wait_idle()
    assert page.test_label.text() == (
        'The WebSocket URL "https://relay.example/ws" cannot be used: the scheme must be ws or'
        " wss, not https; use wss://relay.example/ws instead."
    )
    page.form.ws_edit.clear()
    page.test_connection()
    await dialog.wait_idle()
    assert page.test_label.text() == "Add a model to test with, or press Refresh models."
