"""The transcript with history actions: edit, delete, regenerate, ‹ 1/3 › alternatives, earlier
pages, and a highlighted search hit.

A thin subclass of `TranscriptView` that uses only its public hooks: `header_links` puts the
links on each message's header line, `add_action_line` the "Load earlier messages" line, and
`actionActivated` routes their clicks to the signals the history bridge handles.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import QTextEdit, QWidget

from streamdesk.ui.transcript.view import TranscriptView

# message key (a reply's, or ("user", key) for a prompt) -> (shown 1-based, count)
AltInfo = Callable[[object], tuple[int, int] | None]


class HistoryTranscriptView(TranscriptView):
    """Emits editRequested(key), deleteRequested(key), regenerateRequested(key),
    alternativeRequested(key, step) and earlierRequested() (a click or a scroll to the top)."""

    editRequested = Signal(object)
    deleteRequested = Signal(object)
    regenerateRequested = Signal(object)
    alternativeRequested = Signal(object, int)
    earlierRequested = Signal()

    def __init__(self, parent: QWidget | None = None, *, dark: bool = False) -> None:
        super().__init__(parent, dark=dark)
        self.alt_info: AltInfo = lambda _key: None
        self.history_actions = False  # links only once the conversation is stored
        self._earlier = 0
        self.header_links = self._links
        self.actionActivated.connect(self._on_action)
        self.verticalScrollBar().valueChanged.connect(self._at_top)

    # -- earlier pages ---------------------------------------------------------------------

    def set_earlier(self, count: int) -> None:
        """How many older turns are not rendered; the next re-render shows a link for them."""
        self._earlier = count

    def clear_messages(self) -> None:
        super().clear_messages()
        if self._earlier:
            self.add_action_line(f"↑ Load earlier messages ({self._earlier} more)", "earlier")

    def _at_top(self, value: int) -> None:
        bar = self.verticalScrollBar()
        if self._earlier and value == 0 and bar.maximum() > 0 and not self.is_auto_scrolling():
            self.earlierRequested.emit()

    def keep_top(self, key: object) -> None:
        """After older messages were prepended: keep message `key` where the reader left it."""
        span = self.message_span(key)
        if span is None:
            return
        block = self.document().findBlock(span[0])
        self.scroll_to(int(self.document().documentLayout().blockBoundingRect(block).top()))

    # -- links on each message -------------------------------------------------------------

    def _links(self, key: object, role: str) -> list[tuple[str, str]]:
        if not self.history_actions:
            return []
        links: list[tuple[str, str]] = []
        alt = self.alt_info(key)  # a regenerated reply, or an edited prompt
        if alt is not None and alt[1] > 1:
            links += [("‹", "alt-prev"), (f"{alt[0]}/{alt[1]}", ""), ("›", "alt-next")]
        if role == "user":
            return [*links, ("Edit", "edit"), ("Delete", "delete")]
        return [*links, ("Regenerate", "regenerate"), ("Delete", "delete")]

    def failure_actions(self, key: object, status: str, has_text: bool) -> tuple[str, ...]:
        """A stored partial, stopped or failed reply reopens with the action that fits it."""
        return ("continue",) if has_text else ("retry",)

    def _on_action(self, action: str, key: object) -> None:
        if action == "earlier":
            self.earlierRequested.emit()
        elif key is None:
            return
        elif action == "edit":
            self.editRequested.emit(key)
        elif action == "delete":
            self.deleteRequested.emit(key)
        elif action == "regenerate":
            self.regenerateRequested.emit(key)
        elif action in ("alt-prev", "alt-next"):
            self.alternativeRequested.emit(key, -1 if action == "alt-prev" else 1)

    # -- search hits -----------------------------------------------------------------------

    def has_key(self, key: object) -> bool:
        return self.message_span(key) is not None

    def highlight(self, key: object, terms: list[str]) -> bool:
        """Select the first hit of `terms` in message `key` (else the whole message), show it."""
        span = self.message_span(key)
        if span is None:
            return False
        doc, (first, last) = self.document(), span
        found = QTextCursor()
        for term in terms:
            hit = doc.find(term, first, QTextDocument.FindFlag(0))
            if not hit.isNull() and hit.selectionEnd() <= last:
                found = hit
                break
        if found.isNull():
            found = QTextCursor(doc)
            found.setPosition(first)
            found.setPosition(last, QTextCursor.MoveMode.KeepAnchor)
        sel = QTextEdit.ExtraSelection()
        sel.cursor = found
        fmt = QTextCharFormat()
        fmt.setBackground(QColor("#7a5d00" if self.is_dark() else "#fff1a8"))
        sel.format = fmt
        self.setExtraSelections([sel])
        at = QTextCursor(found)  # no selection: the (blue) selection would hide the yellow mark
        at.setPosition(found.selectionStart())
        self.reveal(at)
        return True
