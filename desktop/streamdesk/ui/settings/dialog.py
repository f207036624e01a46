"""The settings dialog: Providers, Network, Appearance, MCP servers. Non-modal; Save writes
the TOML file.

The dialog edits a deep copy of the settings and emits `saved(Settings)` after the file has been
written atomically, so the window can apply the provider, theme and font at once. It is opened
with `open()`/`show()`, never `exec()`: a nested event loop would stall the qasync loop and every
stream running in the window. Keys and proxy credentials go to the keychain, never the file.
"""

from __future__ import annotations

import asyncio
import copy

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.errors import KeychainUnavailable, SettingsError
from streamdesk.core.provider_urls import fault_sentence, proxy_url_advice
from streamdesk.core.store.secrets import KeyStore
from streamdesk.core.store.settings import (
    PROXY_KEY_ID,
    Settings,
    effective_proxy,
    proxy_fault,
    save_settings,
    split_proxy_credentials,
)
from streamdesk.ui.plain_text import make_plain
from streamdesk.ui.settings.assistants_page import AssistantsPage
from streamdesk.ui.settings.ops import Tasks
from streamdesk.ui.settings.provider_form import seconds_spin
from streamdesk.ui.settings.providers_page import ProvidersPage
from streamdesk.ui.settings.url_note import UrlNote
from streamdesk.ui.tools.settings_page import McpServersPage

PROXY_CHOICES = (("system", "System proxy"), ("none", "No proxy"), ("manual", "Manual"))
THEME_LABELS = (("system", "System"), ("light", "Light"), ("dark", "Dark"))
THEME_NOTES = {
    "system": "Light or dark as the system is set, switching when it does.",
    "light": "Always light.",
    "dark": "Always dark.",
}


FIELD_WIDTH = 200  # a choice or a short value: wide enough for its text, not the whole dialog
URL_WIDTH = 440  # a URL or a path


def settings_form() -> QFormLayout:
    """A form whose fields keep their own widths, labels right-aligned beside them."""
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setHorizontalSpacing(16)
    form.setVerticalSpacing(6)
    return form


def section(text: str, parent: QWidget) -> QLabel:
    """A heading over a group of rows, with room above it."""
    label = QLabel(f"<b>{text}</b>", parent)
    label.setContentsMargins(0, 10, 0, 2)
    return label


def page(widget: QWidget, form: QFormLayout) -> None:
    """`form` at the top left of `widget`, with the same margins on every page."""
    column = QVBoxLayout(widget)
    column.setContentsMargins(24, 12, 24, 20)
    column.addLayout(form)
    column.addStretch(1)


