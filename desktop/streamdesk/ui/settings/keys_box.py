"""The API key box of the Providers page: masked field, save/delete, where the key comes from.

Every keychain call is a D-Bus round trip, so it runs in a worker thread as a task; the outcome
comes back as label text and the `keysChanged(provider_id)` signal. A key is never written to a
file: when the keychain is unavailable the box says so in one sentence and offers to hold the key
in memory for this session only.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QWidget,
)

from streamdesk.core.errors import KeychainUnavailable
from streamdesk.core.redact import remember_secret
from streamdesk.core.store.secrets import ENV_KEY, InvalidKey, KeyStore, clean_key
from streamdesk.ui.plain_text import make_plain
from streamdesk.ui.settings.ops import Tasks

SOURCE_TEXT = {
    "keychain": "Key stored in the OS keychain.",
    "environment": f"Key from {ENV_KEY} (this run only; it overrides the keychain).",
    "memory": "Key held in memory for this session only (not saved anywhere).",
    None: "No key set.",
}


class KeyBox(QGroupBox):
    """`set_provider(id, needs_key)` selects whose key is shown; `typed_key()` is the field."""

    keysChanged = Signal(str)  # provider id whose key was saved, deleted or held

    def __init__(self, store: KeyStore, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__("API key", parent)
        self.store = store
        self.tasks = tasks
        self.provider_id = ""
        self.cleaned_notice = ""  # whitespace removed from the key being saved, said once
        self.key_edit = QLineEdit(self)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("Paste the key here")
        self.key_edit.setClearButtonEnabled(True)
        self.show_button = QToolButton(self)
        self.show_button.setText("Show")
        self.show_button.setCheckable(True)
        self.show_button.setToolTip("Show or hide the key while typing")
        self.show_button.toggled.connect(self._toggle_echo)
        self.save_button = QPushButton("Save key", self)
        self.save_button.setToolTip("Store the key in the OS keychain")
        self.save_button.clicked.connect(self.save_key)
        self.delete_button = QPushButton("Delete key", self)
        self.delete_button.clicked.connect(self.delete_key)
        self.source_label = make_plain(QLabel(self))  # errors name the provider
        self.source_label.setObjectName("keySource")
        self.source_label.setWordWrap(True)
        self.note = make_plain(QLabel(self))  # the keychain's own words
        self.note.setObjectName("keychainNote")
        self.note.setWordWrap(True)
        self.note.hide()
        self.hold_button = QPushButton("Keep in memory for this session", self)
        self.hold_button.setToolTip("The key is forgotten when Streamdesk quits")
        self.hold_button.clicked.connect(self.hold_key)
        self.hold_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.key_edit, 1)
        row.addWidget(self.show_button)
        row.addWidget(self.save_button)
        row.addWidget(self.delete_button)
        grid = QGridLayout(self)
        grid.addLayout(row, 0, 0, 1, 2)
        grid.addWidget(self.source_label, 1, 0, 1, 2)
        grid.addWidget(self.note, 2, 0)
        grid.addWidget(self.hold_button, 2, 1)
        grid.setColumnStretch(0, 1)

    # -- public ---------------------------------------------------------------------------

    def set_provider(self, provider_id: str, needs_key: bool) -> None:
        self.provider_id = provider_id
        self.key_edit.clear()
        self.show_button.setChecked(False)
        self._set_note("")
        self.setTitle("API key" if needs_key else "API key (optional for this provider)")
        self.refresh()

    def typed_key(self) -> str:
        """The field's key (Test connection sends it), registered so no failure quotes it."""
        text = self.key_edit.text()
        if text.strip():
            remember_secret(text)
        return text.strip()

    def _checked_key(self) -> str:
        """The typed key without surrounding whitespace ("" when there is none or it cannot be
        sent); the status line says what was removed or why it was refused."""
        try:
            key, notice = clean_key(self.provider_id, self.key_edit.text())
        except InvalidKey as exc:
            self.source_label.setText(str(exc))
            return ""
        if not key:
            self.source_label.setText("Paste a key into the field first.")
        self.cleaned_notice = notice or ""
        return key

    def refresh(self) -> None:
        """Look up where the key comes from (in a thread) and show it."""
        self.tasks.spawn(self._refresh(self.provider_id))

    # -- actions --------------------------------------------------------------------------

    def save_key(self) -> None:
        key = self._checked_key()
        if key:
            self.tasks.spawn(self._save(self.provider_id, key))

    def delete_key(self) -> None:
        self.tasks.spawn(self._delete(self.provider_id))

    def hold_key(self) -> None:
        key = self._checked_key()
        if not key:
            return
        self.store.hold_in_memory(self.provider_id, key)
        self.key_edit.clear()
        self._set_note("")
        self.keysChanged.emit(self.provider_id)
        self.refresh()

    # -- tasks ----------------------------------------------------------------------------

    async def _refresh(self, pid: str) -> None:
        try:
            source = await asyncio.to_thread(self.store.source, pid)
        except InvalidKey as exc:  # the stored key cannot be sent: replace it, no memory offer
            if pid == self.provider_id:
                self.source_label.setText(str(exc))
                self.delete_button.setEnabled(True)
            return
        except KeychainUnavailable as exc:
            if pid == self.provider_id:
                self.source_label.setText(SOURCE_TEXT[None])
                self.delete_button.setEnabled(False)
                self._set_note(str(exc))
            return
        if pid == self.provider_id:
            text = SOURCE_TEXT.get(source, SOURCE_TEXT[None])
            self.source_label.setText(f"{text} {self.cleaned_notice}".strip())
            self.cleaned_notice = ""
            self.delete_button.setEnabled(source in ("keychain", "memory"))

    async def _save(self, pid: str, key: str) -> None:
        try:
            await asyncio.to_thread(self.store.set, pid, key)
        except KeychainUnavailable as exc:
            self.cleaned_notice = ""  # nothing was saved: the notice would be about nothing
            self._set_note(str(exc))
            return
        if pid == self.provider_id:
            self.key_edit.clear()
            self._set_note("")
        self.keysChanged.emit(pid)
        await self._refresh(pid)

    async def _delete(self, pid: str) -> None:
        try:
            await asyncio.to_thread(self.store.delete, pid)
        except KeychainUnavailable as exc:
            self._set_note(str(exc))
            return
        self.keysChanged.emit(pid)
        await self._refresh(pid)

    # -- helpers --------------------------------------------------------------------------

    def _set_note(self, text: str) -> None:
        """The one sentence about an unavailable keychain, with the in-memory offer beside it."""
        self.note.setText(text)
        self.note.setVisible(bool(text))
        self.hold_button.setVisible(bool(text))
        self.save_button.setEnabled(not text)

    def _toggle_echo(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.key_edit.setEchoMode(mode)
        self.show_button.setText("Hide" if shown else "Show")
