"""The conversation list on the left, with a search field and a "New chat" button.

Items carry an opaque key; the window maps keys to sessions. The history store fills the list
later (`add_conversation` for each stored one); for now conversations live in memory.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

_KEY = Qt.ItemDataRole.UserRole
_TITLE = Qt.ItemDataRole.UserRole + 1


class ConversationList(QFrame):
    """Emits `newRequested()`, `currentChanged(key)` and `searchRequested(text)`."""

    newRequested = Signal()
    currentChanged = Signal(object)
    searchRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.new_button = QPushButton("+  New chat", self)
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setObjectName("conversationList")
        self.list.setUniformItemSizes(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self.new_button.clicked.connect(self.newRequested)
        self.search.returnPressed.connect(lambda: self.searchRequested.emit(self.search.text()))
        self.search.textChanged.connect(self._filter)
        self.list.currentItemChanged.connect(self._on_current)

    def add_conversation(self, key: Any, title: str, *, select: bool = True) -> None:
        """Add at the top (newest first)."""
        item = QListWidgetItem(title)
        item.setData(_KEY, key)
        item.setData(_TITLE, title)
        item.setToolTip(title)
        self.list.insertItem(0, item)
        if select:
            self.list.setCurrentItem(item)

    def _item(self, key: Any) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(_KEY) == key:
                return item
        return None

    def set_title(self, key: Any, title: str) -> None:
        item = self._item(key)
        if item is not None:
            item.setData(_TITLE, title)
            item.setToolTip(title)
            self._refresh(item)

    def set_streaming(self, key: Any, streaming: bool) -> None:
        """Mark a conversation whose reply is streaming (visible while another is shown)."""
        item = self._item(key)
        if item is not None:
            item.setData(Qt.ItemDataRole.UserRole + 2, streaming)
            self._refresh(item)

    def _refresh(self, item: QListWidgetItem) -> None:
        title = str(item.data(_TITLE))
        item.setText(("● " if item.data(Qt.ItemDataRole.UserRole + 2) else "") + title)

    def select(self, key: Any) -> None:
        item = self._item(key)
        if item is not None:
            self.list.setCurrentItem(item)

    def current_key(self) -> Any:
        item = self.list.currentItem()
        return None if item is None else item.data(_KEY)

    def keys(self) -> list[Any]:
        return [self.list.item(row).data(_KEY) for row in range(self.list.count())]

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _filter(self, text: str) -> None:
        """Title filter until full-text search over history lands."""
        needle = text.casefold()
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(bool(needle) and needle not in str(item.data(_TITLE)).casefold())

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self.currentChanged.emit(current.data(_KEY))