class NetworkPage(QWidget):
    """Global timeouts and retries, proxy (credentials in the keychain) and a CA bundle."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connect_spin = seconds_spin(self, 120)
        self.first_token_spin = seconds_spin(self, 3600)
        self.stall_spin = seconds_spin(self, 3600)
        self.retries_spin = QSpinBox(self)
        self.retries_spin.setRange(0, 10)
        self.retries_spin.setMaximumWidth(110)
        self.proxy_box = QComboBox(self)
        for value, label in PROXY_CHOICES:
            self.proxy_box.addItem(label, value)
        self.proxy_edit = QLineEdit(self)
        self.proxy_edit.setPlaceholderText("http://proxy.example:3128 or socks5://127.0.0.1:1080")
        self.proxy_user = QLineEdit(self)
        self.proxy_user.setPlaceholderText("optional")
        self.proxy_password = QLineEdit(self)
        self.proxy_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.proxy_url_note = UrlNote(self.proxy_edit, proxy_url_advice, self)
        self.proxy_note = make_plain(QLabel(self))  # the keychain's words
        self.proxy_note.setWordWrap(True)
        self.ca_edit = QLineEdit(self)
        self.ca_edit.setPlaceholderText("PEM file with extra trusted CAs (TLS is always verified)")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self.browse_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit)
        ca_row.addWidget(browse)
        ca_row.addStretch(1)
        self.proxy_box.setFixedWidth(FIELD_WIDTH)
        for edit, width in (
            (self.proxy_edit, URL_WIDTH),
            (self.ca_edit, URL_WIDTH),
            (self.proxy_user, FIELD_WIDTH),
            (self.proxy_password, FIELD_WIDTH),
        ):
            edit.setFixedWidth(width)
        self.proxy_note.setFixedWidth(URL_WIDTH)
        self.proxy_url_note.setFixedWidth(URL_WIDTH)
        form = settings_form()
        form.addRow(section("Timeouts and retries", self))
        form.addRow("Connect timeout", self.connect_spin)
        form.addRow("First-token timeout", self.first_token_spin)
        form.addRow("Stall timeout", self.stall_spin)
        form.addRow("Retries before the first token", self.retries_spin)
        form.addRow(section("Proxy", self))
        form.addRow("Proxy", self.proxy_box)
        form.addRow("Proxy URL", self.proxy_edit)
        form.addRow("", self.proxy_url_note)
        form.addRow("Proxy user", self.proxy_user)
        form.addRow("Proxy password", self.proxy_password)
        form.addRow("", self.proxy_note)
        form.addRow(section("Certificates", self))
        form.addRow("CA bundle", ca_row)
        page(self, form)
        self.proxy_box.currentIndexChanged.connect(self._enable_proxy)
        self.file_dialog: QFileDialog | None = None
        self.stored_credentials: str | None = None
        self.load(settings)

    def load(self, s: Settings) -> None:
        self.connect_spin.setValue(s.connect_timeout)
        self.first_token_spin.setValue(s.first_token_timeout)
        self.stall_spin.setValue(s.stall_timeout)
        self.retries_spin.setValue(s.max_retries)
        self.proxy_box.setCurrentIndex(max(0, self.proxy_box.findData(s.proxy_mode)))
        self.proxy_edit.setText(s.proxy_url)
        self.ca_edit.setText(s.ca_bundle)
        self._enable_proxy()

    def save_problem(self) -> str | None:
        """Why Save must refuse the page: the manual proxy's URL cannot be used (one kept
        from the file is left alone while the proxy is not manual: nothing uses it then)."""
        probe = self._settings_probe()
        fault = proxy_fault(probe)
        return None if fault is None else fault_sentence(fault)

    def point_at_proxy_url(self) -> None:
        """The proxy URL field focused, its note saying what is wrong and offering the
        suggested URL."""
        self.proxy_edit.setFocus()
        self.proxy_url_note.refresh()

    def show_stored_credentials(self, credentials: str | None) -> None:
        """What the keychain holds for the proxy: the user name is shown, the password masked."""
        self.stored_credentials = credentials
        if credentials:
            user, _, _ = credentials.partition(":")
            self.proxy_user.setText(user)
            self.proxy_password.setPlaceholderText("stored in the keychain")

    def credentials(self) -> str | None:
        """ "user:password" from the fields or the URL; None: keep what the keychain has."""
        _url, from_url = split_proxy_credentials(self.proxy_edit.text().strip())
        if from_url:
            return from_url
        user, password = self.proxy_user.text().strip(), self.proxy_password.text()
        if password:
            return f"{user}:{password}"
        if not user and self.stored_credentials:
            return ""  # both cleared: forget the stored credentials
        return None

    def apply(self, s: Settings) -> None:
        s.connect_timeout = self.connect_spin.value()
        s.first_token_timeout = self.first_token_spin.value()
        s.stall_timeout = self.stall_spin.value()
        s.max_retries = self.retries_spin.value()
        s.proxy_mode = str(self.proxy_box.currentData())
        s.proxy_url, _ = split_proxy_credentials(self.proxy_edit.text().strip())
        s.ca_bundle = self.ca_edit.text().strip()

    def options(self) -> tuple[str | None, str | None]:
        """(Endpoint.proxy, CA bundle) as the form stands, for Test connection."""
        probe = copy.copy(self._settings_probe())
        creds = self.credentials()
        creds = self.stored_credentials if creds is None else creds
        return effective_proxy(probe, creds or None), probe.ca_bundle or None

    def _settings_probe(self) -> Settings:
        probe = Settings()
        self.apply(probe)
        return probe

    def browse_ca(self) -> None:
        """A non-modal file dialog (`open()`), never the static modal `getOpenFileName`."""
        dialog = QFileDialog(self, "Choose a CA bundle", "", "PEM files (*.pem *.crt);;All (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.ca_edit.setText)
        self.file_dialog = dialog
        dialog.open()

    def _enable_proxy(self) -> None:
        manual = self.proxy_box.currentData() == "manual"
        for w in (self.proxy_edit, self.proxy_user, self.proxy_password):
            w.setEnabled(manual)


class AppearancePage(QWidget):
    """Theme and transcript font size as a short form at the top left, each with a line that
    says what it does; Apply or Save switches them in the running window (no restart)."""

    DEFAULT_FONT_SIZE = Settings().font_size

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme_box = QComboBox(self)
        self.theme_box.setObjectName("themeBox")
        for value, label in THEME_LABELS:
            self.theme_box.addItem(label, value)
        self.theme_box.setCurrentIndex(max(0, self.theme_box.findData(settings.theme)))
        self.theme_box.setFixedWidth(FIELD_WIDTH)
        self.theme_note = self._note(THEME_NOTES[str(self.theme_box.currentData())])
        self.theme_box.currentIndexChanged.connect(
            lambda _i: self.theme_note.setText(THEME_NOTES[str(self.theme_box.currentData())])
        )
        self.font_spin = QSpinBox(self)
        self.font_spin.setObjectName("fontSizeSpin")
        self.font_spin.setRange(6, 72)
        self.font_spin.setSuffix(" pt")
        self.font_spin.setValue(settings.font_size)
        self.font_spin.setFixedWidth(FIELD_WIDTH // 2)
        self.font_note = self._note(
            f"Text size of the conversation and the prompt box (default {self.DEFAULT_FONT_SIZE}"
            " pt). Menus and dialogs follow the system."
        )
        form = settings_form()
        form.addRow(section("Theme and text", self))
        form.addRow("Theme", self.theme_box)
        form.addRow("", self.theme_note)
        form.addRow("Transcript font size", self.font_spin)
        form.addRow("", self.font_note)
        page(self, form)

    def _note(self, text: str) -> QLabel:
        """A quiet line under a field, wrapped at a readable width."""
        note = QLabel(text, self)
        note.setWordWrap(True)
        note.setMinimumWidth(360)
        note.setMaximumWidth(460)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # quiet, in both themes
        return note

    def apply(self, s: Settings) -> None:
        s.theme = str(self.theme_box.currentData())
        s.font_size = self.font_spin.value()


class SettingsDialog(QDialog):
    """Emits `saved(Settings)` after a successful write and `keysChanged(provider_id)`."""

    saved = Signal(object)
    keysChanged = Signal(str)

    def __init__(self, settings: Settings, store: KeyStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setModal(False)
        self.resize(980, 700)
        self.settings = copy.deepcopy(settings)
        self.store = store
        self.tasks = Tasks()
        self.tabs = QTabWidget(self)
        self.network = NetworkPage(self.settings, self)
        self.providers = ProvidersPage(self.settings, store, self.tasks, self.network.options, self)
        self.providers.keysChanged.connect(self.keysChanged)
        self.appearance = AppearancePage(self.settings, self)
        self.tabs.addTab(self.providers, "Providers")
        self.tabs.addTab(self.network, "Network")
        self.tabs.addTab(self.appearance, "Appearance")
        self.mcp = McpServersPage(self.settings, store, self.tasks, self)
        self.tabs.addTab(self.mcp, "MCP servers")
        self.assistants = AssistantsPage(self.settings, self)
        self.tabs.addTab(self.assistants, "Assistants")
        self.status = make_plain(QLabel(self))  # an error quotes paths and names
        self.status.setObjectName("settingsStatus")
        self.status.setWordWrap(True)
        Button = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(Button.Save | Button.Apply | Button.Cancel, self)
        self.buttons.button(Button.Save).clicked.connect(lambda: self.save(close=True))
        self.buttons.button(Button.Apply).clicked.connect(lambda: self.save(close=False))
        self.buttons.rejected.connect(self.reject)
        for button in self.buttons.buttons():  # Fusion's own pictures, outside the app's icons
            button.setIcon(QIcon())
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        self.tasks.spawn(self._load_proxy_credentials())

    async def wait_idle(self) -> None:
        """Until keychain look-ups, tests and saves started by the dialog have finished."""
        await self.tasks.wait_idle()

    def collect(self) -> Settings:
        """The working copy with every page's fields written into it."""
        self.providers.commit()
        self.network.apply(self.settings)
        self.appearance.apply(self.settings)
        self.mcp.apply(self.settings)  # an invalid form keeps the servers as they were
        self.assistants.apply(self.settings)
        return self.settings

    def save(self, *, close: bool) -> None:
        self.collect()
        problem = self.providers.save_problem()
        if problem is not None:  # a provider that cannot work: its page shows which field
            self.tabs.setCurrentWidget(self.providers)
            self.status.setText(f"Could not save the settings: {problem}")
            return
        problem = self.network.save_problem()
        if problem is not None:  # a manual proxy every request would fail on
            self.tabs.setCurrentWidget(self.network)
            self.network.point_at_proxy_url()
            self.status.setText(f"Could not save the settings: {problem}")
            return
        self.status.setText("Saving…")
        self.tasks.spawn(
            self._save(copy.deepcopy(self.settings), self.network.credentials(), close)
        )

    async def _save(self, settings: Settings, credentials: str | None, close: bool) -> None:
        note = ""
        if credentials is not None:
            note = await self._store_proxy_credentials(credentials)
        try:
            save_settings(settings)
        except (OSError, SettingsError) as exc:
            self.status.setText(f"Could not save the settings: {exc}")
            return
        self.status.setText(note or "Saved.")
        self.saved.emit(settings)
        if close and not note:
            self.accept()

    async def _store_proxy_credentials(self, credentials: str) -> str:
        try:
            if credentials:
                await asyncio.to_thread(self.store.set, PROXY_KEY_ID, credentials)
            else:
                await asyncio.to_thread(self.store.delete, PROXY_KEY_ID)
        except KeychainUnavailable as exc:
            if credentials:
                self.store.hold_in_memory(PROXY_KEY_ID, credentials)
            note = f"{exc} The proxy password is held in memory for this session."
            self.network.proxy_note.setText(note)
            return note
        self.network.proxy_password.clear()
        self.network.show_stored_credentials(credentials or None)
        return ""

    async def _load_proxy_credentials(self) -> None:
        try:
            credentials = await asyncio.to_thread(self.store.get, PROXY_KEY_ID, environment=False)
        except KeychainUnavailable as exc:
            self.network.proxy_note.setText(str(exc))
            return
        self.network.show_stored_credentials(credentials)

    def done(self, result: int) -> None:
        self.tasks.cancel()
        super().done(result)
