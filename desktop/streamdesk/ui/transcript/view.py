"""The transcript widget: messages, the streaming reply, links, copy and auto-scroll.

The document's contents are laid out by its `DocumentLayout`; the streaming reply's handle is
`ReplyView`. Model text is never interpreted as HTML and nothing is fetched because of it
(`safe_document`).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QGuiApplication,
    QPalette,
    QResizeEvent,
    QTextCursor,
    QTextOption,
)
from PySide6.QtWidgets import QTextBrowser, QToolButton, QWidget

from streamdesk.core.attachments import Attachment
from streamdesk.ui.tools.state import RoundState
from streamdesk.ui.transcript.layout import (
    ACTION_SCHEME,
    ACTION_TIPS,
    SYNC_HIGHLIGHT,
    DocumentLayout,
    FailureActions,
    HeaderLinks,
)
from streamdesk.ui.transcript.message import Message
from streamdesk.ui.transcript.reply_view import ReplyView
from streamdesk.ui.transcript.safe_document import SafeDocument, is_safe_external

__all__ = ["ACTION_SCHEME", "SYNC_HIGHLIGHT", "HeaderLinks", "ReplyView", "TranscriptView"]

_RESTYLED = (QEvent.Type.PaletteChange, QEvent.Type.StyleChange)
_BUILTIN = frozenset({"copy-code", "copy-msg", "toggle", "retry", "continue"})

# Qt's raster engine splits every fill taller than 64 lines across a thread pool and waits for
# it; for narrow fills (scroll bar, frame borders) the hand-off costs more than the fill: several
# times the fill itself per scroll-bar paint on 2 cores (measured). Read when the pool is first
# created, i.e. at the first paint, so setting it at import is early enough.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


def _actions_of(view: TranscriptView) -> FailureActions:
    """`view.failure_actions`, looked up at each call (a subclass's override or a later
    assignment applies) through a weak reference: a layout that held the view itself would
    make a cycle, which Python's collector may free on whatever thread it runs, and a Qt
    widget destroyed off the GUI thread crashes the process."""
    held = weakref.ref(view)

    def actions(key: object, status: str, has_text: bool) -> tuple[str, ...]:
        shown = held()
        return () if shown is None else shown.failure_actions(key, status, has_text)

    return actions


MIN_OPENING_HEIGHT = 600  # px: a view not laid out yet colours at least this much at once


class TranscriptView(QTextBrowser):
    """Read-only transcript; model text is never interpreted as HTML, nothing is fetched.

    Extension points (for views that add actions, e.g. the history's): `header_links`,
    `failure_actions`, `add_action_line` and the `actionActivated(action, key)` signal; and
    `message_span`, `scroll_to`, `reveal` to find and show a message.
    """

    retryRequested = Signal(object)
    continueRequested = Signal(object)
    copyRequested = Signal(str)
    linkActivated = Signal(QUrl)
    # The URL under the mouse ("" when it leaves a link), for a status bar.
    linkHovered = Signal(str)
    # A sentence for the status bar: a clicked link that could not be opened, and why.
    linkFailed = Signal(str)
    # A link from `header_links` or `add_action_line` was clicked: (action, message key or None).
    actionActivated = Signal(str, object)

    def __init__(self, parent: QWidget | None = None, *, dark: bool = False) -> None:
        super().__init__(parent)
        self._doc = SafeDocument(self)
        self.setDocument(self._doc)
        # Opens a clicked web link; False when the desktop could not (tests replace it).
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        self._layout = DocumentLayout(self._doc, dark=dark, failure_actions=_actions_of(self))
        self.setReadOnly(True)
        # Lines wrap at the viewport at a space, a word longer than the line anywhere: the
        # page never scrolls sideways (code lines and tables are laid out counting on it).
        self.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self._following = True
        self._scrolling = False
        self._editing: object = None  # key of the prompt being edited, outlined
        self.anchorClicked.connect(self._on_anchor)
        self.highlighted.connect(self._on_hover)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)
        self._jump = QToolButton(self.viewport())
        self._jump.setText("↓ Jump to latest")
        self._jump.setToolTip("Scroll to the newest message and follow the reply")
        self._jump.setObjectName("jumpToLatest")
        self._jump.clicked.connect(self.jump_to_latest)
        self._jump.hide()
        self._apply_palette()
        self.setFrameShape(QTextBrowser.Shape.NoFrame)

    # -- public API ------------------------------------------------------------------------

    @property
    def header_links(self) -> HeaderLinks:
        """(message key, role) -> the links on that message's header line, as (text, action);
        an empty action shows the text dimmed, without a link. A click emits actionActivated."""
        return self._layout.header_links

    @header_links.setter
    def header_links(self, links: HeaderLinks) -> None:
        self._layout.header_links = links

    def add_user_message(
        self, text: str, key: object = None, images: Sequence[Attachment] = ()
    ) -> None:
        """A prompt, with its images as thumbnails under its text."""
        m = self._layout.add_message(key, "user", text=text)
        m.images = tuple(images)
        self._layout.render_static(m)
        if key is not None and key == self._editing:
            self._layout.outline(m, True)

    def mark_editing(self, key: object) -> None:
        """Outline prompt `key` as the one being edited in the prompt box (None: none is)."""
        old = self._last_with_key(self._editing) if self._editing is not None else None
        if old is not None:
            self._layout.outline(old, False)
        self._editing = key
        m = self._last_with_key(key) if key is not None else None
        if m is not None:
            self._layout.outline(m, True)

    def editing_key(self) -> object:
        """The key of the prompt outlined as being edited (None: none)."""
        return self._editing

    def begin_assistant(self, key: object = None, *, label: str = "") -> ReplyView:
        for old in self._layout.messages:  # only the last message streams
            if old.live is not None and not old.live.finished:
                old.live.finish("stopped")
        m = self._layout.add_message(key, "assistant", label=label)
        self._layout.open_reply(m)
        m.live = ReplyView(self._layout, m, parent=self, on_finish=self._update_jump)
        self._update_jump()
        return m.live

    def add_assistant_message(
        self,
        text: str,
        *,
        reasoning: str = "",
        status: str = "complete",
        failure_title: str = "",
        failure_text: str = "",
        key: object = None,
        label: str = "",
        tool_rounds: Sequence[RoundState] = (),
        actions: Sequence[str] = (),
    ) -> None:
        """A finished reply drawn at once; `actions` under its mark (none given: those the view
        offers for its status)."""
        m = self._layout.add_message(key, "assistant", label=label, text=text, reasoning=reasoning)
        m.status, m.failure_title, m.failure_text = status, failure_title, failure_text
        m.actions = tuple(actions)
        m.tool_rounds = list(tool_rounds)
        m.collapsed = bool(reasoning)
        self._layout.render_static(m)

    def opening(self) -> AbstractContextManager[None]:
        """Draw the messages added inside as a chat that opens at its newest: the code the
        reader sees first is coloured first (`DocumentLayout.opening`)."""
        return self._layout.opening(max(self.viewport().height(), MIN_OPENING_HEIGHT))

    def clear_messages(self) -> None:
        for m in self._layout.messages:
            if m.live is not None:
                m.live.detach()
        self._layout.clear()
        self._following = True
        self._update_jump()

    def set_dark(self, dark: bool) -> None:
        """Draw every message again in the light or dark theme."""
        if dark != self._layout.dark:
            self._redraw(dark)

    def _redraw(self, dark: bool) -> None:
        """Empty the document and draw every message again (theme or font change): O(all)."""
        layout = self._layout
        layout.start_over(dark=dark)
        layout.set_column(self.viewport().width())
        self._apply_palette()
        with layout.batch():
            for m in layout.messages:
                if m.live is not None:
                    layout.open_reply(m)
                    m.live.rebuild()
                else:
                    layout.render_static(m)
                    if m.key is not None and m.key == self._editing:
                        layout.outline(m, True)

    @property
    def column_width(self) -> int:
        """Width in px of the reading column's text (it follows the body font)."""
        return self._layout.column_width

    def message_count(self) -> int:
        """How many messages are rendered (prompts and replies)."""
        return len(self._layout.messages)

    def _apply_palette(self) -> None:
        c = self._layout.colors
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Base, QColor(c["page"]))
        pal.setColor(QPalette.ColorRole.Text, QColor(c["text"]))
        pal.setColor(QPalette.ColorRole.Link, QColor(c["highlight"]))
        self.setPalette(pal)
        self.viewport().setPalette(pal)  # the page: a style sheet may have given it its own
        self._jump.setStyleSheet(
            f"QToolButton {{ background: {c['base']}; color: {c['text']};"
            f" border: 1px solid {c['border']}; border-radius: 12px; padding: 4px 12px; }}"
        )

    def _palette_is_current(self) -> bool:
        c = self._layout.colors
        return all(
            pal.base().color() == QColor(c["page"]) and pal.text().color() == QColor(c["text"])
            for pal in (self.palette(), self.viewport().palette())
        )

    def is_following(self) -> bool:
        return self._following

    def jump_to_latest(self) -> None:
        self._following = True
        self._scroll_to_end()
        self._update_jump()

    def plain_text_of(self, key: object) -> str:
        m = self._last_with_key(key)
        return m.shown_text if m is not None else ""

    def _last_with_key(self, key: object) -> Message | None:
        return next((m for m in reversed(self._layout.messages) if m.key == key), None)

    def failure_actions(self, key: object, status: str, has_text: bool) -> tuple[str, ...]:
        """Actions ("retry", "continue") on the box of a stored reply that did not complete.

        Override to offer them; a live reply gets its actions from `ReplyView.finish`.
        """
        return ()

    def add_action_line(self, text: str, action: str) -> None:
        """Append a line that is one link; a click emits actionActivated(action, None)."""
        self._layout.add_action_line(text, action)

    @contextmanager
    def adding_above(self, key: object) -> Iterator[None]:
        """Messages added inside (`add_user_message`, `add_assistant_message`) go above message
        `key`, in order and in one document edit; the messages shown are not drawn again."""
        m = next((x for x in self._layout.messages if x.key == key), None)
        if m is None or m.frame is None:
            raise KeyError(key)
        with self._layout.inserting_above(m):
            yield

    def drop_messages_above(self, key: object) -> int:
        """Remove every message above message `key` from the document; returns how many."""
        index = next((i for i, m in enumerate(self._layout.messages) if m.key == key), 0)
        if index:
            self._layout.drop_first(index)
        return index

    def drop_messages_from(self, key: object) -> int:
        """Remove message `key` and every message below it from the document; returns how
        many."""
        messages = self._layout.messages
        count = len(messages) - next(
            (i for i, m in enumerate(messages) if m.key == key), len(messages)
        )
        self._layout.drop_last(count)
        return count

    def set_lead_line(self, text: str, action: str) -> None:
        """The line above the first message, one link ("" text: none); a click emits
        actionActivated(action, None)."""
        self._layout.set_lead_line(text, action)

    def message_span(self, key: object) -> tuple[int, int] | None:
        """Document positions (first, end) of message `key`: header, body and any box."""
        m = next((x for x in self._layout.messages if x.key == key), None)
        return self._layout.span(m) if m is not None else None

    def scroll_to(self, y: int) -> None:
        """Scroll to `y` and stop following the reply (the reader's place, not auto-scroll)."""
        self._following = False
        self._scrolling = True
        try:
            self.verticalScrollBar().setValue(y)
        finally:
            self._scrolling = False
        self._update_jump()

    def reveal(self, cursor: QTextCursor) -> None:
        """Put the text cursor (and its selection) on screen; stop following the reply."""
        self._following = False
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        self._update_jump()

    def is_dark(self) -> bool:
        return self._layout.dark

    def is_auto_scrolling(self) -> bool:
        """True while the view itself moves the scroll bar (not the reader)."""
        return self._scrolling

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        """The browser's own loader reads local files; only app resources are allowed."""
        return self._doc.loadResource(type, name)

    # -- links, copy, scrolling ----------------------------------------------------------------

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() != ACTION_SCHEME:
            self._open_external(url)
            return
        action = self._layout.action_of(url)
        if action is None:
            return  # the model wrote an action link: ignore it
        verb, num = action
        if verb == "copy-code":
            self._copy(self._layout.code_text(num))
            return
        if verb == "tool-toggle":
            self._layout.toggle_tool(num)
            return
        m = self._layout.message_by_id(num)
        if verb not in _BUILTIN:
            self.actionActivated.emit(verb, m.key if m is not None else None)
            return
        if m is None:
            return
        if verb == "copy-msg":
            self._copy(m.shown_text)
        elif verb == "toggle":
            self._layout.toggle_reasoning(m)
        elif verb == "retry":
            self.retryRequested.emit(m.key)
        elif verb == "continue":
            self.continueRequested.emit(m.key)

    def _open_external(self, url: QUrl) -> None:
        """Open a web link in the desktop's browser; say so when it is refused or fails."""
        shown = url.toDisplayString()
        if not is_safe_external(url):
            self.linkFailed.emit(f"Not opened: {shown} (only web and mail links open)")
            return
        self.linkActivated.emit(url)
        if not self.open_url(url):
            self.linkFailed.emit(f"Could not open {shown}: no browser or mail app answered")

    def _on_hover(self, url: QUrl) -> None:
        """Tell the status bar where a link goes (an action link: what it does); the link's
        own tooltip says the same under the mouse."""
        if url.isEmpty():
            self.linkHovered.emit("")
            return
        action = self._layout.action_of(url)
        if action is not None:
            tip = ACTION_TIPS.get(action[0], "")
        elif url.scheme() == ACTION_SCHEME:
            tip = ""
        else:
            tip = url.toDisplayString()
        self.linkHovered.emit(tip)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copyRequested.emit(text)

    def _on_scrolled(self, value: int) -> None:
        if not self._scrolling:
            self._following = value >= self.verticalScrollBar().maximum() - 4
            self._update_jump()

    def _on_range(self, _lo: int, hi: int) -> None:
        if self._following:
            self._scroll_to_end()
        elif hi == 0:  # everything fits: nothing to jump to
            self._following = True
            self._update_jump()

    def _scroll_to_end(self) -> None:
        self._scrolling = True
        try:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())
        finally:
            self._scrolling = False

    def _update_jump(self) -> None:
        """Shown whenever the reader is scrolled up, streaming or not: the reply may have
        ended while they read, and the latest is still below."""
        self._jump.setVisible(not self._following)
        self._place_jump()

    def _place_jump(self) -> None:
        self._jump.adjustSize()
        vp = self.viewport()
        self._jump.move(
            (vp.width() - self._jump.width()) // 2, vp.height() - self._jump.height() - 12
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._layout.set_column(self.viewport().width())
        self._place_jump()

    def changeEvent(self, event: QEvent) -> None:
        """A new font (the user's font size) re-measures the column and redraws; a palette
        the window's style sheet put back (it repolishes children with the palette they had
        first: a white page with light text after a theme switch) is corrected. A style rule
        of the view's own would do that too, but doubles the cost of each paint."""
        super().changeEvent(event)
        kind = event.type()
        if kind == QEvent.Type.FontChange:
            self._redraw(self._layout.dark)
        elif kind in _RESTYLED and not self._palette_is_current():
            self._apply_palette()

    def viewportEvent(self, event: QEvent) -> bool:
        """The page (viewport) gets its palette back too (see `changeEvent`)."""
        handled = super().viewportEvent(event)
        if event.type() in _RESTYLED and not self._palette_is_current():
            self._apply_palette()
        return handled
