"""A settings.toml whose provider URL no request can use (a ws:// base URL) opens whole in the
window: the other providers, the theme and the MCP servers are there, the banner names the
provider and the field, the Providers form shows the URL as written, and the file is kept."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from settings_dialogs import close_later
from test_url_banner import window_on_file
from ui_helpers import chat

from streamdesk.core.events import FailureKind
from streamdesk.core.store.settings import load_settings, settings_path

TEXT = """active_provider = "relay"
theme = "dark"
[[providers]]
id = "good"
name = "Good"
base_url = "https://good.example/v1"
default_model = "g"
models = [{ id = "g" }]
[[providers]]
id = "relay"
name = "Relay"
base_url = "ws://relay.example/v1"
needs_key = false
default_model = "m"
models = [{ id = "m" }]
[mcp.servers.files]
command = "mcp-files"
disabled = true
"""


@pytest.mark.asyncio
async def test_a_websocket_base_url_is_said_and_costs_nothing_else(qtbot: QtBot) -> None:
    settings_path().write_text(TEXT, encoding="utf-8")
    async with window_on_file(qtbot) as window:
        settings = window.settings
        assert window.settings_warning is None, "not a broken file"
        assert settings.theme == "dark"
        assert [p.id for p in settings.providers] == ["good", "relay"]
        assert [s.name for s in settings.mcp_servers] == ["files"]
        banner = window.settings_ui.banner
        assert banner.isVisible() and window.provider.id == "relay"
        assert banner.label.text() == (
            'The SSE base URL of Relay "ws://relay.example/v1" cannot be used: the scheme must'
            " be http or https, not ws; use http://relay.example/v1 instead."
        )
        turn = await chat(window)  # the request says the URL too, and the window carries on
        failure = turn.reply.failure
        assert failure is not None and failure.kind is FailureKind.BAD_REQUEST
        assert 'The base URL "ws://relay.example/v1" is not valid' in failure.message
        banner.action.click()
        dialog = window.settings_ui.dialog
        assert dialog is not None
        close_later(dialog)
        form = dialog.providers.form
        assert dialog.providers.current_id == "relay"
        assert form.base_edit.text() == "ws://relay.example/v1"
        assert form.base_note.isVisible() and form.base_note.fix == "http://relay.example/v1"
    assert settings_path().read_text(encoding="utf-8") == TEXT, "nothing is rewritten"
    assert not settings_path().with_name("settings.toml.bak").exists()
    assert load_settings().settings.profile("good") is not None
