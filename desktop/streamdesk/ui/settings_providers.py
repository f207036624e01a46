"""The Providers page: built-in and user profiles, their form, key, model list and a live test.

The page edits `settings.providers` of the dialog's working copy. A built-in is edited as an
override with the same id (kept only while it differs from the built-in, and "Reset" drops it);
only user profiles can be removed. Slow work (keychain, /models, Test connection) runs as tasks.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.errors import KeychainUnavailable, StreamError
from streamdesk.core.providers import BUILTIN_PROVIDERS, ModelInfo, Provider, fetch_models
from streamdesk.core.request import AuthStyle, Timeouts
from streamdesk.core.store.secrets import KeyStore
from streamdesk.core.store.settings import ProviderSettings, Settings, resolve_provider
from streamdesk.ui.settings_keys import KeyBox
from streamdesk.ui.settings_ops import CheckResult, Tasks, check_connection, describe_failure

AUTH_CHOICES = (
    (AuthStyle.BEARER, "Authorization: Bearer"),
    (AuthStyle.X_API_KEY, "X-API-Key header"),
    (AuthStyle.QUERY_PARAM, "api_key query parameter"),
)
BUILTIN_IDS = {p.id: p for p in BUILTIN_PROVIDERS}
NetworkOptions = Callable[[], tuple[str | None, str | None]]  # (proxy, CA bundle)


def _price(text: str) -> float | None:
    try:
        return float(text.strip().lstrip("$")) if text.strip() else None
    except ValueError:
        return None


def _seconds(parent: QWidget, maximum: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(parent)
    spin.setRange(0.1, maximum)
    spin.setDecimals(1)
    spin.setSuffix(" s")
    spin.setMaximumWidth(110)
    return spin


class ProvidersPage(QWidget):
    keysChanged = Signal(str)
    testFinished = Signal(object)  # CheckResult
    modelsRefreshed = Signal(str)  # the inline message

    def __init__(
        self,
        settings: Settings,
        store: KeyStore,
        tasks: Tasks,
        network: NetworkOptions,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.tasks = tasks
        self.network = network
        self.current_id = ""
        self.list = QListWidget(self)
        self.list.setObjectName("providerList")
        self.list.currentItemChanged.connect(self._on_select)
        buttons = QHBoxLayout()
        self.add_button = self._button("Add", self.add_provider, buttons)
        self.duplicate_button = self._button("Duplicate", self.duplicate_provider, buttons)
        self.remove_button = self._button("Remove", self.remove_provider, buttons)
        self.reset_button = self._button("Reset", self.reset_provider, buttons)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addLayout(buttons)
        self.use_button = QPushButton("Use for chat", self)
        self.use_button.setToolTip("Make this the provider the window uses after Save")
        self.use_button.clicked.connect(self.use_for_chat)
        left.addWidget(self.use_button)
        form = self._build_form()
        self.keybox = KeyBox(store, tasks, self)
        self.keybox.keysChanged.connect(self.keysChanged)
        self.test_button = QPushButton("Test connection", self)
        self.test_button.setToolTip("Send a tiny streaming request (3 tokens at most)")
        self.test_button.clicked.connect(self.test_connection)
        self.test_label = QLabel(self)
        self.test_label.setObjectName("testResult")
        self.test_label.setWordWrap(True)
        self.test_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_label, 1)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.keybox)
        right.addLayout(test_row)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 5)
        self.reload(settings.active_provider)

    def _button(self, text: str, slot: Callable[[], None], row: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.clicked.connect(lambda _=False: slot())
        row.addWidget(button)
        return button

    def _build_form(self) -> QFormLayout:
        self.name_edit = QLineEdit(self)
        self.name_edit.textEdited.connect(self._show_name)
        self.id_label = QLabel(self)
        self.id_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.base_edit = QLineEdit(self)
        self.base_edit.setPlaceholderText("https://api.example.com/v1")
        self.ws_edit = QLineEdit(self)
        self.ws_edit.setPlaceholderText("wss://api.example.com/v1/ws/chat (optional)")
        self.auth_box = QComboBox(self)
        for style, label in AUTH_CHOICES:
            self.auth_box.addItem(label, style)
        self.sign_check = QCheckBox("Sign requests (X-Timestamp / X-Signature)", self)
        self.needs_key_check = QCheckBox("Needs an API key", self)
        self.models_table = QTableWidget(0, 3, self)
        self.models_table.setHorizontalHeaderLabels(["Model", "Input $/M", "Output $/M"])
        header = self.models_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.models_table.verticalHeader().hide()
        self.models_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.models_table.setMinimumHeight(120)
        model_buttons = QHBoxLayout()
        self.add_model_button = QPushButton("Add model", self)
        self.add_model_button.clicked.connect(lambda: self._add_model_row(ModelInfo("")))
        self.remove_model_button = QPushButton("Remove model", self)
        self.remove_model_button.clicked.connect(self._remove_model_row)
        self.refresh_button = QPushButton("Refresh models", self)
        self.refresh_button.setToolTip("Ask the server's GET /models for its model list")
        self.refresh_button.clicked.connect(self.refresh_models)
        self.models_label = QLabel(self)
        self.models_label.setWordWrap(True)
        for button in (self.add_model_button, self.remove_model_button, self.refresh_button):
            model_buttons.addWidget(button)
        model_buttons.addWidget(self.models_label, 1)
        self.default_model_box = QComboBox(self)
        self.default_model_box.setEditable(True)
        self.own_timeouts = QCheckBox("Own timeouts and retries (else the Network page's)", self)
        self.connect_spin = _seconds(self, 120)
        self.first_token_spin = _seconds(self, 3600)
        self.stall_spin = _seconds(self, 3600)
        self.retries_spin = QSpinBox(self)
        self.retries_spin.setRange(0, 10)
        timeouts = QHBoxLayout()
        for label, w in (
            ("connect", self.connect_spin),
            ("first token", self.first_token_spin),
            ("stall", self.stall_spin),
            ("retries", self.retries_spin),
        ):
            timeouts.addWidget(QLabel(label, self))
            timeouts.addWidget(w)
        timeouts.addStretch(1)
        self.own_timeouts.toggled.connect(self._enable_timeouts)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Id", self.id_label)
        form.addRow("SSE base URL", self.base_edit)
        form.addRow("WebSocket URL", self.ws_edit)
        form.addRow("Authentication", self.auth_box)
        form.addRow("", self.sign_check)
        form.addRow("", self.needs_key_check)
        form.addRow("Models", self.models_table)
        form.addRow("", model_buttons)
        form.addRow("Default model", self.default_model_box)
        form.addRow("", self.own_timeouts)
        form.addRow("", timeouts)
        return form

    # -- list -----------------------------------------------------------------------------

    def reload(self, select: str) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        edited = {p.id for p in self.settings.providers}
        for p in self._providers():
            text = p.name
            if p.id in BUILTIN_IDS and p.id in edited:
                text += "  (edited)"
            if p.id == self.settings.active_provider:
                text = "★ " + text
            item = QListWidgetItem(text, self.list)
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            item.setToolTip(p.base_url or "no URL yet")
        self.list.blockSignals(False)
        ids = [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]
        self.current_id = ""
        self.list.setCurrentRow(ids.index(select) if select in ids else 0)

    def _show_name(self, text: str) -> None:
        """The list follows the name as it is typed (it is stored with the rest of the form)."""
        item = self.list.currentItem()
        if item is None:
            return
        star = "★ " if item.text().startswith("★ ") else ""
        edited = "  (edited)" if self.current_id in BUILTIN_IDS else ""
        item.setText(star + (text.strip() or self.current_id) + edited)

    def _providers(self) -> list[Provider]:
        builtins = [resolve_provider(self.settings, b.id) for b in BUILTIN_PROVIDERS]
        own = [p for p in self.settings.providers if p.id not in BUILTIN_IDS]
        return builtins + [resolve_provider(self.settings, p.id) for p in own]

    def select(self, provider_id: str) -> None:
        self.commit()
        self.reload(provider_id)

    def _on_select(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        self.commit()
        if item is None:
            return
        self.current_id = str(item.data(Qt.ItemDataRole.UserRole))
        self._load(self._profile(self.current_id))

    def _profile(self, pid: str) -> ProviderSettings:
        own = self.settings.profile(pid)
        if own is not None:
            return dataclasses.replace(own, models=list(own.models))
        return ProviderSettings.from_provider(BUILTIN_IDS[pid])

    # -- add, duplicate, remove, reset ----------------------------------------------------

    def _unique_id(self, stem: str) -> str:
        taken = {p.id for p in self._providers()}
        n = 1
        while f"{stem}-{n}" in taken:
            n += 1
        return f"{stem}-{n}"

    def add_provider(self) -> None:
        self.commit()
        pid = self._unique_id("provider")
        self.settings.providers.append(ProviderSettings(pid, "New provider", ""))
        self.reload(pid)
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    def duplicate_provider(self) -> None:
        self.commit()
        source = self._profile(self.current_id)
        pid = self._unique_id(source.id)
        copy = dataclasses.replace(source, id=pid, name=f"{source.name} (copy)")
        self.settings.providers.append(copy)
        self.reload(pid)

    def remove_provider(self) -> None:
        if self.current_id in BUILTIN_IDS:
            return
        self.settings.providers = [p for p in self.settings.providers if p.id != self.current_id]
        self.current_id = ""
        self.reload(self.settings.active_provider)

    def reset_provider(self) -> None:
        if self.current_id not in BUILTIN_IDS:
            return
        pid = self.current_id
        self.settings.providers = [p for p in self.settings.providers if p.id != pid]
        self.current_id = ""
        self.reload(pid)

    def use_for_chat(self) -> None:
        """Mark the selection as the window's provider (applied on Save); the form stays as is."""
        self.commit()
        self.settings.active_provider = self.current_id
        for i in range(self.list.count()):
            item = self.list.item(i)
            text = item.text().removeprefix("★ ")
            active = item.data(Qt.ItemDataRole.UserRole) == self.current_id
            item.setText(("★ " if active else "") + text)

    # -- form <-> profile -----------------------------------------------------------------

    def _load(self, p: ProviderSettings) -> None:
        builtin = p.id in BUILTIN_IDS
        self.name_edit.setText(p.name)
        self.id_label.setText(p.id + ("  (built in)" if builtin else ""))
        self.base_edit.setText(p.base_url)
        self.ws_edit.setText(p.ws_url or "")
        self.auth_box.setCurrentIndex(max(0, self.auth_box.findData(p.auth)))
        self.sign_check.setChecked(p.sign)
        self.needs_key_check.setChecked(p.needs_key)
        self.models_table.setRowCount(0)
        for m in p.models:
            self._add_model_row(m)
        self._fill_default_models(p.default_model)
        t = p.timeouts or self.settings.timeouts()
        self.connect_spin.setValue(t.connect)
        self.first_token_spin.setValue(t.first_token)
        self.stall_spin.setValue(t.stall)
        retries = self.settings.max_retries if p.max_retries is None else p.max_retries
        self.retries_spin.setValue(retries)
        self.own_timeouts.setChecked(p.timeouts is not None or p.max_retries is not None)
        self._enable_timeouts(self.own_timeouts.isChecked())
        self.remove_button.setEnabled(not builtin)
        self.reset_button.setEnabled(builtin and self.settings.profile(p.id) is not None)
        self.models_label.clear()
        self.test_label.clear()
        self.keybox.set_provider(p.id, p.needs_key)

    def form_profile(self) -> ProviderSettings:
        """The profile as the form shows it now."""
        models = []
        for row in range(self.models_table.rowCount()):
            cells = [self.models_table.item(row, c) for c in range(3)]
            name = cells[0].text().strip() if cells[0] else ""
            if name:
                prices = [_price(c.text()) if c else None for c in cells[1:]]
                models.append(ModelInfo(name, prices[0], prices[1]))
        own = self.own_timeouts.isChecked()
        timeouts = Timeouts(
            connect=self.connect_spin.value(),
            first_token=self.first_token_spin.value(),
            stall=self.stall_spin.value(),
        )
        return ProviderSettings(
            id=self.current_id,
            name=self.name_edit.text().strip() or self.current_id,
            base_url=self.base_edit.text().strip(),
            ws_url=self.ws_edit.text().strip() or None,
            auth=self.auth_box.currentData(),
            sign=self.sign_check.isChecked(),
            needs_key=self.needs_key_check.isChecked(),
            models=models,
            default_model=self.default_model_box.currentText().strip(),
            timeouts=timeouts if own else None,
            max_retries=self.retries_spin.value() if own else None,
        )

    def commit(self) -> None:
        """Write the form into the working settings (a built-in equal to itself is no override)."""
        pid = self.current_id
        if not pid:
            return
        profile = self.form_profile()
        others = [p for p in self.settings.providers if p.id != pid]
        base = BUILTIN_IDS.get(pid)
        if base is not None and profile == ProviderSettings.from_provider(base):
            self.settings.providers = others
            return
        index = next((i for i, p in enumerate(self.settings.providers) if p.id == pid), None)
        if index is None:
            self.settings.providers.append(profile)
        else:
            self.settings.providers[index] = profile

    def form_provider(self) -> Provider:
        """The form as a resolved provider (global timeouts filled in), for Test and Refresh."""
        probe = dataclasses.replace(self.settings, providers=[self.form_profile()])
        return resolve_provider(probe, self.current_id)

    def _add_model_row(self, m: ModelInfo) -> None:
        row = self.models_table.rowCount()
        self.models_table.insertRow(row)
        cells = (m.id, m.input_price, m.output_price)
        for col, value in enumerate(cells):
            text = value if isinstance(value, str) else ("" if value is None else f"{value:g}")
            self.models_table.setItem(row, col, QTableWidgetItem(text))
        first = self.models_table.item(row, 0)
        if not m.id and first is not None:
            self.models_table.editItem(first)

    def _remove_model_row(self) -> None:
        rows = sorted({i.row() for i in self.models_table.selectedIndexes()}, reverse=True)
        for row in rows or [self.models_table.rowCount() - 1]:
            if row >= 0:
                self.models_table.removeRow(row)

    def _fill_default_models(self, current: str) -> None:
        names = [m.id for m in self.form_profile_models()]
        self.default_model_box.clear()
        self.default_model_box.addItems(names)
        self.default_model_box.setCurrentText(current)

    def form_profile_models(self) -> list[ModelInfo]:
        return [
            ModelInfo(item.text().strip())
            for row in range(self.models_table.rowCount())
            if (item := self.models_table.item(row, 0)) is not None and item.text().strip()
        ]

    def _enable_timeouts(self, on: bool) -> None:
        for w in (self.connect_spin, self.first_token_spin, self.stall_spin, self.retries_spin):
            w.setEnabled(on)

    # -- slow work ------------------------------------------------------------------------

    async def _key_for_test(self, pid: str) -> str | None:
        typed = self.keybox.typed_key()
        if typed:
            return typed
        try:
            return await asyncio.to_thread(self.store.get, pid)
        except KeychainUnavailable:
            return None

    def test_connection(self) -> None:
        self.test_label.setText("Testing…")
        self.test_button.setEnabled(False)
        self.tasks.spawn(self._test(self.form_provider()))

    async def _test(self, provider: Provider) -> None:
        try:
            key = await self._key_for_test(provider.id)
            proxy, ca = self.network()
            result = await check_connection(provider, key, proxy=proxy, ca_bundle=ca)
        finally:
            self.test_button.setEnabled(True)
        if provider.id == self.current_id:
            color = "#1a7f37" if result.ok else "#cf222e"
            self.test_label.setStyleSheet(f"color: {color};")
            self.test_label.setText(result.message)
        self.testFinished.emit(result)

    def refresh_models(self) -> None:
        self.models_label.setText("Asking the server…")
        self.refresh_button.setEnabled(False)
        self.tasks.spawn(self._refresh_models(self.form_provider()))

    async def _refresh_models(self, provider: Provider) -> None:
        try:
            key = await self._key_for_test(provider.id)
            proxy, ca = self.network()
            ids = await fetch_models(provider.endpoint(key, proxy=proxy, ca_bundle=ca))
        except StreamError as exc:
            message = describe_failure(exc.to_failure())
        else:
            message = self._set_models(ids) if provider.id == self.current_id else ""
        finally:
            self.refresh_button.setEnabled(True)
        if provider.id == self.current_id:
            self.models_label.setText(message)
        self.modelsRefreshed.emit(message)

    def _set_models(self, ids: list[str]) -> str:
        """The server's list, keeping the prices already known for those names."""
        known = {m.id: m for m in self.form_profile().models}
        default = self.default_model_box.currentText()
        self.models_table.setRowCount(0)
        for model_id in ids:
            self._add_model_row(known.get(model_id, ModelInfo(model_id)))
        self._fill_default_models(default if default in ids or not ids else ids[0])
        return f"{len(ids)} models from the server."


__all__ = ["CheckResult", "ProvidersPage"]
