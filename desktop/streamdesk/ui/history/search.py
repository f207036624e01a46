"""Full-text search results under the sidebar's search field, and placing an opened hit.

Each result is the conversation's title on one line (elided with "…", the whole title in the
tooltip), who wrote the message, and a snippet with the matched words highlighted (the store
marks them with control characters; we escape the rest). An opened hit is placed a third of the
way down the transcript, so the lines before it show where it sits.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6 import QtCore
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QFont, QPalette, QResizeEvent, QTextCursor, QTextLayout, QTextOption
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from streamdesk.ui.plain_text import make_plain, plain_tooltip

if TYPE_CHECKING:  # the store (SQLite, ~30 ms) loads after the window's first paint
    from streamdesk.core.store.history import SearchHit
    from streamdesk.ui.transcript.view import TranscriptView

_HIT = 256  # Qt.ItemDataRole.UserRole (see conversation_list on QtCore.Qt)
CONTEXT_SHARE = 3  # an opened hit sits 1/3 of the way down the view
SNIPPET_LINES = 3


def snippet_html(snippet: str, font: QFont | None = None, width: int = 0) -> str:
    """Markdown markers stripped, the rest escaped, the store's markers turned into highlights;
    given a `font` and `width`, cut with "…" after `SNIPPET_LINES` whole lines."""
    from streamdesk.core.store.history import HIGHLIGHT_END, HIGHLIGHT_START, plain_snippet

    marked = plain_snippet(snippet)
    if font is not None and width > 0:
        marked = _whole_lines(marked, font, width)
    text = html.escape(marked)
    return text.replace(HIGHLIGHT_START, '<span style="background:#ffd33d;color:#1f2328">').replace(
        HIGHLIGHT_END, "</span>"
    )


def _whole_lines(marked: str, font: QFont, width: int) -> str:
    """`marked` (text with highlight markers) cut to what `SNIPPET_LINES` lines of `width`
    hold, ending in "…": a row then shows whole lines, never a line cut through."""
    from streamdesk.core.store.history import HIGHLIGHT_END, HIGHLIGHT_START

    markers = (HIGHLIGHT_START, HIGHLIGHT_END)
    visible = "".join(ch for ch in marked if ch not in markers)
    layout = QTextLayout(visible, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.beginLayout()
    ends: list[int] = []
    while len(ends) <= SNIPPET_LINES:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        ends.append(line.textStart() + line.textLength())
    layout.endLayout()
    if len(ends) <= SNIPPET_LINES:
        return marked
    keep = max(0, ends[SNIPPET_LINES - 1] - 2)  # room for the "…" on the last line
    out: list[str] = []
    shown = 0
    for ch in marked:
        if ch not in markers:
            if shown == keep:
                break
            shown += 1
        out.append(ch)
    cut = "".join(out).rstrip()
    if cut.count(HIGHLIGHT_START) > cut.count(HIGHLIGHT_END):
        cut += HIGHLIGHT_END
    return cut + "…"


class ElidedLabel(QLabel):
    """One line of plain text cut with "…" to the label's width; the whole text in the tooltip.

    Its minimum width is small, so a long title never widens the sidebar or pushes its
    neighbours out: it gives up characters instead.
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        make_plain(self)  # a title from a prompt or an imported file
        self.full_text = text
        self.setToolTip(plain_tooltip(text))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(24)
        self.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        shown = self.fontMetrics().elidedText(
            self.full_text, QtCore.Qt.TextElideMode.ElideRight, max(0, self.width())
        )
        if shown != self.text():
            self.setText(shown)

    def sizeHint(self) -> QSize:
        return QSize(
            self.fontMetrics().horizontalAdvance(self.full_text), super().sizeHint().height()
        )


class HitRow(QWidget):
    """One result: the title (elided) and who wrote it on top, the snippet under them."""

    def __init__(self, hit: SearchHit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.title = ElidedLabel(hit.conversation_title or "Untitled", self)
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.who = QLabel("You" if hit.role == "user" else "Assistant", self)
        self.who.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # quiet, in both themes
        self.hit_snippet = hit.snippet
        self.snippet = QLabel(snippet_html(hit.snippet), self)
        self.snippet.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.snippet.setWordWrap(True)
        self.snippet.setToolTip(self.title.toolTip())
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(6)
        top.addWidget(self.title, 1)
        top.addWidget(self.who)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(6, 6, 6, 6)
        self.column.setSpacing(2)
        self.column.addLayout(top)
        self.column.addWidget(self.snippet)

    def height_for(self, width: int) -> int:
        """The row's height at `width`: one title line and the snippet, cut to a few whole
        lines at this width."""
        margins = self.column.contentsMargins()
        inner = max(60, width - margins.left() - margins.right())
        self.snippet.setText(snippet_html(self.hit_snippet, self.snippet.font(), inner))
        snippet = self.snippet.heightForWidth(inner)
        title = max(self.title.sizeHint().height(), self.who.sizeHint().height())
        return margins.top() + title + self.column.spacing() + snippet + margins.bottom()


class SearchResults(QListWidget):
    """Emits hitActivated(SearchHit) when a result is clicked or chosen with Enter."""

    hitActivated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchResults")
        self.setProperty("horizontalScrollBarPolicy", 1)  # Qt.ScrollBarAlwaysOff
        # The rows keep their own text colours: a translucent selection keeps them readable in
        # both themes (the default blue made the title black on dark blue).
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
            row = HitRow(hit)
            item.setToolTip(row.title.toolTip())
            self.addItem(item)
            self.setItemWidget(item, row)
        self._fit()

    def rows(self) -> list[HitRow]:
        return [
            r for i in range(self.count()) if isinstance(r := self.itemWidget(self.item(i)), HitRow)
        ]

    def _fit(self) -> None:
        """Each row as tall as its text at the list's width (the scroll bar's width is always
        set aside: it may appear after this)."""
        width = self.width() - 2 * self.frameWidth() - self.verticalScrollBar().sizeHint().width()
        for i in range(self.count()):
            item = self.item(i)
            row = self.itemWidget(item)
            if isinstance(row, HitRow):
                item.setSizeHint(QSize(10, row.height_for(width)))

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


def place_in_context(view: TranscriptView) -> bool:
    """Scroll the view so its highlighted hit sits a third of the way down, with the text
    before it in sight (not on the top or bottom edge). False when nothing is highlighted."""
    marks: list[QTextEdit.ExtraSelection] = view.extraSelections()
    if not marks:
        return False
    at = QTextCursor(marks[0].cursor)
    at.setPosition(at.selectionStart())
    bar = view.verticalScrollBar()
    top = bar.value() + view.cursorRect(at).top()
    view.scroll_to(max(0, top - view.viewport().height() // CONTEXT_SHARE))
    return True
