"""Full-text search results under the sidebar's search field: title, role and a snippet with
the matched words highlighted (the store marks them with control characters; we escape the rest)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6 import QtCore
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QWidget

if TYPE_CHECKING:  # the store (SQLite, ~30 ms) loads after the window's first paint
    from streamdesk.core.store.history import SearchHit

_HIT = 256  # Qt.ItemDataRole.UserRole (see conversation_list on QtCore.Qt)


def snippet_html(snippet: str) -> str:
    """Markdown markers stripped, the rest escaped, the store's markers turned into highlights."""
    from streamdesk.core.store.history import HIGHLIGHT_END, HIGHLIGHT_START, plain_snippet

    text = html.escape(plain_snippet(snippet))
    return text.replace(HIGHLIGHT_START, '<span style="background:#ffd33d;color:#1f2328">').replace(
        HIGHLIGHT_END, "</span>"
    )


class SearchResults(QListWidget):
    """Emits hitActivated(SearchHit) when a result is clicked or chosen with Enter."""

    hitActivated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchResults")
        self.setProperty("horizontalScrollBarPolicy", 1)  # Qt.ScrollBarAlwaysOff
        # The rows are rich-text labels that keep their own text colours: a translucent
        # selection keeps them readable in both themes (the default blue made the title black
        # on dark blue).
        self.setStyleSheet(
            "QListWidget#searchResults::item:selected { background: rgba(9, 105, 218, 0.22); }"
        )
        self.itemActivated.connect(self._activate)
        self.itemClicked.connect(self._activate)

    def show_hits(self, hits: list[SearchHit]) -> None:
        self.clear()
        if not hits:
            item = QListWidgetItem("No messages match.")
            item.setFlags(QtCore.Qt.ItemFlag.NoItemFlags)
            self.addItem(item)
            return
        for hit in hits:
            item = QListWidgetItem()
            item.setData(_HIT, hit)
            label = QLabel(
                f"<b>{html.escape(hit.conversation_title or 'Untitled')}</b>"
                f' <span style="color:gray">· {"You" if hit.role == "user" else "Assistant"}'
                f"</span><br>{snippet_html(hit.snippet)}"
            )
            label.setWordWrap(True)
            label.setTextFormat(QtCore.Qt.TextFormat.RichText)
            label.setContentsMargins(4, 3, 4, 3)
            label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            self.addItem(item)
            self.setItemWidget(item, label)
        self._fit()

    def _fit(self) -> None:
        """Each row as tall as its wrapped text at the list's width.

        QLabel.sizeHint() wraps at a guessed width, which left gaps under some results and cut
        others off; the scroll bar's width is always set aside (it may appear after this).
        """
        width = self.width() - 2 * self.frameWidth() - self.verticalScrollBar().sizeHint().width()
        for i in range(self.count()):
            item = self.item(i)
            label = self.itemWidget(item)
            if isinstance(label, QLabel):
                item.setSizeHint(QSize(10, label.heightForWidth(max(80, width)) + 8))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def hits(self) -> list[SearchHit]:
        return [h for i in range(self.count()) if (h := self.item(i).data(_HIT)) is not None]

    def activate(self, row: int) -> None:
        self._activate(self.item(row))

    def _activate(self, item: QListWidgetItem | None) -> None:
        hit = None if item is None else item.data(_HIT)
        if hit is not None:
            self.hitActivated.emit(hit)
