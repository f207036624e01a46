"""The conversation list on the left: "New chat", a full-text search field, the conversations
(pinned on top, then newest first, under Pinned / Today / Yesterday / Earlier headings) with a
context menu, and an inline "Deleted · Undo" bar.

Items carry an opaque key; the window maps keys to sessions and the history bridge maps them to
stored conversations. While the search field has text, the search results replace the list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from streamdesk.ui.plain_text import make_plain, plain_tooltip

if TYPE_CHECKING:  # the store (SQLite, ~30 ms) loads after the window's first paint
    from datetime import date

    from streamdesk.core.store.history import SearchHit
    from streamdesk.ui.history.search import SearchResults

# Qt's namespace is reached as QtCore.Qt inside functions only: its Python type (every Qt::
# enum) costs ~45 ms to build, which must not happen before the window's first paint.
_USER_ROLE = 256  # Qt.ItemDataRole.UserRole
_KEY_ESCAPE = 0x01000000  # Qt.Key.Key_Escape
_KEY = _USER_ROLE
_TITLE = _USER_ROLE + 1
_FILLED = "streamdeskTitleFilled"  # dynamic property: an editor given its item's text once
_STREAMING = _USER_ROLE + 2
_PINNED = _USER_ROLE + 3
_WHEN = _USER_ROLE + 4  # Unix time of the conversation's last change
_HEADING = _USER_ROLE + 5  # a date heading, not a conversation
SEARCH_DELAY_MS = 150


class SearchField(QLineEdit):
    """The search field: Esc clears it, and the list comes back."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == _KEY_ESCAPE and self.text():
            self.clear()
        else:
            super().keyPressEvent(event)


class TitleEditing(QStyledItemDelegate):
    """Items drawn as usual; a title being edited keeps what the user typed when its item
    changes meanwhile (a reply ending, the chat titled by its first send): Qt would put the
    item's new text in the editor."""

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        if not editor.property(_FILLED):
            super().setEditorData(editor, index)
            editor.setProperty(_FILLED, True)


