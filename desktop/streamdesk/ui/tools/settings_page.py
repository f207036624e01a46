"""Settings ▸ MCP servers: the servers of settings.toml (`[mcp.servers.NAME]`), each a stdio
command (arguments, environment) or a streamable-HTTP URL (headers); add, edit, remove,
"Import mcpServers JSON…", "Test" (starts it and lists its tools with their descriptions) and
"Open log" (the file its stderr goes to).

Secrets never reach the file: a header or variable whose name looks like a key or token and
whose value is written out is moved to the keychain when the form is committed, and the
setting holds a `${keychain:ID}` reference in its place (`${env:NAME}` is kept as it is).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.errors import SettingsError
from streamdesk.core.store.secrets import KeyStore
from streamdesk.core.store.settings import Settings
from streamdesk.core.tools import McpServerConfig, ToolHub, parse_mcp_json, parse_server
from streamdesk.core.tools.config import secrets_to_keychain, url_fault
from streamdesk.ui.plain_text import make_plain
from streamdesk.ui.settings.ops import Tasks
from streamdesk.ui.tools.service import keychain_secret

NEW_NAME = "new-server"


def pairs_text(values: dict[str, str], separator: str) -> str:
    return "\n".join(f"{k}{separator}{v}" for k, v in values.items())


def parse_pairs(text: str, separator: str, what: str) -> dict[str, str]:
    """ "NAME=value" (or "Name: value") lines; raises SettingsError naming the bad line."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition(separator)
        if not sep or not name.strip():
            raise SettingsError(f"line {number} is not NAME{separator}value", what)
        out[name.strip()] = value.strip()
    return out


def tools_listing(config: McpServerConfig, tools: list[tuple[str, str]]) -> str:
    if not tools:
        return f"{config.name} started and lists no tools."
    lines = [f"{config.name} started: {len(tools)} tool{'s' if len(tools) != 1 else ''}", ""]
    for name, description in tools:
        lines.append(f"• {name}")
        lines += [f"    {d}" for d in description.strip().splitlines() if d.strip()]
    return "\n".join(lines)


