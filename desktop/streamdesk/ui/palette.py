"""The command palette (Ctrl+K): one filterable list of actions, conversations, models and
assistants.

Type to filter (every word must appear, in any order), Up/Down to move, Enter to run, Escape to
close. The palette knows nothing about the window: whoever opens it passes `PaletteEntry`s, each
with the function that runs it. It is an overlay inside the window (not a separate top-level), so
it moves with the window and shows up in the window's screenshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6 import QtCore
from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QRect, Signal
from PySide6.QtGui import QColor, QFocusEvent, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsDropShadowEffect,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from streamdesk.ui.plain_text import plain_tooltip

WIDTH = 560
MAX_ROWS = 12
_ENTRY_ROLE = 256  # Qt.ItemDataRole.UserRole: the row's PaletteEntry


@dataclass(frozen=True)
class PaletteEntry:
    """One row: `title`, its `kind` ("Action", "Chat", "Model", "Assistant") and `detail` (a
    shortcut, a provider, a description), right-aligned; `run` is called when it is chosen."""

    kind: str
    title: str
    run: Callable[[], object]
    detail: str = ""

    def haystack(self) -> str:
        return f"{self.kind} {self.title} {self.detail}".casefold()


def matches(entries: Iterable[PaletteEntry], query: str) -> list[PaletteEntry]:
    """Entries holding every word of `query`; titles that start with the query come first."""
    words = query.casefold().split()
    found = [e for e in entries if all(w in e.haystack() for w in words)]
    if words:
        text = " ".join(words)
        found.sort(
            key=lambda e: (not e.title.casefold().startswith(text), text not in e.title.casefold())
        )
    return found


class _RowDelegate(QStyledItemDelegate):
    """Draws the kind and detail of a row right-aligned in the secondary text colour."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        entry = index.data(_ENTRY_ROLE)
        if not isinstance(entry, PaletteEntry):
            return
        kind = "" if entry.kind == "Action" else entry.kind  # actions show their shortcut
        note = " · ".join(p for p in (entry.detail, kind) if p)
        rect: QRect = option.rect.adjusted(0, 0, -12, 0)
        painter.save()
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        align = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        painter.drawText(rect, align, note)
        painter.restore()


class CommandPalette(QFrame):
    """`open(entries)` shows it over its parent; `chosen(entry)` after an entry has run."""

    chosen = Signal(object)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("palette")
        shadow = QGraphicsDropShadowEffect(self)
        shadow.setBlurRadius(28)
        shadow.setOffset(0, 6)
        shadow.setColor(QColor(0, 0, 0, 90))
        self.setGraphicsEffect(shadow)
        self.field = QLineEdit(self)
        self.field.setPlaceholderText("Type a command, a chat, a model or an assistant…")
        self.list = QListWidget(self)
        self.list.setItemDelegate(_RowDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the field keeps the focus
        self.list.setProperty("horizontalScrollBarPolicy", 1)  # ScrollBarAlwaysOff
        self.list.setProperty("textElideMode", 1)  # ElideRight
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.field)
        layout.addWidget(self.list)
        self._entries: list[PaletteEntry] = []
        self.field.textChanged.connect(self._filter)
        self.field.installEventFilter(self)
        self.list.itemActivated.connect(self._run)
        self.list.itemClicked.connect(self._run)
        self.hide()

    def open(self, entries: list[PaletteEntry]) -> None:
        """Show all `entries`, the field empty and focused."""
        self._entries = entries
        self.field.clear()
        self._filter("")
        self._place()
        self.show()
        self.raise_()
        self.field.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)

    def close_palette(self) -> None:
        self.hide()
        parent = self.parentWidget()
        if parent is not None:
            parent.setFocus()

    def shown(self) -> list[PaletteEntry]:
        """The entries the filter lets through, in their order."""
        return [self.list.item(r).data(_ENTRY_ROLE) for r in range(self.list.count())]

    def current(self) -> PaletteEntry | None:
        item = self.list.currentItem()
        entry = None if item is None else item.data(_ENTRY_ROLE)
        return entry if isinstance(entry, PaletteEntry) else None

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        width = min(WIDTH, parent.width() - 40)
        margins = self.contentsMargins()
        layout = self.layout()
        spacing = layout.spacing() if layout is not None else 0
        inner = layout.contentsMargins() if layout is not None else margins
        chrome = (
            self.field.sizeHint().height()
            + spacing
            + margins.top()
            + margins.bottom()
            + inner.top()
            + inner.bottom()
        )
        row = self.list.sizeHintForRow(0) if self.list.count() else 28
        frame = 2 * self.list.frameWidth()
        rows = max(1, min(MAX_ROWS, (parent.height() - 80 - chrome - frame) // row))
        self.list.setFixedHeight(rows * row + frame)  # whole rows: none shown cut in half
        self.setGeometry((parent.width() - width) // 2, 48, width, chrome + rows * row + frame)

    def _filter(self, text: str) -> None:
        self.list.clear()
        for entry in matches(self._entries, text):
            item = QListWidgetItem(entry.title)
            item.setData(_ENTRY_ROLE, entry)
            item.setToolTip(plain_tooltip(entry.title))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _run(self, item: QListWidgetItem | None) -> None:
        entry = None if item is None else item.data(_ENTRY_ROLE)
        if not isinstance(entry, PaletteEntry):
            return
        self.close_palette()
        entry.run()
        self.chosen.emit(entry)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The field keeps the focus; arrows, Page keys, Enter and Escape act on the list."""
        if watched is self.field and isinstance(event, QKeyEvent):
            if event.type() != QEvent.Type.KeyPress:
                return False
            key = event.key()
            k = QtCore.Qt.Key
            if key == k.Key_Escape:
                self.close_palette()
                return True
            if key in (k.Key_Return, k.Key_Enter):
                self._run(self.list.currentItem())
                return True
            if key in (k.Key_Up, k.Key_Down, k.Key_PageUp, k.Key_PageDown):
                self._move(key)
                return True
        elif watched is self.field and isinstance(event, QFocusEvent) and event.lostFocus():
            reason = event.reason()
            away = QtCore.Qt.FocusReason  # clicked or tabbed elsewhere, not a window switch
            if reason not in (away.ActiveWindowFocusReason, away.PopupFocusReason):
                self.hide()
        return False

    def _move(self, key: int) -> None:
        k = QtCore.Qt.Key
        count = self.list.count()
        if not count:
            return
        step = {k.Key_Up: -1, k.Key_Down: 1, k.Key_PageUp: -MAX_ROWS, k.Key_PageDown: MAX_ROWS}
        row = self.list.currentRow() + step[QtCore.Qt.Key(key)]
        self.list.setCurrentRow(max(0, min(count - 1, row)))
