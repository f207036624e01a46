"""The Providers page: built-in and user profiles, their form, key, model list and a live test.

The page edits `settings.providers` of the dialog's working copy. A built-in is edited as an
override with the same id (kept only while it differs from the built-in, and "Reset" drops it);
only user profiles can be removed. The built-in mock (the offline demo) is listed last, read-only,
with a note on what it is. Slow work (keychain, /models, Test connection) runs as tasks.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.errors import KeychainUnavailable, StreamError
from streamdesk.core.models_api import fetch_models
from streamdesk.core.provider_urls import endpoint_problem
from streamdesk.core.providers import BUILTIN_PROVIDERS, MOCK_PROVIDER_ID, Provider
from streamdesk.core.store.secrets import KeyStore
from streamdesk.core.store.settings import ProviderSettings, Settings, resolve_provider
from streamdesk.core.store.settings_model import unusable_profile
from streamdesk.ui.failures import describe_failure
from streamdesk.ui.plain_text import plain_label
from streamdesk.ui.settings.keys_box import KeyBox
from streamdesk.ui.settings.ops import CheckResult, Tasks, check_connection
from streamdesk.ui.settings.provider_form import BUILTIN_IDS, ProviderForm

NetworkOptions = Callable[[], tuple[str | None, str | None]]  # (proxy, CA bundle)
DEMO_NAME = "Built-in mock (offline demo)"
DEMO_TEXT = (
    "<h3>Built-in mock (offline demo)</h3>"
    "<p>Needs no key and runs locally: a small server inside Streamdesk, on this computer's"
    " loopback address, streams realistic replies over SSE and WebSocket. Nothing is sent to"
    " the internet, and nothing costs money.</p>"
    "<p>Streamdesk uses it when no provider has a key yet, so you can try streaming, the"
    " inspector and Send over both at once. Add a provider with its key to talk to a real"
    " model.</p>"
    "<p>It is part of the app and cannot be edited or removed.</p>"
)


class ProvidersPage(QWidget):
    """The profiles list with its buttons, the selected profile's `form`, its key and tests."""

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
        self.list.setStyleSheet("QListWidget#providerList::item { padding: 3px 6px; }")
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
        self.form = ProviderForm(self)
        self.form.nameEdited.connect(self._show_name)
        for edit in (self.form.base_edit, self.form.ws_edit):
            edit.textChanged.connect(self._forget_answers)
        self.form.refreshRequested.connect(self.refresh_models)
        self.keybox = KeyBox(store, tasks, self)
        self.keybox.keysChanged.connect(self.keysChanged)
        self.test_button = QPushButton("Test connection", self)
        self.test_button.setToolTip("Send a tiny streaming request (3 tokens at most)")
        self.test_button.clicked.connect(self.test_connection)
        self.test_label = plain_label("", self)  # quotes URLs and a server's error
        self.test_label.setObjectName("testResult")
        self.test_label.setWordWrap(True)
        self.test_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_label, 1)
        editor = QWidget(self)
        right = QVBoxLayout(editor)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.form)
        right.addWidget(self.keybox)
        right.addLayout(test_row)
        self.demo_info = QLabel(DEMO_TEXT, self)
        self.demo_info.setObjectName("demoInfo")
        self.demo_info.setWordWrap(True)
        self.demo_info.setMaximumWidth(560)
        self.demo_info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.demo_info.setContentsMargins(12, 4, 12, 4)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(editor)
        self.pages.addWidget(self.demo_info)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addWidget(self.pages, 5)
        self.reload(settings.active_provider)

    def _button(self, text: str, slot: Callable[[], None], row: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.clicked.connect(lambda _=False: slot())
        row.addWidget(button)
        return button

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
        demo = QListWidgetItem(DEMO_NAME, self.list)
        demo.setData(Qt.ItemDataRole.UserRole, MOCK_PROVIDER_ID)
        demo.setToolTip("Needs no key and runs locally; read-only")
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
        demo = self.current_id == MOCK_PROVIDER_ID
        self.pages.setCurrentIndex(1 if demo else 0)
        for button in (self.duplicate_button, self.use_button):
            button.setEnabled(not demo)
        if demo:  # read-only: nothing to load, commit, remove or reset
            self.remove_button.setEnabled(False)
            self.reset_button.setEnabled(False)
            return
        profile = self._profile(self.current_id)
        builtin = profile.id in BUILTIN_IDS
        self.form.load(profile, self.settings.timeouts(), self.settings.max_retries)
        self.remove_button.setEnabled(not builtin)
        self.reset_button.setEnabled(builtin and self.settings.profile(profile.id) is not None)
        self.test_label.clear()
        self.keybox.set_provider(profile.id, profile.needs_key)

    def _forget_answers(self) -> None:
        """A URL edited: what the server answered for the one before no longer holds."""
        self.test_label.clear()
        self.form.set_models_note("")

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
        self.form.focus_name()

    def duplicate_provider(self) -> None:
        if self.current_id == MOCK_PROVIDER_ID:
            return
        self.commit()
        source = self._profile(self.current_id)
        pid = self._unique_id(source.id)
        copy = dataclasses.replace(source, id=pid, name=f"{source.name} (copy)")
        self.settings.providers.append(copy)
        self.reload(pid)

    def remove_provider(self) -> None:
        if self.current_id in BUILTIN_IDS or self.current_id == MOCK_PROVIDER_ID:
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

    def commit(self) -> None:
        """Write the form into the working settings (a built-in equal to itself is no override)."""
        pid = self.current_id
        if not pid or pid == MOCK_PROVIDER_ID:
            return
        profile = self.form.profile()
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
        probe = dataclasses.replace(self.settings, providers=[self.form.profile()])
        return resolve_provider(probe, self.current_id)

    def use_for_chat(self) -> None:
        """Mark the selection as the window's provider (applied on Save); the form stays as is."""
        if self.current_id == MOCK_PROVIDER_ID:
            return  # the demo stands in by itself when no provider has a key
        self.commit()
        self.settings.active_provider = self.current_id
        for i in range(self.list.count()):
            item = self.list.item(i)
            text = item.text().removeprefix("★ ")
            active = item.data(Qt.ItemDataRole.UserRole) == self.current_id
            item.setText(("★ " if active else "") + text)
        problem = unusable_profile(self.settings)
        if problem is not None and problem.provider_id == self.current_id:
            self.form.show_problem(problem.field, problem.message)

    def save_problem(self) -> str | None:
        """Why Save must not write the providers: a sentence naming the provider and what to
        do, with that provider selected and its field pointed at. None when they can be saved."""
        self.commit()
        problem = unusable_profile(self.settings)
        if problem is None:
            self.form.forget_save_problem()
            return None
        if problem.provider_id != self.current_id:
            self.reload(problem.provider_id)
        self.form.show_problem(problem.field, problem.message)
        return problem.message

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
        provider = self.form_provider()
        problem = endpoint_problem(provider.base_url, provider.ws_url, provider.api)
        if problem is not None:  # nothing to ask: say what to fix first
            self.form.set_models_note(problem[1], error=True)
            self.modelsRefreshed.emit(problem[1])
            return
        self.form.set_models_note("Asking the server…")
        self.form.refresh_button.setEnabled(False)
        self.tasks.spawn(self._refresh_models(provider))

    async def _refresh_models(self, provider: Provider) -> None:
        try:
            key = await self._key_for_test(provider.id)
            proxy, ca = self.network()
            ids = await fetch_models(provider.endpoint(key, proxy=proxy, ca_bundle=ca))
        except StreamError as exc:
            message, failed = describe_failure(exc.to_failure()), True
        else:
            message = self.form.set_server_models(ids) if provider.id == self.current_id else ""
            failed = False
        finally:
            self.form.refresh_button.setEnabled(True)
        if provider.id == self.current_id:
            self.form.set_models_note(message, error=failed)
        self.modelsRefreshed.emit(message)


__all__ = ["CheckResult", "ProvidersPage"]
