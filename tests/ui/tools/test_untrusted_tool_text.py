"""A tool's and a server's names come from a model and from MCP servers and files: the
approval bar and Settings ▸ MCP servers say them in plain labels and escaped tooltips, so
`<img src="LOCALFILE">` is spelled out and never draws the local image it names."""

from __future__ import annotations

import json
from pathlib import Path

from plain_checks import assert_plain_label, assert_plain_tooltip, hostile, red_png
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from streamdesk.core.chat import ToolRequest
from streamdesk.core.events import ToolCall
from streamdesk.core.store.secrets import KeyStore
from streamdesk.core.store.settings import Settings
from streamdesk.ui.settings.ops import Tasks
from streamdesk.ui.tools.approval import ApprovalBar
from streamdesk.ui.tools.settings_page import McpServersPage


def test_the_approval_bar_names_the_tool_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    words = hostile(red_png(tmp_path))
    host = QWidget()
    qtbot.addWidget(host)
    call = ToolCall(index=0, call_id="c1", name=words, arguments={})
    bar = ApprovalBar(ToolRequest(call, "<b>x</b>", words), host)
    assert_plain_label(bar.question, f"Run {words} on <b>x</b>?")
    assert_plain_tooltip(bar.chat.toolTip(), f"Run this call and every later call of {words} here")


def test_a_refused_server_name_is_quoted_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    """A server name must be letters and digits: the note refusing one quotes it."""
    words = hostile(red_png(tmp_path))
    page = McpServersPage(Settings(), KeyStore(), Tasks())
    qtbot.addWidget(page)
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {words: {"command": "true"}}}))
    assert page.import_file(str(path)) == []
    assert page.note.text().startswith(f"Not imported: mcpServers.{words} ")
    assert_plain_label(page.note)
