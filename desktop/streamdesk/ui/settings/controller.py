"""The window side of settings: open the dialog, apply what it saved, show one-line banners.

`SettingsController(window)` connects `MainWindow.settingsRequested` (File ▸ Settings…, Ctrl+,),
applies a saved dialog without a restart (providers, active provider or the offline demo, theme,
font size), re-checks the key when one is saved or deleted, shows a corrupt settings file once
in a banner, and offers "Open Settings" under a rejected key.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.store.settings import Settings, all_providers
from streamdesk.ui.keys import key_store
from streamdesk.ui.settings.dialog import SettingsDialog

# Failures the network settings can cause: they offer "Open Settings" when a proxy is named.
_NETWORK_KINDS = frozenset(
    {
        FailureKind.CONNECTION_REFUSED,
        FailureKind.NAME_NOT_RESOLVED,
        FailureKind.CONNECT_TIMEOUT,
        FailureKind.NETWORK,
    }
)


class Banner(QFrame):
    """A non-modal line above the conversation: text, an optional action, a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet(
            "QFrame#banner { background: #fff4d6; border-bottom: 1px solid #e3c36b; }"
            "QFrame#banner QLabel { color: #4a3b00; }"
        )
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.action = QPushButton(self)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 8, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.action)
        row.addWidget(close)
        self._slot: Any = None
        self.action.clicked.connect(self._act)
        self.hide()

    def show_message(self, text: str, action: str = "", slot: Any = None) -> None:
        self.label.setText(text)
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self._slot = slot
        self.show()

    def _act(self) -> None:
        if self._slot is not None:
            self._slot()
        self.hide()


class SettingsController(QObject):
    """Owns the (single) settings dialog of a `MainWindow` and applies what it saves."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: SettingsDialog | None = None
        self.font_size = window.settings.font_size
        self.banner = Banner(window)
        layout = window.centralWidget().layout()
        layout.insertWidget(1, self.banner)  # under the header, above the conversation
        window.settingsRequested.connect(self.open_dialog)
        window.stack.widgetAdded.connect(self._on_added)
        self._watched: set[int] = set()
        self._failure_banner = False  # the banner shows a failure: a good reply clears it
        window.header.providerChanged.connect(self._clear_failure)
        self._watch_sessions()
        self.apply_font(window.settings.font_size)
        if window.settings_warning:
            self.banner.show_message(window.settings_warning, "Open Settings", self.open_dialog)

    # -- dialog ---------------------------------------------------------------------------

    def wanted_provider(self) -> str:
        """The provider the user chose (the offline demo stands in for it without a key)."""
        w = self.window
        pid = w.header.provider_id() or w.provider.id
        return str(w._offline_for or w.settings.active_provider) if pid == MOCK_PROVIDER_ID else pid

    def open_dialog(self) -> SettingsDialog:
        """Show the dialog non-modal (`show()`: the window stays usable, no nested loop); a
        second request raises the one already open."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        settings = self.window.settings
        settings.active_provider = self.wanted_provider()
        dialog = SettingsDialog(settings, key_store(), self.window)
        dialog.saved.connect(self.apply)
        dialog.keysChanged.connect(self._on_keys_changed)
        self.dialog = dialog
        dialog.show()
        return dialog

    def apply(self, settings: Settings) -> None:
        """Use saved settings now: provider list, active provider (or demo), theme, font."""
        w = self.window
        settings.protocol = w.header.protocol()
        settings.window_geometry = w.settings.window_geometry
        w.settings = settings
        w.providers = all_providers(settings)
        w.header.set_providers(w.providers, settings.active_provider)
        w.set_theme(settings.theme)
        self.apply_font(settings.font_size)
        self._use(settings.active_provider)

    def apply_font(self, size: int) -> None:
        """Set on each transcript: with an application style sheet Qt does not propagate a
        parent's font to children added later, so new conversations get it in `_on_added`."""
        self.font_size = size
        stack = self.window.stack
        for i in range(stack.count()):
            view = stack.widget(i)
            font = QFont(view.font())
            font.setPointSize(size)
            view.setFont(font)

    def _use(self, provider_id: str) -> None:
        w = self.window
        provider = next((p for p in w.providers if p.id == provider_id), None)
        if provider is None and w.providers:
            provider = next((p for p in w.providers if p.id != MOCK_PROVIDER_ID), w.providers[0])
        if provider is not None:
            w._spawn(w._use_provider(provider))

    def _on_keys_changed(self, provider_id: str) -> None:
        """A key was saved, held or deleted: leave or enter the offline demo if it is ours."""
        if provider_id == self.wanted_provider():
            self.banner.hide()
            self._use(provider_id)

    # -- failures -------------------------------------------------------------------------

    def _on_added(self, _index: int) -> None:
        self._watch_sessions()
        self.apply_font(self.font_size)

    def _watch_sessions(self) -> None:
        for session in self.window.sessions.values():
            if id(session) not in self._watched:
                self._watched.add(id(session))
                session.failed.connect(self._on_failure)
                session.finished.connect(self._on_finished)

    def _on_failure(self, _key: object, failure: Failure) -> None:
        if failure.kind is FailureKind.AUTHENTICATION:
            text = f"{self.window.provider.name} rejected the API key."
        elif failure.kind is FailureKind.KEYCHAIN_UNAVAILABLE:
            text = failure.message
        elif failure.kind is FailureKind.TLS_ERROR:
            text = "No secure connection could be made: check the CA bundle and proxy."
        elif failure.kind in _NETWORK_KINDS and "proxy" in failure.message.lower():
            text = "The proxy could not be reached: check Settings ▸ Network."
        else:
            return
        self.banner.show_message(text, "Open Settings", self.open_dialog)
        self._failure_banner = True

    def _on_finished(self, _key: object, status: str) -> None:
        """A complete reply proves the key works again: a stale key banner would mislead."""
        if status == "complete":
            self._clear_failure()

    def _clear_failure(self, *_: object) -> None:
        if self._failure_banner:
            self._failure_banner = False
            self.banner.hide()

    def close(self) -> None:
        if self.dialog is not None:
            with contextlib.suppress(RuntimeError):
                self.dialog.reject()

    async def aclose(self) -> None:
        """Close the dialog and wait for its keychain and network tasks to end, on this loop."""
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            with contextlib.suppress(RuntimeError):
                dialog.reject()  # cancels its tasks
            await dialog.wait_idle()
