"""The transcript with history actions: edit, delete, regenerate, ‹ 1/3 › alternatives, earlier
pages, and a highlighted search hit.

A thin subclass of `TranscriptView`: it adds links to each message's header line and a "Load
earlier messages" line at the top, and routes their clicks to signals the history bridge handles.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QUrl, QUrlQuery, Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import QTextEdit, QWidget

from streamdesk.ui.transcript import ACTION_SCHEME, TranscriptView, _Msg

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
        self.verticalScrollBar().valueChanged.connect(self._at_top)

    # -- earlier pages ---------------------------------------------------------------------

    def set_earlier(self, count: int) -> None:
        """How many older turns are not rendered; the next re-render shows a link for them."""
        self._earlier = count

    def clear_messages(self) -> None:
        super().clear_messages()
        if self._earlier:
            c = QTextCursor(self.document())
            text = f"↑ Load earlier messages ({self._earlier} more)"
            c.insertText(text, self._fmt(href=self._href("earlier", m=0)))

    def _at_top(self, value: int) -> None:
        bar = self.verticalScrollBar()
        if self._earlier and value == 0 and bar.maximum() > 0 and not self._scrolling:
            self.earlierRequested.emit()

    def keep_top(self, key: object) -> None:
        """After older messages were prepended: keep message `key` where the reader left it."""
        m = next((x for x in self._msgs if x.key == key), None)
        if m is None or m.frame is None:
            return
        top = self.document().documentLayout().frameBoundingRect(m.frame).top()
        self._following = False
        self._scrolling = True
        try:
            self.verticalScrollBar().setValue(int(top))
        finally:
            self._scrolling = False

    # -- links on each message -------------------------------------------------------------

    def _open_frame(self, m: _Msg) -> None:
        super()._open_frame(m)
        if not self.history_actions or m.frame is None:
            return
        links: list[tuple[str, str, int]] = []
        alt = self.alt_info(m.key)  # a regenerated reply, or an edited prompt
        if alt is not None and alt[1] > 1:
            links += [("‹", "alt-prev", m.id), (f"{alt[0]}/{alt[1]}", "", 0)]
            links += [("›", "alt-next", m.id)]
        if m.role == "user":
            links += [("Edit", "edit", m.id), ("Delete", "delete", m.id)]
        else:
            links += [("Regenerate", "regenerate", m.id), ("Delete", "delete", m.id)]
        c = QTextCursor(self.document())
        c.setPosition(m.frame.lastPosition())  # the end of the header line
        for text, verb, num in links:
            c.insertText("  ", QTextCharFormat())
            fmt = self._fmt(href=self._href(verb, m=num)) if verb else self._fmt(dim=True)
            c.insertText(text, fmt)

    def _add_failure(self, m: _Msg) -> None:
        """A stored partial, stopped or failed reply reopens with the action that fits it."""
        if m.live is None and not m.actions and m.status != "complete":
            m.actions = ("continue",) if m.text else ("retry",)
        super()._add_failure(m)

    def _on_anchor(self, url: QUrl) -> None:
        q = QUrlQuery(url)
        verb = url.path()
        own = url.scheme() == ACTION_SCHEME and q.queryItemValue("t") == self._nonce
        if not own or verb not in _VERBS:
            super()._on_anchor(url)
            return
        if verb == "earlier":
            self.earlierRequested.emit()
            return
        num = int(q.queryItemValue("m") or -1)
        m = next((x for x in self._msgs if x.id == num), None)
        if m is None:
            return
        if verb == "edit":
            self.editRequested.emit(m.key)
        elif verb == "delete":
            self.deleteRequested.emit(m.key)
        elif verb == "regenerate":
            self.regenerateRequested.emit(m.key)
        else:
            self.alternativeRequested.emit(m.key, -1 if verb == "alt-prev" else 1)

    # -- search hits -----------------------------------------------------------------------

    def has_key(self, key: object) -> bool:
        return any(m.key == key for m in self._msgs)

    def highlight(self, key: object, terms: list[str]) -> bool:
        """Select the first hit of `terms` in message `key` (else the whole message), show it."""
        m = next((x for x in self._msgs if x.key == key), None)
        if m is None or m.frame is None:
            return False
        doc, first, last = self.document(), m.frame.firstPosition(), self._end(m)
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
        sel.cursor = found  # type: ignore[attr-defined]
        fmt = QTextCharFormat()
        fmt.setBackground(QColor("#7a5d00" if self._dark else "#fff1a8"))
        sel.format = fmt  # type: ignore[attr-defined]
        self.setExtraSelections([sel])
        self._following = False
        self.setTextCursor(found)
        self.ensureCursorVisible()
        self._update_jump()
        return True


_VERBS = frozenset({"earlier", "edit", "delete", "regenerate", "alt-prev", "alt-next"})
