"""The transcript with history actions: edit, delete, regenerate, ‹ 1/3 › alternatives, earlier
pages, and a highlighted search hit.

A thin subclass of `TranscriptView` that uses only its public hooks: `header_links` puts the
links on each message's header line, `set_lead_line` the "Load earlier messages" line, and
`actionActivated` routes their clicks to the signals the history bridge handles. Earlier pages
are asked for while the reader is within a screen of the top (and while the messages shown do
not fill the screen), newer ones that were dropped while the reader is within a screen of the
bottom, one step per turn of the event loop, so no frame waits for a whole page.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QShowEvent,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QTextEdit, QWidget

from streamdesk.ui.transcript.view import TranscriptView

# message key (a reply's, or ("user", key) for a prompt) -> (shown 1-based, count)
AltInfo = Callable[[object], tuple[int, int] | None]


class HistoryTranscriptView(TranscriptView):
    """Emits editRequested(key), deleteRequested(key), regenerateRequested(key),
    alternativeRequested(key, step), earlierRequested() (a click on the line, or the reader
    within a screen of the top), laterRequested() (the reader within a screen of the bottom
    while newer messages are not drawn), latestRequested() ("Jump to latest" or Ctrl+End
    while newer messages are not drawn), firstRequested() (Ctrl+Home while earlier messages
    are not drawn) and latestReached() (the reader is back at the newest message)."""

    editRequested = Signal(object)
    deleteRequested = Signal(object)
    regenerateRequested = Signal(object)
    alternativeRequested = Signal(object, int)
    earlierRequested = Signal()
    laterRequested = Signal()
    latestRequested = Signal()
    firstRequested = Signal()
    latestReached = Signal()

    def __init__(self, parent: QWidget | None = None, *, dark: bool = False) -> None:
        super().__init__(parent, dark=dark)
        self.alt_info: AltInfo = lambda _key: None
        self.history_actions = False  # links only once the conversation is stored
        self._earlier = 0
        self._later = 0
        self._inserting = False
        self._check = QTimer(self)  # the next look at the edges, after this turn of the loop
        self._check.setSingleShot(True)
        self._check.setInterval(0)
        self._check.timeout.connect(self._near_edge)
        self.header_links = self._links
        self.actionActivated.connect(self._on_action)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_value)
        bar.rangeChanged.connect(lambda _lo, _hi: self._check.start())

    # -- earlier and later pages -----------------------------------------------------------

    def set_earlier(self, count: int) -> None:
        """How many older messages are not shown: the lead line says so (none: no line)."""
        self._earlier = count
        self.set_lead_line(f"↑ Load earlier messages ({count} more)" if count else "", "earlier")
        self._check.start()

    def earlier(self) -> int:
        return self._earlier

    def set_later(self, count: int) -> None:
        """How many newer messages are not drawn (the reader is far above them)."""
        self._later = count
        self._check.start()

    def later(self) -> int:
        return self._later

    def clear_messages(self) -> None:
        super().clear_messages()
        if self._earlier:
            self.set_lead_line(f"↑ Load earlier messages ({self._earlier} more)", "earlier")

    def insert_above(self, key: object, add: Callable[[], None], earlier: int) -> None:
        """Run `add`, which adds earlier messages, above message `key`, and say that `earlier`
        are left, in one document edit; the reader keeps the place they were reading (or keeps
        following the newest)."""
        bar = self.verticalScrollBar()
        following = self.is_following()
        before, value = self._top_of(key), bar.value()
        self._inserting = True
        try:
            with self.adding_above(key):
                add()
                self.set_earlier(earlier)
        finally:
            self._inserting = False
        if following:
            super().jump_to_latest()
        else:
            self.scroll_to(value + self._top_of(key) - before)

    def remove_above(self, key: object) -> int:
        """Remove the messages above message `key`; the reader keeps their place."""
        bar = self.verticalScrollBar()
        before, value = self._top_of(key), bar.value()
        self._inserting = True
        try:
            removed = self.drop_messages_above(key)
        finally:
            self._inserting = False
        if not self.is_following():
            self.scroll_to(value + self._top_of(key) - before)
        return removed

    def far_below(self, key: object) -> bool:
        """Message `key` is drawn and starts more than two screens below the reader's."""
        screen = self.viewport().height()
        bottom = self.verticalScrollBar().value() + 3 * screen
        return self.has_key(key) and self._top_of(key) >= bottom

    def remove_below(self, key: object, later: int) -> None:
        """Remove message `key` and the messages below it (`later` in all then not drawn)."""
        self._later = later
        self._inserting = True
        try:
            self.drop_messages_from(key)
        finally:
            self._inserting = False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Ctrl+Home (or Home) goes to the conversation's first message, Ctrl+End (or End) to
        its newest, drawn or not: the scroll bar spans only the drawn ones."""
        key = event.key()
        if key == Qt.Key.Key_Home:
            if self._earlier:
                self.firstRequested.emit()
            self.scroll_to(0)
        elif key == Qt.Key.Key_End:
            self.jump_to_latest()
        else:
            super().keyPressEvent(event)

    def jump_to_latest(self) -> None:
        """The jump to the newest message asks for newer messages that are not drawn first."""
        if self._later:
            self.latestRequested.emit()
        super().jump_to_latest()

    def _top_of(self, key: object) -> int:
        span = self.message_span(key)
        if span is None:
            return 0
        block = self.document().findBlock(span[0])
        return int(self.document().documentLayout().blockBoundingRect(block).top())

    def showEvent(self, event: QShowEvent) -> None:
        """Qt scrolls to the text cursor the first time a text view is shown: not the reader's
        doing, so a view that followed the newest message (a conversation just opened) still
        shows it."""
        following = self.is_following()
        super().showEvent(event)
        if following and not self.is_following():
            super().jump_to_latest()

    def _on_value(self, value: int) -> None:
        bar = self.verticalScrollBar()
        if self.is_auto_scrolling() or self._inserting:
            return
        if value >= bar.maximum() - 4 and bar.maximum() > 0 and not self._later:
            self.latestReached.emit()
        self._check.start()

    def _near_edge(self) -> None:
        """Ask for earlier (later) messages while the reader is within a screen of the top
        (bottom)."""
        if self._inserting or not self.isVisible():
            return
        bar, screen = self.verticalScrollBar(), self.viewport().height()
        if self._earlier and bar.value() <= screen:
            self.earlierRequested.emit()
        elif self._later and bar.value() >= bar.maximum() - screen:
            self.laterRequested.emit()

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
