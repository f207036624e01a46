"""The header: provider and model pickers, the SSE | WebSocket switch and the offline badge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QWidget,
)

if TYPE_CHECKING:  # the providers (~15 ms to import) arrive after the window's first paint
    from streamdesk.core.providers import Provider


class Header(QFrame):
    """Emits `providerChanged(provider_id)`, `modelChanged(model)`, `protocolChanged(protocol)`."""

    providerChanged = Signal(str)
    modelChanged = Signal(str)
    protocolChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        self._providers: dict[str, Provider] = {}
        title = QLabel("Streamdesk", self)
        title.setObjectName("appTitle")
        self.provider_box = QComboBox(self)
        self.provider_box.setToolTip("Provider")
        # As wide as its longest name ("Built-in mock (offline demo)"), never a cut-off name.
        self.provider_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.provider_box.setMinimumContentsLength(12)
        self.model_box = QComboBox(self)
        self.model_box.setEditable(True)  # any model name the server knows may be typed
        self.model_box.setToolTip("Model (type any name the provider serves)")
        self.model_box.setMinimumContentsLength(18)
        self.sse_button = QToolButton(self)
        self.sse_button.setText("SSE")
        self.ws_button = QToolButton(self)
        self.ws_button.setText("WebSocket")
        self.protocol_group = QButtonGroup(self)
        for button in (self.sse_button, self.ws_button):
            button.setCheckable(True)
            self.protocol_group.addButton(button)
        self.sse_button.setChecked(True)
        self.offline_badge = QLabel("Offline demo", self)
        self.offline_badge.setObjectName("offlineBadge")
        self.offline_badge.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addSpacing(12)
        layout.addWidget(self.provider_box)
        layout.addWidget(self.model_box)
        layout.addSpacing(8)
        layout.addWidget(self.sse_button)
        layout.addWidget(self.ws_button)
        layout.addStretch(1)
        layout.addWidget(self.offline_badge)
        self.provider_box.currentIndexChanged.connect(self._on_provider)
        self.model_box.currentTextChanged.connect(self.modelChanged)
        self.protocol_group.buttonToggled.connect(self._on_protocol)

    # -- providers and models -------------------------------------------------------------

    def set_providers(self, providers: list[Provider], current: str) -> None:
        self._providers = {p.id: p for p in providers}
        self.provider_box.blockSignals(True)
        self.provider_box.clear()
        for p in providers:
            self.provider_box.addItem(p.name, p.id)
        index = max(0, self.provider_box.findData(current))
        self.provider_box.setCurrentIndex(index)
        self.provider_box.blockSignals(False)
        self._show_provider(self.provider_box.currentData())

    def provider_id(self) -> str:
        return str(self.provider_box.currentData() or "")

    def show_target(self, provider_id: str, model: str, protocol: str) -> None:
        """Show a conversation's provider, model and protocol without asking to switch."""
        index = self.provider_box.findData(provider_id)
        if index >= 0 and index != self.provider_box.currentIndex():
            self.provider_box.blockSignals(True)
            self.provider_box.setCurrentIndex(index)
            self.provider_box.blockSignals(False)
            self._show_provider(provider_id)
        self.model_box.blockSignals(True)
        if model and self.model_box.findText(model) < 0:
            self.model_box.addItem(model)
        self.model_box.setCurrentText(model)
        self.model_box.blockSignals(False)
        self.protocol_group.blockSignals(True)
        self.set_protocol(protocol)
        self.protocol_group.blockSignals(False)

    def model(self) -> str:
        return self.model_box.currentText().strip()

    def _on_provider(self, _index: int) -> None:
        pid = self.provider_id()
        self._show_provider(pid)
        self.providerChanged.emit(pid)

    def _show_provider(self, provider_id: str | None) -> None:
        provider = self._providers.get(provider_id or "")
        if provider is None:
            return
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self.model_box.addItems([m.id for m in provider.models])
        if provider.default_model and self.model_box.findText(provider.default_model) < 0:
            self.model_box.addItem(provider.default_model)
        self.model_box.setCurrentText(provider.default_model)
        self.model_box.blockSignals(False)
        if provider.ws_url:
            self.ws_button.setEnabled(True)
            self.ws_button.setToolTip("Stream over WebSocket")
        else:
            if self.ws_button.isChecked():
                self.sse_button.setChecked(True)
            self.ws_button.setEnabled(False)
            self.ws_button.setToolTip(
                f"{provider.name} has no WebSocket endpoint; add a WebSocket URL to this "
                "provider in Settings to use it."
            )
        self.sse_button.setToolTip("Stream over HTTP server-sent events")

    # -- protocol -------------------------------------------------------------------------

    def protocol(self) -> str:
        return "ws" if self.ws_button.isChecked() else "sse"

    def set_protocol(self, protocol: str) -> None:
        if protocol == "ws" and self.ws_button.isEnabled():
            self.ws_button.setChecked(True)
        else:
            self.sse_button.setChecked(True)

    def _on_protocol(self, _button: object, checked: bool) -> None:
        if checked:
            self.protocolChanged.emit(self.protocol())

    def set_offline(self, offline: bool, why: str = "") -> None:
        self.offline_badge.setVisible(offline)
        self.offline_badge.setToolTip(why)

    def set_key_missing(self, why: str) -> None:
        """The chosen provider has no key yet: say so where the provider is picked."""
        self.provider_box.setToolTip(why)