class McpServersPage(QWidget):
    """Edits `settings.mcp_servers` of the dialog's working copy. `tested(str)` after a Test
    with what it showed."""

    tested = Signal(str)

    def __init__(
        self, settings: Settings, store: KeyStore, tasks: Tasks, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.tasks = tasks
        self.servers: list[McpServerConfig] = list(settings.mcp_servers)
        self.current = -1
        self.file_dialog: QFileDialog | None = None
        self.list = QListWidget(self)
        self.list.setMaximumWidth(260)
        self.list.currentRowChanged.connect(self._select)
        add = QPushButton("Add", self)
        add.clicked.connect(self.add_server)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self.remove_server)
        importer = QPushButton("Import mcpServers JSON…", self)
        importer.clicked.connect(self.choose_import)
        self.name = QLineEdit(self)
        self.transport = QComboBox(self)
        self.transport.addItem("stdio (a command)", "stdio")
        self.transport.addItem("Streamable HTTP (a URL)", "http")
        self.transport.currentIndexChanged.connect(self._show_transport)
        self.command = QLineEdit(self)
        self.command.setPlaceholderText("npx, uvx, python, /path/to/server …")
        self.args = QLineEdit(self)
        self.args.setPlaceholderText("-y @modelcontextprotocol/server-filesystem ~/notes")
        self.env = QPlainTextEdit(self)
        self.env.setPlaceholderText(
            "NAME=value, one a line; secrets: ${keychain:ID} or ${env:NAME}"
        )
        self.env.setMaximumHeight(70)
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("https://example.com/mcp")
        self.headers = QPlainTextEdit(self)
        self.headers.setPlaceholderText("Authorization: Bearer ${keychain:mcp-example}")
        self.headers.setMaximumHeight(70)
        self.timeout = QLineEdit(self)
        self.timeout.setPlaceholderText("60")
        self.timeout.setMaximumWidth(80)
        self.disabled = QCheckBox("Disabled (not offered to any chat)", self)
        test = QPushButton("Test", self)
        test.setToolTip("Start the server and list its tools")
        test.clicked.connect(self.test_server)
        log = QPushButton("Open log", self)
        log.setToolTip("The file the server's stderr goes to")
        log.clicked.connect(self.open_log)
        self.note = make_plain(QLabel(self))
        self.note.setWordWrap(True)
        self.output = QPlainTextEdit(self)
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("Test starts the server and lists its tools here.")
        self.form = QFormLayout()
        self.form.addRow("Name", self.name)
        self.form.addRow("Transport", self.transport)
        self.form.addRow("Command", self.command)
        self.form.addRow("Arguments", self.args)
        self.form.addRow("Environment", self.env)
        self.form.addRow("URL", self.url)
        self.form.addRow("Headers", self.headers)
        self.form.addRow("Call timeout (s)", self.timeout)
        self.form.addRow("", self.disabled)
        actions = QHBoxLayout()
        actions.addWidget(test)
        actions.addWidget(log)
        actions.addStretch(1)
        self.editor = QWidget(self)
        right = QVBoxLayout(self.editor)
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(self.form)
        right.addLayout(actions)
        right.addWidget(self.note)
        right.addWidget(self.output, 1)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)
        left.addWidget(importer)
        row = QHBoxLayout(self)
        row.addLayout(left)
        row.addWidget(self.editor, 1)
        self._fill_list(0)

    # -- the list ---------------------------------------------------------------------------

    def _fill_list(self, select: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for server in self.servers:
            off = " (disabled)" if server.disabled else ""
            self.list.addItem(f"{server.name}{off}")
        self.list.blockSignals(False)
        self.current = -1
        if self.servers:
            self.list.setCurrentRow(max(0, min(select, len(self.servers) - 1)))
        else:
            self._select(-1)

    def _select(self, row: int) -> None:
        if self.current >= 0 and not self.commit():
            self.list.blockSignals(True)
            self.list.setCurrentRow(self.current)  # stay on the server until it is valid
            self.list.blockSignals(False)
            return
        self.current = row
        self.editor.setEnabled(row >= 0)
        self.remove_button.setEnabled(row >= 0)
        self.output.clear()
        if row >= 0:
            self._load(self.servers[row])

    def _load(self, s: McpServerConfig) -> None:
        self.name.setText(s.name)
        self.transport.setCurrentIndex(1 if s.url else 0)
        self.command.setText(s.command)
        self.args.setText(shlex.join(s.args))
        self.env.setPlainText(pairs_text(dict(s.env), "="))
        self.url.setText(s.url)
        self.headers.setPlainText(pairs_text(dict(s.headers), ": "))
        self.timeout.setText(f"{s.call_timeout:g}")
        self.disabled.setChecked(s.disabled)
        self.note.setText(f"Log: {ToolHub([]).log_path(s.name)}")
        self._show_transport()

    def _show_transport(self) -> None:
        http = self.transport.currentData() == "http"
        for field, shown in (
            (self.command, not http),
            (self.args, not http),
            (self.env, not http),
            (self.url, http),
            (self.headers, http),
        ):
            self.form.setRowVisible(field, shown)

    def add_server(self) -> None:
        if self.current >= 0 and not self.commit():
            return
        taken = {s.name for s in self.servers}
        name, n = NEW_NAME, 2
        while name in taken:
            name, n = f"{NEW_NAME}-{n}", n + 1
        self.servers.append(McpServerConfig(name, command="npx"))
        self.current = -1
        self._fill_list(len(self.servers) - 1)
        self.name.setFocus()
        self.name.selectAll()

    def remove_server(self) -> None:
        row = self.current
        if row < 0:
            return
        del self.servers[row]
        self.current = -1
        self._fill_list(row)

    def point_at_url(self, name: str, message: str) -> bool:
        """The server `name` chosen, its URL field focused and `message` (what is wrong, the
        suggested URL) under the form. A form left with a URL kept as written from the file is
        not committed (it cannot be until that URL is put right); False when the server is
        gone, or the open form has a mistake of its own (its note says it)."""
        row = next((i for i, s in enumerate(self.servers) if s.name == name), -1)
        if row < 0:
            return False
        if row != self.current:
            if self.current >= 0 and not self.commit():
                if url_fault(self.servers[self.current]) is None:
                    return False
                self.current = -1
            self.list.setCurrentRow(row)
        self.url.setFocus()
        self.note.setText(message)
        return True

    # -- the form ---------------------------------------------------------------------------

    def form_config(self) -> McpServerConfig:
        """The server the form describes; raises SettingsError naming the bad field."""
        name = self.name.text().strip()
        data: dict[str, object] = {}
        if self.transport.currentData() == "http":
            data["url"] = self.url.text().strip()
            data["headers"] = parse_pairs(self.headers.toPlainText(), ":", "headers")
        else:
            try:
                args = shlex.split(self.args.text())
            except ValueError as exc:
                raise SettingsError(f"cannot be split ({exc})", "args") from None
            data["command"] = self.command.text().strip()
            data["args"] = args
            data["env"] = parse_pairs(self.env.toPlainText(), "=", "env")
        timeout = self.timeout.text().strip()
        if timeout:
            try:
                data["timeout"] = float(timeout)
            except ValueError:
                raise SettingsError("must be a number of seconds", "timeout") from None
        data["disabled"] = self.disabled.isChecked()
        old = self.servers[self.current] if self.current >= 0 else None
        config = parse_server(name, data, name or "name")
        if old is not None:
            config = dataclasses.replace(config, start_timeout=old.start_timeout, cwd=old.cwd)
        return config

    def commit(self) -> bool:
        """Write the form into the list (secrets moved to the keychain); False, with the
        reason shown, when the form does not describe a server."""
        if self.current < 0:
            return True
        try:
            config = self.keep_secrets(self.form_config())
        except SettingsError as exc:
            where = f"{exc.field}: " if exc.field else ""
            self.note.setText(f"Not saved: {where}{exc}")
            return False
        if any(s.name == config.name for i, s in enumerate(self.servers) if i != self.current):
            self.note.setText(f"Not saved: another server is called {config.name}")
            return False
        self.servers[self.current] = config
        item = self.list.item(self.current)
        if item is not None:
            item.setText(f"{config.name}{' (disabled)' if config.disabled else ''}")
        return True

    def keep_secrets(self, server: McpServerConfig) -> McpServerConfig:
        """`server` with every secret written out moved to the keychain (held in memory when
        there is none) and referenced; the form shows the references and what moved."""
        kept = secrets_to_keychain(server, self.store, memory_fallback=True)
        if not kept.moved:
            return server
        self.env.setPlainText(pairs_text(dict(kept.server.env), "="))
        self.headers.setPlainText(pairs_text(dict(kept.server.headers), ": "))
        moved = [
            f"{name} (held in memory: no keychain)" if name in kept.in_memory else name
            for name in kept.moved
        ]
        self.note.setText("Moved to the keychain: " + ", ".join(moved))
        return kept.server

    def apply(self, settings: Settings) -> bool:
        """Write the servers into `settings`; False when the open form is not valid."""
        if not self.commit():
            return False
        settings.mcp_servers = list(self.servers)
        return True

    # -- import, test, log ------------------------------------------------------------------

    def choose_import(self) -> None:
        dialog = QFileDialog(self, "Import mcpServers JSON", str(Path.home()), "JSON (*.json)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.import_file)
        self.file_dialog = dialog
        dialog.open()  # never exec(): no nested event loop

    def import_file(self, path: str) -> list[str]:
        """Add (or replace, by name) the servers of a JSON file in the mcpServers shape."""
        if self.current >= 0 and not self.commit():
            return []
        try:
            found = parse_mcp_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.note.setText(f"Cannot read {path} as JSON: {exc}")
            return []
        except SettingsError as exc:
            self.note.setText(f"Not imported: {exc.field or 'mcpServers'} {exc}")
            return []
        names: list[str] = []
        for server in found:
            kept = self.keep_secrets(server)
            names.append(kept.name)
            self.servers = [s for s in self.servers if s.name != kept.name] + [kept]
        self.current = -1
        self._fill_list(len(self.servers) - 1)
        self.note.setText(f"Imported {', '.join(names)} (saved with Save or Apply)")
        return names

    def test_server(self) -> None:
        if not self.commit() or self.current < 0:
            return
        config = self.servers[self.current]
        self.output.setPlainText(f"Starting {config.name}…")
        self.tasks.spawn(self._test(config))

    async def _test(self, config: McpServerConfig) -> None:
        hub = ToolHub([config], secrets=keychain_secret)
        try:
            catalog = await hub.catalog([config.name])
        finally:
            await hub.aclose()
        if config.name in catalog.unavailable:
            text = catalog.unavailable[config.name]
        else:
            tools = [(t.name, t.description) for t in catalog.tools.values()]
            text = tools_listing(config, tools)
        self.output.setPlainText(text)
        self.tested.emit(text)

    def open_log(self) -> None:
        if self.current < 0:
            return
        path = ToolHub([]).log_path(self.servers[self.current].name)
        if not path.exists():
            self.note.setText(f"No log yet: {path} is written when the server first starts")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
