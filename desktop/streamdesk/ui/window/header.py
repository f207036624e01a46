"""The header: the sidebar toggle, provider and model pickers, the SSE | WebSocket segmented
switch and the offline-demo badge.

Narrow windows (800 px) drop the app's name first; the provider picker then shrinks and elides
its name (the full name is its tooltip) rather than cutting it off; narrower still, "WebSocket"
reads "WS" and the badge "Offline" (their tooltips say the whole), so no button's text is cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QWidget,
)

from streamdesk.ui.plain_text import plain_tooltip

if TYPE_CHECKING:  # the providers (~15 ms to import) arrive after the window's first paint
    from streamdesk.core.providers import Provider


TITLE_MIN_WIDTH = 1000  # px of header below which the app's name gives way to the pickers
COMBO_CHROME = 44  # px beside the text of a combo box: frame, padding, arrow
MODEL_BOX_CHARS = 17  # "claude-sonnet-4.5", the longest name of the built-in providers' models
WS_TEXTS = ("WebSocket", "WS")  # the protocol switch's second segment: full, and short
BADGE_TEXTS = ("Offline demo", "Offline")


class ElidingComboBox(QComboBox):
    """Asks for its longest item's width and, when squeezed below it, elides the shown text."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        metrics = self.fontMetrics()
        texts = [self.itemText(i) for i in range(self.count())]
        widest = max((metrics.horizontalAdvance(t) for t in texts), default=0)
        return QSize(max(hint.width(), widest + COMBO_CHROME), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        text = self.currentText()
        room = self.width() - COMBO_CHROME
        if self.fontMetrics().horizontalAdvance(text) <= room:
            super().paintEvent(event)  # the common case builds no style enums (first paint)
            return
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QStyle, QStyleOptionComboBox, QStylePainter

        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, room)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


