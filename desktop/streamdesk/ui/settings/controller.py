"""The window side of settings: open the dialog, apply what it saved, show one-line banners.

`SettingsController` opens the dialog (File ▸ Settings…, Ctrl+,), applies a saved dialog without
a restart (providers, active provider or the offline demo, theme, font size), re-checks the key
when one is saved or deleted, shows a corrupt settings file once in a banner, and offers "Open
Settings" under a rejected key. A URL the Settings forms would refuse (a provider's, an MCP
server's, the manual proxy's), loaded from a file written by hand or by an older version, is
said in the banner too, one at a time, with a button to that field; the file stays as written
until the user saves. The dialog and the keychain load when
the dialog first opens: the window builds this controller at start, and the keychain loads on a
worker thread then.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QWidget,
)

from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.provider_urls import UrlFault, fault_sentence
from streamdesk.core.store.settings import Settings, proxy_fault, url_faults

if TYPE_CHECKING:
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.settings.dialog import SettingsDialog
    from streamdesk.ui.window.provider_switcher import ProviderSwitcher

# Failures the network settings can cause: they offer "Open Settings" when a proxy is named.
_NETWORK_KINDS = frozenset(
    {
        FailureKind.CONNECTION_REFUSED,
        FailureKind.NAME_NOT_RESOLVED,
        FailureKind.CONNECT_TIMEOUT,
        FailureKind.NETWORK,
    }
)


StandingLine = tuple[str, str, Callable[[], object] | None]  # text, action, slot
# The Settings page of a URL field other than a provider's.
_FAULT_PAGES = {"proxy_url": "Network", "url": "MCP servers"}


class Banner(QFrame):
    """A non-modal line above the conversation: text, an optional action, a close button.

    Standing lines (`show_standing`: what is wrong in settings.toml) outlast the lines shown
    over them: the first comes back when they go, until it is dismissed or acted on, and then
    the next shows; "(1 of 3)" after the text says more follow. `withdraw_standing` drops them.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet(
            "QFrame#banner { background: #fff4d6; border-bottom: 1px solid #e3c36b; }"
            "QFrame#banner QLabel { color: #4a3b00; }"
        )
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # servers' words: never rich text
        self.action = QPushButton(self)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 8, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.action)
        row.addWidget(close)
        self._slot: Callable[[], object] | None = None
        self._standing: list[StandingLine] = []
        self._standing_count = 0  # how many there were: "(2 of 3)" after one went
        self._showing_standing = False
        self.action.clicked.connect(self._act)
        super().hide()

    def show_message(
        self, text: str, action: str = "", slot: Callable[[], object] | None = None
    ) -> None:
        self.label.setText(text)
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self._slot = slot
        self._showing_standing = False
        self.show()

    def show_standing(self, lines: list[StandingLine]) -> None:
        """Lines that come back when a line shown over them goes, one at a time, in order;
        an empty list withdraws them."""
        self._standing = list(lines)
        self._standing_count = len(lines)
        if lines:
            self._show_next_standing()
        else:
            self.withdraw_standing()

    def withdraw_standing(self) -> None:
        """The standing lines no longer hold: they go, and do not come back."""
        showing = self._showing_standing
        self._standing = []
        if showing:
            self.hide()

    def _show_next_standing(self) -> None:
        text, action, slot = self._standing[0]
        count = self._standing_count
        if count > 1:
            text += f" ({count - len(self._standing) + 1} of {count})"
        self.show_message(text, action, slot)
        self._showing_standing = True

    def hide(self) -> None:
        """The line goes; a standing line shown over comes back."""
        if self._standing and not self._showing_standing:
            self._show_next_standing()
        else:
            super().hide()

    def dismiss(self) -> None:
        """The close button: the line goes, a standing one for good (the next shows)."""
        if self._showing_standing:
            self._standing.pop(0)
            self._showing_standing = False
        self.hide()

    def _act(self) -> None:
        if self._slot is not None:
            self._slot()
        self.dismiss()


