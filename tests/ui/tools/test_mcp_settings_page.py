"""Settings ▸ MCP servers: edit, import (secrets to the keychain), Test lists the tools of a
real stdio MCP server (tests/tools_server.py), a bad form says which field."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from streamdesk.core.store.secrets import KeyStore
from streamdesk.core.store.settings import Settings, load_settings, save_settings
from streamdesk.core.tools import McpServerConfig
from streamdesk.ui.settings.dialog import SettingsDialog
from streamdesk.ui.settings.ops import Tasks
from streamdesk.ui.tools.settings_page import McpServersPage

SERVER = str(Path(__file__).resolve().parents[2] / "tools_server.py")


def page_with(qtbot: QtBot, *servers: McpServerConfig) -> McpServersPage:
    page = McpServersPage(Settings(mcp_servers=list(servers)), KeyStore(), Tasks())
    qtbot.addWidget(page)
    return page


@pytest.mark.asyncio
async def test_test_starts_the_server_and_lists_its_tools(qtbot: QtBot) -> None:
    page = page_with(qtbot, McpServerConfig("notes", command=sys.executable, args=(SERVER,)))
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    page.tested.connect(lambda text: done.done() or done.set_result(text))
    page.test_server()
    text = await asyncio.wait_for(done, 30)
    assert "notes started" in text and "• add" in text and "Add two integers." in text
    assert page.output.toPlainText() == text
    await page.tasks.wait_idle()


@pytest.mark.asyncio
async def test_a_server_that_cannot_start_is_a_clear_message(qtbot: QtBot) -> None:
    broken = McpServerConfig("broken", command=sys.executable, args=(SERVER, "--exit-at-start"))
    page = page_with(qtbot, broken)
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    page.tested.connect(lambda text: done.done() or done.set_result(text))
    page.test_server()
    text = await asyncio.wait_for(done, 30)
    assert '"broken" could not start' in text and "Its log:" in text
    await page.tasks.wait_idle()


def test_the_form_edits_a_server_and_a_bad_field_is_named(qtbot: QtBot) -> None:
    page = page_with(qtbot)
    page.add_server()
    page.name.setText("files")
    page.command.setText("npx")
    page.args.setText("-y '@modelcontextprotocol/server-filesystem' '/home/me/my notes'")
    page.env.setPlainText("LOG_LEVEL=debug")
    settings = Settings()
    assert page.apply(settings)
    [files] = settings.mcp_servers
    assert files.args == ("-y", "@modelcontextprotocol/server-filesystem", "/home/me/my notes")
    assert dict(files.env) == {"LOG_LEVEL": "debug"}
    page.transport.setCurrentIndex(1)  # streamable HTTP, without a URL
    assert not page.apply(settings)
    assert "Not saved" in page.note.text()
    page.url.setText("http://127.0.0.1:9/mcp")
    page.headers.setPlainText("X-Team: blue")
    assert page.apply(settings)
    assert settings.mcp_servers[0].url == "http://127.0.0.1:9/mcp"
    page.remove_server()
    assert page.apply(settings) and settings.mcp_servers == []


def test_import_moves_written_out_secrets_to_the_keychain(qtbot: QtBot, tmp_path: Path) -> None:
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "remote": {
                        "type": "http",
                        "url": "https://mcp.example.com/mcp",
                        "headers": {"Authorization": "Bearer sk-secret-123"},
                    },
                    "local": {"command": "uvx", "args": ["mcp-server-time"]},
                }
            }
        ),
        encoding="utf-8",
    )
    page = page_with(qtbot)
    assert page.import_file(str(source)) == ["remote", "local"]
    settings = Settings()
    assert page.apply(settings)
    remote = next(s for s in settings.mcp_servers if s.name == "remote")
    assert remote.headers["Authorization"] == "Bearer ${keychain:mcp.remote.Authorization}"
    assert KeyStore().get("mcp.remote.Authorization", environment=False) == "sk-secret-123"
    save_settings(settings)  # the file holds the reference, never the secret
    assert load_settings().settings.mcp_server("remote") == remote


@pytest.mark.asyncio
async def test_the_dialog_has_the_page_and_saves_its_servers(qtbot: QtBot) -> None:
    server = McpServerConfig("notes", command=sys.executable, args=(SERVER,))
    dialog = SettingsDialog(Settings(mcp_servers=[server]), KeyStore())
    qtbot.addWidget(dialog)
    try:
        titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
        assert "MCP servers" in titles
        dialog.mcp.timeout.setText("15")
        assert dialog.collect().mcp_servers[0].call_timeout == 15.0
    finally:  # the dialog's key lookups end on this test's loop, not a later one
        dialog.reject()
        await dialog.wait_idle()