class Header(QFrame):
    """Emits `providerChanged(provider_id)`, `modelChanged(model)`, `protocolChanged(protocol)`."""

    providerChanged = Signal(str)
    modelChanged = Signal(str)
    protocolChanged = Signal(str)
    sidebarToggled = Signal()
    paletteRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        self._providers: dict[str, Provider] = {}
        self.sidebar_button = self._tool(
            "Show or hide the conversations (Ctrl+B)", "☰", "Conversations"
        )
        self.sidebar_button.clicked.connect(self.sidebarToggled)
        self.title = QLabel("Streamdesk", self)
        self.title.setObjectName("appTitle")
        self._optional: list[tuple[QWidget, int]] = [(self.title, TITLE_MIN_WIDTH)]
        self.provider_box = ElidingComboBox(self)
        self.provider_box.setToolTip("Provider")
        # Prefers its longest name ("Built-in mock (offline demo)"); elided when squeezed.
        self.provider_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.provider_box.setMinimumContentsLength(8)
        self.model_box = QComboBox(self)
        self.model_box.setEditable(True)  # any model name the server knows may be typed
        self.model_box.setToolTip("Model (type any name the provider serves)")
        if (model_edit := self.model_box.lineEdit()) is not None:
            model_edit.setPlaceholderText("no model")  # a profile that names none
        # As wide as the longest built-in model name whatever the list holds: sized to its
        # contents, the box would take the width of the list it held when first shown, and
        # the longest name once a theme switch repolished it. Its names have no icons: no
        # room is kept for one.
        self.model_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_box.setIconSize(QSize(0, 0))
        self.model_box.setMinimumContentsLength(MODEL_BOX_CHARS)
        # A segmented control: two checkable buttons drawn as one (chrome.py).
        self.sse_button = self._segment("SSE", first=True)
        self.ws_button = self._segment(WS_TEXTS[0], first=False)
        self.ws_button.setAccessibleName(WS_TEXTS[0])
        self.protocol_group = QButtonGroup(self)
        for button in (self.sse_button, self.ws_button):
            self.protocol_group.addButton(button)
        self.sse_button.setChecked(True)
        self.offline_badge = QLabel(BADGE_TEXTS[0], self)
        self.offline_badge.setAccessibleName(BADGE_TEXTS[0])
        self.offline_badge.setObjectName("offlineBadge")
        self.offline_badge.hide()
        self.palette_button = self._tool("Command palette (Ctrl+K)", "⌘", "Command palette")
        self.palette_button.clicked.connect(self.paletteRequested)
        # (widget, full text, short text): the short one below the width the full ones need
        self._shortened: list[tuple[QToolButton | QLabel, str, str]] = [
            (self.ws_button, *WS_TEXTS),
            (self.offline_badge, *BADGE_TEXTS),
        ]
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 12, 6)
        layout.setSpacing(8)
        layout.addWidget(self.sidebar_button)
        layout.addWidget(self.title)
        layout.addSpacing(8)
        layout.addWidget(self.provider_box)
        layout.addWidget(self.model_box)
        layout.addSpacing(4)
        self._switch = QHBoxLayout()
        self._switch.setSpacing(0)
        self._switch.addWidget(self.sse_button)
        self._switch.addWidget(self.ws_button)
        layout.addLayout(self._switch)
        layout.addStretch(2)
        layout.addWidget(self.offline_badge)
        layout.addWidget(self.palette_button)
        self.provider_box.currentIndexChanged.connect(self._on_provider)
        self.model_box.currentTextChanged.connect(self.modelChanged)
        self.protocol_group.buttonToggled.connect(self._on_protocol)

    def _tool(self, tip: str, glyph: str, label: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("headerTool")
        button.setToolTip(tip)
        button.setAccessibleName(label)  # screen readers: the icon says nothing
        button.setText(glyph)  # until `add_icons`, after the first paint
        button.setFixedSize(30, 30)
        return button

    def _segment(self, text: str, *, first: bool) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("segment")
        button.setText(text)
        button.setCheckable(True)
        button.setProperty("first", first)
        button.setProperty("last", not first)
        return button

    def add_icons(self) -> None:
        """The icon set (drawn after the first paint)."""
        from streamdesk.ui.window.icons import bind

        bind(self.sidebar_button.setIcon, "mdi6.dock-left")
        bind(self.palette_button.setIcon, "mdi6.magnify")
        for button in (self.sidebar_button, self.palette_button):
            button.setText("")
            button.setIconSize(QSize(20, 20))

    def add_optional(self, widget: QWidget, shown_from: int) -> None:
        """`widget` gives way in a header narrower than `shown_from` px, as the app's name does."""
        self._optional.append((widget, shown_from))
        widget.setVisible(self.width() >= shown_from)

    def minimumSizeHint(self) -> QSize:
        """The pickers' minimum without the parts that give way and with the short texts: a
        window shown wide can still be made narrow (they hide and shorten once it is)."""
        hint = super().minimumSizeHint()
        shortening = self._shortening_room(now_full_only=True)
        return QSize(hint.width() - self._optional_room() - shortening, hint.height())

    def _optional_room(self) -> int:
        """Width in px the shown parts that give way take."""
        row = self.layout()
        spacing = row.spacing() if row is not None else 0
        return sum(
            w.minimumSizeHint().width() + spacing for w, _ in self._optional if not w.isHidden()
        )

    def _shortening_room(self, *, now_full_only: bool) -> int:
        """Width in px the shown texts give back short rather than full (`now_full_only`: of
        those full now)."""
        return sum(
            w.fontMetrics().horizontalAdvance(full) - w.fontMetrics().horizontalAdvance(short)
            for w, full, short in self._shortened
            if not w.isHidden() and (w.text() == full or not now_full_only)
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        width = event.size().width()
        for widget, shown_from in self._optional:
            widget.setVisible(width >= shown_from)
        full_needs = self.minimumSizeHint().width() + self._shortening_room(now_full_only=False)
        for widget, full, short in self._shortened:
            widget.setText(full if width >= full_needs else short)
        self._switch.invalidate()  # else its cached minimum holds the old text until laid out
        super().resizeEvent(event)

    # -- providers and models -------------------------------------------------------------

    def choose(self, provider_id: str, model: str) -> None:
        """The user picked `model` of `provider_id` elsewhere (the palette): as in the pickers."""
        index = self.provider_box.findData(provider_id)
        if index >= 0 and index != self.provider_box.currentIndex():
            self.provider_box.setCurrentIndex(index)  # providerChanged: the switch happens
        if model:
            if self.model_box.findText(model) < 0:
                self.model_box.addItem(model)
            self.model_box.setCurrentText(model)

    def providers(self) -> list[Provider]:
        """The providers listed in the picker, in its order."""
        return list(self._providers.values())

    def set_providers(self, providers: list[Provider], current: str) -> None:
        self._providers = {p.id: p for p in providers}
        self.provider_box.blockSignals(True)
        self.provider_box.clear()
        for p in providers:
            self.provider_box.addItem(p.name, p.id)
        index = max(0, self.provider_box.findData(current))
        self.provider_box.setCurrentIndex(index)
        self.provider_box.blockSignals(False)
        self.provider_box.updateGeometry()
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
        self.provider_box.setToolTip(plain_tooltip(f"Provider: {provider.name}"))
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
                plain_tooltip(
                    f"{provider.name} has no WebSocket endpoint; add a WebSocket URL to this "
                    "provider in Settings to use it."
                )
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
        self.offline_badge.setToolTip(plain_tooltip(why))

    def set_key_missing(self, why: str) -> None:
        """The chosen provider has no key yet: say so where the provider is picked."""
        name = self.provider_box.currentText()
        self.provider_box.setToolTip(
            plain_tooltip(f"Provider: {name}" + (f"\n{why}" if why else ""))
        )