class SettingsController(QObject):
    """Owns the (single) settings dialog of a window and applies what it saves.

    It gets what it works on, not the window: the `ProviderSwitcher` (which provider to use),
    the transcript stack (font size), the settings and a callback that applies saved ones.
    The window places `banner`, connects its requests to `open_dialog` and passes each new
    session to `watch`.
    """

    def __init__(
        self,
        parent: QWidget,
        switcher: ProviderSwitcher,
        transcripts: QStackedWidget,
        settings: Callable[[], Settings],
        apply_settings: Callable[[Settings], None],
    ) -> None:
        super().__init__(parent)
        self._dialog_parent = parent
        self.switcher = switcher
        self.transcripts = transcripts
        self._settings = settings
        self._apply_settings = apply_settings
        self.dialog: SettingsDialog | None = None
        self.font_size = settings().font_size
        self.banner = Banner(parent)
        self._failure_banner = False  # the banner shows a failure: a good reply clears it
        self.apply_font(self.font_size)
        self.say_url_faults(settings())

    def show_settings_warning(self, text: str) -> None:
        """A problem with settings.toml, under the header until dismissed. The warning of a
        file that loaded is its proxy URL's, which `say_url_faults` says already, with the
        other URLs' and a button to its field."""
        if proxy_fault(self._settings()) is not None:
            return
        self.banner.show_message(text, "Open Settings", self.open_dialog)

    def say_url_faults(self, settings: Settings) -> None:
        """Each URL of the settings that cannot be used, one standing banner line at a time
        (the active provider's first, the proxy's last and only when it is used), each with a
        button to its field; withdrawn when the settings have none."""
        self.banner.show_standing(
            [
                (
                    fault_sentence(f),
                    f"Open Settings ▸ {_FAULT_PAGES.get(f.field, 'Providers')}",
                    functools.partial(self.open_fault, f),
                )
                for f in url_faults(settings)
            ]
        )

    def open_fault(self, fault: UrlFault) -> SettingsDialog:
        """The dialog on the fault's page with its field focused: the provider profile or the
        MCP server chosen, the field's note saying what is wrong and the suggested URL."""
        dialog = self.open_dialog()
        sentence = fault_sentence(fault)
        if fault.field == "proxy_url":
            dialog.tabs.setCurrentWidget(dialog.network)
            dialog.network.point_at_proxy_url()
        elif fault.field == "url":
            dialog.tabs.setCurrentWidget(dialog.mcp)
            dialog.mcp.point_at_url(fault.server, sentence)
        else:
            dialog.tabs.setCurrentWidget(dialog.providers)
            dialog.providers.select(fault.provider_id)
            dialog.providers.form.show_problem(fault.field, sentence)
        return dialog

    # -- dialog ---------------------------------------------------------------------------

    def open_dialog(self) -> SettingsDialog:
        """Show the dialog non-modal (`show()`: the window stays usable, no nested loop); a
        second request raises the one already open."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        from streamdesk.ui.keys import key_store
        from streamdesk.ui.settings.dialog import SettingsDialog

        settings = self._settings()
        settings.active_provider = self.switcher.wanted_provider_id()
        dialog = SettingsDialog(settings, key_store(), self._dialog_parent)
        dialog.saved.connect(self.apply)
        dialog.keysChanged.connect(self._on_keys_changed)
        self.dialog = dialog
        dialog.show()
        return dialog

    def apply(self, settings: Settings) -> None:
        """Use saved settings now: provider list, active provider (or demo), theme, font. A
        model picked in the header stays while its provider does."""
        chosen = self.switcher.chosen_model()  # before the header is refilled
        self._apply_settings(settings)
        self.apply_font(settings.font_size)
        self.switcher.select_saved(settings.active_provider, keep_model=chosen)
        self.say_url_faults(settings)

    def apply_font(self, size: int) -> None:
        """Set on each transcript: with an application style sheet Qt does not propagate a
        parent's font to children added later, so new conversations get it in `watch`."""
        self.font_size = size
        for i in range(self.transcripts.count()):
            view = self.transcripts.widget(i)
            if view is not None:
                self._set_font(view)

    def _set_font(self, view: QWidget) -> None:
        font = QFont(view.font())
        font.setPointSize(self.font_size)
        view.setFont(font)

    def _on_keys_changed(self, provider_id: str) -> None:
        """A key was saved, held or deleted: leave or enter the offline demo if it is ours."""
        if provider_id == self.switcher.wanted_provider_id():
            self.banner.hide()
            self.switcher.select_saved(provider_id, keep_model=self.switcher.chosen_model())

    # -- failures -------------------------------------------------------------------------

    def watch(self, session: ChatSession) -> None:
        """A new conversation: its transcript gets the font, its failures the banner."""
        self._set_font(session.view)
        session.failed.connect(self._on_failure)
        session.finished.connect(self._on_finished)

    def _on_failure(self, _key: object, failure: Failure) -> None:
        if failure.kind is FailureKind.AUTHENTICATION and failure.status is None:
            text = f"No API key is set for {self.switcher.provider.name}."  # nothing was sent
        elif failure.kind is FailureKind.AUTHENTICATION:
            text = f"{self.switcher.provider.name} rejected the API key."
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
            self.clear_failure()

    def clear_failure(self, *_: object) -> None:
        """Hide a failure's banner (another provider, or a reply that worked)."""
        if self._failure_banner:
            self._failure_banner = False
            self.banner.hide()

    async def aclose(self) -> None:
        """Close the dialog and wait for its keychain and network tasks to end, on this loop."""
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            with contextlib.suppress(RuntimeError):
                dialog.reject()  # cancels its tasks
            await dialog.wait_idle()