class ConversationList(QFrame):
    """Emits newRequested(), currentChanged(key), searchRequested(text), hitActivated(hit),
    renameRequested(key, title), pinRequested(key, pinned), deleteRequested(key),
    exportRequested(key, "md" | "json"), settingsRequested(key), undoRequested(),
    titleChanged(key, title)."""

    newRequested = Signal()
    currentChanged = Signal(object)
    searchRequested = Signal(str)
    hitActivated = Signal(object)
    renameRequested = Signal(object, str)
    pinRequested = Signal(object, bool)
    deleteRequested = Signal(object)
    exportRequested = Signal(object, str)
    settingsRequested = Signal(object)
    undoRequested = Signal()
    titleChanged = Signal(object, str)  # key, title: shown anew (set_title)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.new_button = QPushButton("New chat", self)
        self.new_button.setObjectName("newChat")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.search = SearchField(self)
        self.search.setPlaceholderText("Search all messages (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setObjectName("conversationList")
        # Qt enums as int properties (see the note on QtCore.Qt at the top).
        self.list.setProperty("horizontalScrollBarPolicy", 1)  # ScrollBarAlwaysOff
        self.list.setProperty("textElideMode", 1)  # ElideRight
        self.list.setProperty("contextMenuPolicy", 3)  # CustomContextMenu
        self.list.setEditTriggers(QListWidget.EditTrigger.EditKeyPressed)
        self._results: SearchResults | None = None  # made at the first search
        self._by_key: dict[Any, QListWidgetItem] = {}  # the conversations' items
        self.undo_bar = QFrame(self)
        self.undo_label = make_plain(QLabel(self.undo_bar))  # it names a chat
        self.undo_button = QPushButton("Undo", self.undo_bar)
        bar = QHBoxLayout(self.undo_bar)
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.undo_label, 1)
        bar.addWidget(self.undo_button)
        self.undo_bar.hide()
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self.undo_bar.hide)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._run_search)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        for widget in (self.new_button, self.search, self.list, self.undo_bar):
            layout.addWidget(widget, 1 if widget is self.list else 0)
        self.new_button.clicked.connect(self.newRequested)
        self.search.returnPressed.connect(self._run_search)
        self.search.textChanged.connect(self._on_search_text)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.setItemDelegate(TitleEditing(self.list))
        self.undo_button.clicked.connect(self._undo)

    @property
    def results(self) -> SearchResults:
        """The hits of a search, shown in the list's place; made at the first search, not
        before the window's first paint."""
        if self._results is None:
            from streamdesk.ui.history.search import SearchResults

            self._results = SearchResults(self)
            self._results.hide()
            layout = self.layout()
            assert isinstance(layout, QVBoxLayout)
            layout.insertWidget(layout.indexOf(self.list) + 1, self._results, 1)
            self._results.hitActivated.connect(self.hitActivated)
        return self._results

    def add_icons(self) -> None:
        """The icon set (drawn after the first paint)."""
        from streamdesk.ui.window.icons import bind

        bind(self.new_button.setIcon, "mdi6.chat-plus-outline", role="accent")

    # -- items -----------------------------------------------------------------------------

    def add_conversation(
        self,
        key: Any,
        title: str,
        *,
        select: bool = True,
        pinned: bool = False,
        when: float | None = None,
    ) -> None:
        """Add at the top of its section (pinned ones first, then the newest); `when` (Unix
        time of its last change, now by default) puts it under its date heading."""
        item = self._new_item(key, title, pinned, time.time() if when is None else when)
        blocked = self.list.blockSignals(True)
        self._drop_headings()
        self.list.insertItem(self._row_for(item), item)
        self._refresh(item)
        self._add_headings()
        self.list.blockSignals(blocked)
        if select:
            self.list.setCurrentItem(item)

    def add_conversations(self, listed: Sequence[tuple[Any, str, bool, float]]) -> None:
        """(key, title, pinned, last change) of many conversations, already in the list's
        order (pinned first, then the newest), below those listed: one pass for the date
        headings, however long the history."""
        blocked = self.list.blockSignals(True)
        self._drop_headings()
        for key, title, pinned, when in listed:
            item = self._new_item(key, title, pinned, when)
            self.list.addItem(item)
            self._refresh(item)
        self._add_headings()
        self.list.blockSignals(blocked)

    def _new_item(self, key: Any, title: str, pinned: bool, when: float) -> QListWidgetItem:
        item = QListWidgetItem(title)
        item.setData(_KEY, key)
        item.setData(_TITLE, title)
        item.setData(_PINNED, pinned)
        item.setData(_WHEN, when)
        item.setToolTip(plain_tooltip(title))
        item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsEditable)
        self._by_key[key] = item
        return item

    def _items(self) -> list[QListWidgetItem]:
        """The conversations' items, in their order (no headings)."""
        items = (self.list.item(row) for row in range(self.list.count()))
        return [item for item in items if not item.data(_HEADING)]

    def _row_for(self, item: QListWidgetItem) -> int:
        """Where `item` goes (headings dropped): pinned ones on top, the newest first, the
        rest by their last change, newest first."""
        if item.data(_PINNED):
            return 0
        items = self._items()
        pinned = sum(bool(other.data(_PINNED)) for other in items)
        when = item.data(_WHEN)
        later = (row for row in range(pinned, len(items)) if items[row].data(_WHEN) <= when)
        return next(later, len(items))

    def _item(self, key: Any) -> QListWidgetItem | None:
        return self._by_key.get(key)

    # -- date headings ---------------------------------------------------------------------

    def _drop_headings(self) -> None:
        for row in reversed(range(self.list.count())):
            if self.list.item(row).data(_HEADING):
                self.list.takeItem(row)

    def _add_headings(self) -> None:
        """A heading above the first conversation of each section; the current item stays."""
        current = self.list.currentItem()
        shown = None
        row = 0
        from datetime import date

        today = date.today()
        while row < self.list.count():
            item = self.list.item(row)
            heading = section_of(item.data(_PINNED), item.data(_WHEN), today)
            if heading != shown:
                self.list.insertItem(row, _heading_item(heading))
                shown = heading
                row += 1
            row += 1
        if current is not None:
            self.list.setCurrentItem(current)

    def title(self, key: Any) -> str:
        item = self._item(key)
        return "" if item is None else str(item.data(_TITLE))

    def set_title(self, key: Any, title: str) -> None:
        item = self._item(key)
        if item is not None:
            blocked = self.list.blockSignals(True)  # not an inline edit: no renameRequested
            item.setData(_TITLE, title)
            item.setToolTip(plain_tooltip(title))
            self._refresh(item)
            self.list.blockSignals(blocked)
            self.titleChanged.emit(key, title)

    def set_streaming(self, key: Any, streaming: bool) -> None:
        """Mark a conversation whose reply is streaming (visible while another is shown)."""
        item = self._item(key)
        if item is not None:
            blocked = self.list.blockSignals(True)
            item.setData(_STREAMING, streaming)
            self._refresh(item)
            self.list.blockSignals(blocked)

    def is_pinned(self, key: Any) -> bool:
        item = self._item(key)
        return bool(item is not None and item.data(_PINNED))

    def set_pinned(self, key: Any, pinned: bool) -> None:
        """Move the item to the top of its new section, keeping it selected if it was."""
        item = self._item(key)
        if item is None:
            return
        current = self.list.currentItem() is item
        self.list.blockSignals(True)
        self._drop_headings()
        self.list.takeItem(self.list.row(item))
        item.setData(_PINNED, pinned)
        self.list.insertItem(self._row_for(item), item)
        self._refresh(item)
        self._add_headings()
        if current:
            self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def remove(self, key: Any) -> None:
        item = self._by_key.pop(key, None)
        if item is not None:
            self.list.takeItem(self.list.row(item))
            blocked = self.list.blockSignals(True)
            self._drop_headings()
            self._add_headings()
            self.list.blockSignals(blocked)

    def _refresh(self, item: QListWidgetItem) -> None:
        title = str(item.data(_TITLE))
        mark = "● " if item.data(_STREAMING) else ""  # pinned ones sit under "Pinned"
        blocked = self.list.blockSignals(True)
        item.setText(mark + title)
        self.list.blockSignals(blocked)

    def select(self, key: Any) -> None:
        item = self._item(key)
        if item is not None:
            self.list.setCurrentItem(item)

    def current_key(self) -> Any:
        item = self.list.currentItem()
        return None if item is None else item.data(_KEY)

    def keys(self) -> list[Any]:
        return [item.data(_KEY) for item in self._items()]

    def rename_inline(self, key: Any) -> None:
        """Edit the title in place (Enter saves, Esc cancels)."""
        item = self._item(key)
        if item is not None:
            blocked = self.list.blockSignals(True)
            item.setText(str(item.data(_TITLE)))
            self.list.blockSignals(blocked)
            self.list.editItem(item)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        """An inline edit ended: the text is the new title."""
        if item.data(_HEADING):
            return
        title = " ".join(item.text().split())
        if title.startswith("● ") or title == item.data(_TITLE):
            return
        if title:
            self.renameRequested.emit(item.data(_KEY), title)
        else:
            self._refresh(item)

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(_HEADING):
            return
        menu = QMenu(self)
        for group in self.chat_commands(item.data(_KEY)):
            if menu.actions():
                menu.addSeparator()
            for name, run in group:
                menu.addAction(name.replace("&", "&&"), run)
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def chat_commands(self, key: Any) -> list[list[tuple[str, Callable[[], None]]]]:
        """What can be done to conversation `key`, in groups: its context menu, and the
        command palette's "this chat" entries."""
        pinned = self.is_pinned(key)
        return [
            [
                ("Rename", lambda: self.rename_inline(key)),
                ("Unpin" if pinned else "Pin", lambda: self.pinRequested.emit(key, not pinned)),
                ("System prompt & parameters…", lambda: self.settingsRequested.emit(key)),
            ],
            [
                ("Export as Markdown…", lambda: self.exportRequested.emit(key, "md")),
                ("Export as JSON…", lambda: self.exportRequested.emit(key, "json")),
            ],
            [("Delete", lambda: self.deleteRequested.emit(key))],
        ]

    # -- undo bar --------------------------------------------------------------------------

    def show_undo(self, text: str, ms: int) -> None:
        """`text` beside the Undo button for `ms` milliseconds: cut with "…" to the sidebar's
        width (a long title would be cut mid-letter), whole in its tooltip."""
        room = self.width() - self.undo_button.sizeHint().width() - 32
        metrics = self.undo_label.fontMetrics()
        self.undo_label.setText(metrics.elidedText(text, QtCore.Qt.TextElideMode.ElideRight, room))
        self.undo_label.setToolTip(plain_tooltip(text))
        self.undo_bar.show()
        self._undo_timer.start(ms)

    def _undo(self) -> None:
        self._undo_timer.stop()
        self.undo_bar.hide()
        self.undoRequested.emit()

    # -- search ----------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _on_search_text(self, text: str) -> None:
        if text.strip():
            self._search_timer.start()
        else:
            self._search_timer.stop()
            if self._results is not None:
                self._results.hide()
            self.list.show()

    def _run_search(self) -> None:
        self._search_timer.stop()
        if self.search.text().strip():
            self.searchRequested.emit(self.search.text())

    def show_results(self, hits: list[SearchHit], _text: str = "") -> None:
        if not self.search.text().strip():
            return
        self.results.show_hits(hits)
        self.list.hide()
        self.results.show()

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None and not current.data(_HEADING):
            self.currentChanged.emit(current.data(_KEY))


def section_of(pinned: bool, when: float | None, today: date) -> str:
    """The heading a conversation is listed under."""
    from datetime import datetime, timedelta

    if pinned:
        return "Pinned"
    day = today if when is None else datetime.fromtimestamp(when).date()
    if day >= today:
        return "Today"
    return "Yesterday" if day == today - timedelta(days=1) else "Earlier"


def _heading_item(text: str) -> QListWidgetItem:
    """A quiet, unselectable heading row (drawn as a disabled item: secondary text)."""
    item = QListWidgetItem(text)
    item.setData(_HEADING, True)
    item.setFlags(QtCore.Qt.ItemFlag.NoItemFlags)
    font = item.font()
    font.setBold(True)
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
    item.setFont(font)
    return item
