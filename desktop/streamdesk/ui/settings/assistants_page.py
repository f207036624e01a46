"""Settings ▸ Assistants: the built-in assistants (read-only, duplicable) and the user's own
(`[assistants.NAME]` in settings.toml): add, edit, duplicate, remove, import and export JSON.

The page edits `settings.assistants` of the dialog's working copy; `apply` writes the form back
into it, and the dialog's Save writes the file. A form that is not valid (an empty or taken name)
keeps its row selected and says why.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.assistants import (
    BUILTIN_NAMES,
    Assistant,
    AssistantError,
    all_assistants,
    check_name,
    from_json,
    merged,
    to_json,
    unique_name,
)
from streamdesk.core.store.settings import Settings, all_providers
from streamdesk.ui.history.params_dialog import (
    DEFAULT_TEMPERATURE,
    max_tokens_spin,
    reasoning_check,
    temperature_spin,
)
from streamdesk.ui.plain_text import make_plain, plain_tooltip

NEW_NAME = "New assistant"
BUILTIN_NOTE = "Built-in: read-only. Duplicate it to make your own version."


class AssistantsPage(QWidget):
    """Edits `settings.assistants` (the user's assistants; built-ins are listed, not stored)."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.own: list[Assistant] = list(settings.assistants)
        self.current: Assistant | None = None
        self.file_dialog: QFileDialog | None = None
        self.list = QListWidget(self)
        self.list.setMaximumWidth(260)
        self.list.currentRowChanged.connect(self._select)
        add = QPushButton("Add", self)
        add.clicked.connect(self.add_assistant)
        self.duplicate_button = QPushButton("Duplicate", self)
        self.duplicate_button.clicked.connect(self.duplicate)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self.remove)
        importer = QPushButton("Import JSON…", self)
        importer.clicked.connect(self.choose_import)
        exporter = QPushButton("Export JSON…", self)
        exporter.setToolTip("Every assistant in the list, to share or back up")
        exporter.clicked.connect(self.choose_export)
        self.name = QLineEdit(self)
        self.description = QLineEdit(self)
        self.description.setPlaceholderText("One line shown in the picker")
        self.system = QPlainTextEdit(self)
        self.system.setPlaceholderText("The system prompt sent before every request (optional)")
        self.provider = QComboBox(self)
        self.provider.addItem("The chat's provider", "")
        for p in all_providers(settings):
            self.provider.addItem(p.name, p.id)
        self.model = QLineEdit(self)
        self.model.setPlaceholderText("The provider's default model")
        self.temperature = temperature_spin(self, None)
        self.max_tokens = max_tokens_spin(self, None)
        self.reasoning = reasoning_check(self, False)
        self.tools = QListWidget(self)
        self.tools.setMaximumHeight(90)
        for server in settings.mcp_servers:
            item = QListWidgetItem(server.name, self.tools)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
        self.note = make_plain(QLabel(self))
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("System prompt", self.system)
        form.addRow("Provider", self.provider)
        form.addRow("Model", self.model)
        form.addRow("Temperature", self.temperature)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("", self.reasoning)
        if settings.mcp_servers:
            form.addRow("MCP tools", self.tools)
        else:
            self.tools.hide()
            form.addRow("MCP tools", QLabel("No MCP servers (Settings ▸ MCP servers)", self))
        self.form = QWidget(self)
        self.form.setLayout(form)
        right = QVBoxLayout()
        right.addWidget(self.form, 1)
        right.addWidget(self.note)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        for button in (add, self.duplicate_button, self.remove_button):
            buttons.addWidget(button)
        left.addLayout(buttons)
        files = QHBoxLayout()
        files.addWidget(importer)
        files.addWidget(exporter)
        left.addLayout(files)
        row = QHBoxLayout(self)
        row.addLayout(left)
        row.addLayout(right, 1)
        self._fill_list(0)

    # -- the list ---------------------------------------------------------------------------

    def listed(self) -> list[Assistant]:
        """Every assistant as the picker will show it."""
        return all_assistants(self.own)

    def _fill_list(self, select: int | str) -> None:
        listed = self.listed()
        mine = {a.name for a in self.own}
        self.list.blockSignals(True)
        self.list.clear()
        for a in listed:
            mark = " (built-in)" if a.name in BUILTIN_NAMES and a.name not in mine else ""
            item = QListWidgetItem(f"{a.name}{mark}", self.list)
            item.setToolTip(plain_tooltip(a.description))
        self.list.blockSignals(False)
        self.current = None
        row = select if isinstance(select, int) else [a.name for a in listed].index(select)
        self.list.setCurrentRow(max(0, min(row, len(listed) - 1)))

    def _select(self, row: int) -> None:
        if self.current is not None and not self.commit():
            self.list.blockSignals(True)
            self.list.setCurrentRow(self.listed().index(self.current))
            self.list.blockSignals(False)
            return
        listed = self.listed()
        if not 0 <= row < len(listed):
            return
        self.current = listed[row]
        self._load(self.current)

    def _editable(self, assistant: Assistant) -> bool:
        return any(a.name == assistant.name for a in self.own)

    def _load(self, a: Assistant) -> None:
        editable = self._editable(a)
        self.name.setText(a.name)
        self.description.setText(a.description)
        self.system.setPlainText(a.system_prompt)
        index = self.provider.findData(a.provider)
        if index < 0:
            self.provider.addItem(a.provider, a.provider)
            index = self.provider.count() - 1
        self.provider.setCurrentIndex(index)
        self.model.setText(a.model)
        self.temperature.setValue(DEFAULT_TEMPERATURE if a.temperature is None else a.temperature)
        self.max_tokens.setValue(a.max_tokens or 0)
        self.reasoning.setChecked(a.reasoning)
        for i in range(self.tools.count()):
            item = self.tools.item(i)
            on = item.text() in a.mcp_servers
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.form.setEnabled(editable)
        self.remove_button.setEnabled(editable)
        builtin = a.name in BUILTIN_NAMES
        self.remove_button.setText("Reset" if builtin and editable else "Remove")
        self.note.setText("" if editable else BUILTIN_NOTE)

    def form_assistant(self) -> Assistant:
        """The form as an assistant; raises `AssistantError` for a bad name."""
        name = check_name(self.name.text().strip(), "name")
        servers = [
            self.tools.item(i).text()
            for i in range(self.tools.count())
            if self.tools.item(i).checkState() == Qt.CheckState.Checked
        ]
        return Assistant(
            name=name,
            description=self.description.text().strip(),
            system_prompt=self.system.toPlainText(),
            provider=str(self.provider.currentData() or ""),
            model=self.model.text().strip(),
            temperature=None
            if self.temperature.value() < 0
            else round(self.temperature.value(), 2),
            max_tokens=self.max_tokens.value() or None,
            reasoning=self.reasoning.isChecked(),
            mcp_servers=tuple(servers),
        )

    def commit(self) -> bool:
        """The form into the edited assistant; False (and why, in the note) when invalid."""
        old = self.current
        if old is None or not self._editable(old):
            return True
        try:
            new = self.form_assistant()
        except AssistantError as exc:
            self.note.setText(f"Name {exc}.")
            return False
        taken = {a.name for a in self.listed()} - {old.name}
        if new.name in taken:
            self.note.setText(f"Another assistant is called {new.name!r}; choose another name.")
            return False
        self.own = [new if a.name == old.name else a for a in self.own]
        self.current = new
        self.note.setText("")
        return True

    def apply(self, settings: Settings) -> None:
        """The page's assistants into `settings` (an invalid form keeps its last valid state)."""
        self.commit()
        settings.assistants = list(self.own)

    # -- actions ---------------------------------------------------------------------------

    def add_assistant(self) -> None:
        if not self.commit():
            return
        name = unique_name(NEW_NAME, [a.name for a in self.listed()])
        self.own.append(Assistant(name))
        self._fill_list(name)
        self.name.setFocus()
        self.name.selectAll()

    def duplicate(self) -> None:
        """A copy of the selected assistant (a built-in too) that the user can edit."""
        if self.current is None or not self.commit():
            return
        name = unique_name(self.current.name, [a.name for a in self.listed()])
        self.own.append(dataclasses.replace(self.current, name=name, builtin=False))
        self._fill_list(name)

    def remove(self) -> None:
        """Remove the user's assistant; for an edited built-in, go back to the shipped one."""
        current = self.current
        if current is None or not self._editable(current):
            return
        row = self.listed().index(current)
        self.own = [a for a in self.own if a.name != current.name]
        self.current = None
        self._fill_list(row)

    # -- files ------------------------------------------------------------------------------

    def choose_import(self) -> None:
        dialog = QFileDialog(self, "Import assistants (JSON)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter("Assistants JSON (*.json)")
        dialog.fileSelected.connect(lambda path: self.import_from(Path(path)))
        self.file_dialog = dialog
        dialog.open()

    def choose_export(self) -> None:
        dialog = QFileDialog(self, "Export assistants (JSON)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        dialog.setNameFilter("Assistants JSON (*.json)")
        dialog.selectFile("assistants.json")
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        self.file_dialog = dialog
        dialog.open()

    def import_from(self, path: Path) -> list[Assistant]:
        """Add (or replace by name) the assistants of a JSON file; the note says what."""
        try:
            incoming = from_json(json.loads(path.read_text(encoding="utf-8")))
        except AssistantError as exc:
            self.note.setText(f"{path.name}: field '{exc.field}' {exc}. Nothing was imported.")
            return []
        except (OSError, ValueError, RecursionError) as exc:
            self.note.setText(f"Could not read {path.name}: {exc}. Nothing was imported.")
            return []
        if not self.commit():
            return []
        self.own = merged(self.own, incoming)
        self._fill_list(incoming[0].name)
        names = ", ".join(a.name for a in incoming)
        self.note.setText(f"Imported {names}. Save to keep them.")
        return incoming

    def export_to(self, path: Path) -> bool:
        """Every listed assistant as JSON (`streamdesk assistants import` reads it)."""
        self.commit()
        text = json.dumps(to_json(self.listed()), indent=2, ensure_ascii=False) + "\n"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.note.setText(f"Could not write {path.name}: {exc.strerror or exc}")
            return False
        self.note.setText(f"Exported {len(self.listed())} assistants to {path.name}.")
        return True
