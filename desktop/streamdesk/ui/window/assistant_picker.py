"""The assistant of the chat in front: shown and switched in the header, chosen on the welcome
page of a new chat.

`AssistantPicker` applies a chosen assistant to the current conversation through the storage the
"Conversation settings" dialog uses (its system prompt and params, stored with the conversation
once it is in the history), so the next request carries it; its provider and model, when set,
are chosen in the header the way the palette chooses a model. The assistant's name lives in the
params (`core.assistants.ASSISTANT`), so a reopened chat shows it again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QAction, QActionGroup, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QMenu, QSizePolicy, QToolButton, QWidget

from streamdesk.core.assistants import (
    DEFAULT_ASSISTANT,
    Assistant,
    all_assistants,
    applied,
    assistant_of,
    find_assistant,
)
from streamdesk.ui.plain_text import plain_tooltip

if TYPE_CHECKING:
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)


# From the palette, so it follows the theme; room on the right for the menu arrow.
BUTTON_STYLE = """
QToolButton#assistantButton { border: 1px solid palette(mid); border-radius: 6px;
    padding: 3px 20px 3px 10px; background: palette(base); }
QToolButton#assistantButton:hover { border-color: palette(highlight); }
QToolButton#assistantButton::menu-indicator { subcontrol-origin: padding;
    subcontrol-position: right center; right: 6px; }
"""

BUTTON_CHROME = 34  # px beside the text: padding, border, the menu arrow
MIN_WIDTH = 90  # px the button keeps in a narrow header
HIDDEN_BELOW = 880  # px of header below which the button gives way (the pickers keep room)


class AssistantButton(QToolButton):
    """ "Assistant: NAME" with a menu of every assistant; emits `chosen(name)`."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("assistantButton")
        self.setAccessibleName("Assistant")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setStyleSheet(BUTTON_STYLE)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.list_menu = QMenu(self)
        self.setMenu(self.list_menu)
        self.choices = QActionGroup(self)
        self.choices.setExclusive(True)
        self._listed: list[Assistant] = []
        self._full = ""  # the text before eliding

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        width = self.fontMetrics().horizontalAdvance(self._full) + BUTTON_CHROME
        return QSize(max(hint.width(), width), hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_WIDTH, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        from PySide6.QtCore import Qt

        room = self.width() - BUTTON_CHROME
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        if shown != self.text():
            self.setText(shown)

    def set_assistants(self, assistants: list[Assistant]) -> None:
        if assistants == self._listed:
            return
        self._listed = list(assistants)
        self.list_menu.clear()
        for action in self.choices.actions():
            self.choices.removeAction(action)
        for a in assistants:
            action = QAction(a.name, self.list_menu)
            action.setCheckable(True)
            action.setToolTip(plain_tooltip(a.description or a.name))  # "": the name unescaped
            action.setStatusTip(a.description)
            action.triggered.connect(lambda _=False, name=a.name: self.chosen.emit(name))
            self.choices.addAction(action)
            self.list_menu.addAction(action)
        self.list_menu.setToolTipsVisible(True)

    def show_assistant(self, assistant: Assistant) -> None:
        self._full = f"Assistant: {assistant.name}"
        self.setText(self._full)
        self.updateGeometry()
        self._elide()
        tip = assistant.description or assistant.name
        self.setToolTip(
            plain_tooltip(f"{tip}\n{assistant.summary()}\nClick to switch for the next request.")
        )
        for action in self.choices.actions():
            action.setChecked(action.text() == assistant.name)

    def full_text(self) -> str:
        """What the button says when it has room for it."""
        return self._full

    def names(self) -> list[str]:
        return [action.text() for action in self.choices.actions()]


class AssistantPicker(QObject):
    """Keeps the header's button and the welcome page's chips on the current chat's assistant;
    emits `applied(name)` when one was applied to a chat."""

    applied = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.button = AssistantButton(window.header)
        row = window.header.layout()
        if isinstance(row, QHBoxLayout):  # after the SSE | WebSocket switch, before the stretch
            row.insertWidget(row.indexOf(window.header.offline_badge) - 1, self.button)
        window.header.add_optional(self.button, HIDDEN_BELOW)
        self.button.chosen.connect(self.choose)
        window.welcome.assistantChosen.connect(self.choose)
        window.conversations.currentChanged.connect(self.show_current)
        self.refresh()

    def assistants(self) -> list[Assistant]:
        return all_assistants(self.window.settings.assistants)

    def refresh(self) -> None:
        """The list again (the settings changed), and the current chat's assistant."""
        listed = self.assistants()
        self.button.set_assistants(listed)
        self.window.welcome.set_assistants(
            [(a.name, a.description) for a in listed], self.current().name
        )
        self.show_current()

    def current(self) -> Assistant:
        """The assistant of the chat in front (General when it names none or one since gone)."""
        name = assistant_of(self._session().params) if self.window.sessions else ""
        found = find_assistant(self.window.settings.assistants, name or DEFAULT_ASSISTANT)
        if found is not None:
            return found
        return Assistant(name) if name else self.assistants()[0]

    def show_current(self, *_: object) -> None:
        if not self.window.sessions:
            return
        assistant = self.current()
        self.button.show_assistant(assistant)
        self.window.welcome.show_assistant(assistant.name)

    def choose(self, name: str) -> bool:
        """Apply assistant `name` to the chat in front; its next request uses it."""
        assistant = find_assistant(self.window.settings.assistants, name)
        if assistant is None or not self.window.sessions:
            return False
        session = self._session()
        session.system_prompt, session.params = applied(assistant, session.params)
        self._store(session)
        if session.tools is not None and session.tools.runner is not None:
            session.tools.runner.reset(session.tools.enabled())
        header = self.window.header
        if assistant.provider and any(p.id == assistant.provider for p in header.providers()):
            header.choose(assistant.provider, assistant.model)
        elif assistant.model:
            header.choose(header.provider_id(), assistant.model)
        self.show_current()
        self.window.statusBar().showMessage(
            f"Assistant: {assistant.name} — used from the next request on", 4000
        )
        self.applied.emit(assistant.name)
        return True

    def _session(self) -> ChatSession:
        return self.window.current_session()

    def _store(self, session: ChatSession) -> None:
        """A chat already in the history keeps its new prompt and parameters (a new one
        stores them with its first send)."""
        record = session.record
        cid = record.conversation_id if record is not None else None
        if record is None or cid is None:
            return
        try:
            record.store.update_conversation(
                cid, system_prompt=session.system_prompt, params=session.params
            )
        except Exception:  # the chat still uses it; only the stored copy is behind
            log.exception("could not store the conversation's assistant")


def install_assistants(window: MainWindow) -> AssistantPicker:
    """The picker in the header and on the welcome page, following the chat in front."""
    return AssistantPicker(window)
