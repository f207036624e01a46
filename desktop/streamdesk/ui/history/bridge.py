"""The window's link to the history store: every conversation stored, stored ones reopened.

One `HistoryBridge` per window. It opens the `HistoryStore` at start, fills the conversation list
and gives each session a `ConversationRecord` (the engine stores the prompt when the request
starts and writes the reply as it streams). Opening a stored conversation loads its turns (cheap
data) with the target it was held with, and renders only the last page; older pages render on
demand. What the user does to the history (rename, delete, export, edit, flip) is the
`HistoryActions` collaborator's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from streamdesk.core.chat import ConversationRecord, StoredTarget, Target, Turn, turns_of
from streamdesk.core.store.history import HistoryStore
from streamdesk.ui.history.actions import HistoryActions

if TYPE_CHECKING:
    from streamdesk.core.store.history import Conversation as StoredConversation
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)

PAGE_MESSAGES = 50  # messages rendered when a conversation opens, and per "earlier" page


class HistoryBridge(QObject):
    """Binds a window's sessions and conversation list to one HistoryStore.

    Emits `noticeChanged(text)` when the store repairs itself or the disk fills or frees up
    ("" once there is nothing to say); the store reports from its writing thread, and the
    signal brings it to the window's.
    """

    noticeChanged = Signal(str)

    def __init__(self, window: MainWindow, store: HistoryStore | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.warning = ""
        if store is None:
            try:
                store = HistoryStore()
            except Exception as exc:  # a broken file must not stop the window from opening
                log.exception("could not open the history")
                self.warning = f"History is off: {exc}"
        self.store = store
        self.cid_of_key: dict[int, int] = {}
        self.actions = HistoryActions(self, window)
        lst = window.conversations
        lst.currentChanged.connect(self._on_current)
        self.actions.connect_list(lst)
        self._notices: set[str] = set()  # every notice shown, to know which banner is ours
        if store is not None:
            store.add_notice_listener(lambda: self.noticeChanged.emit(self.notice()))
            for conv in reversed(store.list_conversations()):
                self.list_stored(conv.id, conv.title, pinned=conv.pinned, select=False)

    def notice(self) -> str:
        """What the user should know about the history now ("" : nothing)."""
        store = self.store
        text = self.warning
        if store is not None:
            text = store.disk_full_notice or store.recovery_notice or ""
        if text:
            self._notices.add(text)
        return text

    def shown_notice(self, text: str) -> bool:
        return text in self._notices

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def key_of(self, cid: int) -> int | None:
        return next((k for k, c in self.cid_of_key.items() if c == cid), None)

    def session_key(self, session: ChatSession) -> int | None:
        return next((k for k, s in self.window.sessions.items() if s is session), None)

    def list_stored(self, cid: int, title: str, *, pinned: bool, select: bool) -> int:
        key = self.window.new_key()
        self.cid_of_key[key] = cid
        self.window.conversations.add_conversation(key, title, select=select, pinned=pinned)
        return key

    # -- sessions --------------------------------------------------------------------------

    def attach(self, key: int, session: ChatSession) -> None:
        """Store the session's conversation as it is sent, and wire its view to the actions."""
        if self.store is not None:
            session.record = ConversationRecord(self.store, session.conversation)
            session.storedAs.connect(lambda cid, title, k=key: self._stored(k, cid, title))
        self.actions.attach(session)

    def _stored(self, key: int, cid: int, title: str) -> None:
        self.cid_of_key[key] = cid
        self.window.conversations.set_title(key, title)

    def _on_current(self, key: object) -> None:
        if not isinstance(key, int) or key in self.window.sessions:
            return
        cid = self.cid_of_key.get(key)
        if cid is None or self.store is None:
            return
        self.open_stored(key, cid)

    def open_stored(self, key: int, cid: int) -> ChatSession:
        """Create the session of stored conversation `cid` and render its last page."""
        assert self.store is not None
        conv = self.store.get_conversation(cid)
        session = self.window.new_chat(key=key)
        session.title = conv.title
        session.conversation.conversation_id = cid
        session.system_prompt = conv.system_prompt
        session.params = dict(conv.params)
        session.conversation.target = self.target_of(conv)
        turns = self.turns(cid)
        session.load(turns, first_shown(turns, PAGE_MESSAGES))
        self.window.show_conversation(key)
        return session

    def target_of(self, conv: StoredConversation) -> Target:
        """The target a stored conversation was held with, resolved against today's settings."""
        stored = StoredTarget(conv.provider, conv.base_url, conv.ws_url, conv.model, conv.protocol)
        return self.window.stored_target(stored)

    def turns(self, cid: int) -> list[Turn]:
        assert self.store is not None
        conv = self.store.get_conversation(cid)
        return turns_of(self.store.messages(cid), self.target_of(conv))

    def reload(self, session: ChatSession, cid: int) -> None:
        """Load the shown branch again after the store flipped versions; keep the page."""
        turns = self.turns(cid)
        session.load(turns, min(session.shown_from, len(turns)))

    def load_earlier(self, session: ChatSession) -> None:
        if session.shown_from <= 0 or session.busy:
            return
        top = session.turns[session.shown_from]
        older = session.turns[: session.shown_from]
        session.shown_from = first_shown(older, PAGE_MESSAGES)
        session.rerender()
        session.view.keep_top(top.key if top.is_retry else ("user", top.key))


def first_shown(turns: list[Turn], page: int) -> int:
    """The index of the first turn of the last `page` messages."""
    count, index = 0, len(turns)
    while index > 0 and count < page:
        index -= 1
        count += (0 if turns[index].is_retry else 1) + (1 if turns[index].reply_id else 0)
    return index
