"""Full-text search results under the sidebar's search field: title, role and a snippet with
the matched words highlighted (the store marks them with control characters; we escape the rest)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QWidget

if TYPE_CHECKING:  # the store (SQLite, ~30 ms) loads after the window's first paint
    from streamdesk.core.store.history import SearchHit

_HIT = Qt.ItemDataRole.UserRole


def snippet_html(snippet: str) -> str:
    """Escape the snippet, then turn the store's markers into highlighted spans."""
    from streamdesk.core.store.history import HIGHLIGHT_END, HIGHLIGHT_START

    text = html.escape(" ".join(snippet.split()))
    return text.replace(HIGHLIGHT_START, '<span style="background:#ffd33d;color:#1f2328">').replace(
        HIGHLIGHT_END, "</span>"
    )


class SearchResults(QListWidget):
    """Emits hitActivated(SearchHit) when a result is clicked or chosen with Enter."""

    hitActivated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchResults")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.itemActivated.connect(self._activate)
        self.itemClicked.connect(self._activate)

    def show_hits(self, hits: list[SearchHit]) -> None:
        self.clear()
        if not hits:
            item = QListWidgetItem("No messages match.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
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
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setContentsMargins(4, 3, 4, 3)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            item.setSizeHint(QSize(10, label.sizeHint().height() + 18))
            self.addItem(item)
            self.setItemWidget(item, label)

    def hits(self) -> list[SearchHit]:
        return [h for i in range(self.count()) if (h := self.item(i).data(_HIT)) is not None]

    def activate(self, row: int) -> None:
        self._activate(self.item(row))

    def _activate(self, item: QListWidgetItem | None) -> None:
        hit = None if item is None else item.data(_HIT)
        if hit is not None:
            self.hitActivated.emit(hit)
