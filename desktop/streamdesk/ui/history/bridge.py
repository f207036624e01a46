"""The window's link to the history store: every conversation stored, stored ones reopened.

One `HistoryBridge` per window. It opens the `HistoryStore` at start, fills the conversation
list and gives each session a `ConversationRecord` (the engine stores the prompt when the
request starts and writes the reply as it streams). Opening a stored conversation reads only its
last page of turns (with the target it was held with) and draws only the newest few messages, so
it costs the same at 10 or 10,000 messages; earlier messages are drawn a step at a time above
the shown ones as the reader scrolls up (`StoredPages` reads them a page at a time), and every
turn is read only when a request needs the whole conversation, on a worker thread with a
connection of its own (`StoredPages.read_rest`), so the window's loop never waits on it. A
search hit above the turns read so far reads the same way only the turns from it down to them
(`StoredPages.read_down_to`). At most `MAX_DRAWN` messages stay drawn: scrolling up drops the
far bottom (drawn again as the reader comes back down, or at once by "Jump to latest" and before
a request), scrolling down drops the far top, so memory and the cost of each step stay bounded
however long the conversation. What the user does to the history (rename, delete, export, edit,
flip) is the `HistoryActions` collaborator's.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication

from streamdesk.core.chat import ConversationRecord, StoredTarget, Target, Turn, turns_of
from streamdesk.core.store.history import HistoryError, HistoryStore, StoredMessage
from streamdesk.ui.history.actions import HistoryActions
from streamdesk.ui.session.session import first_shown, message_count

if TYPE_CHECKING:
    from streamdesk.core.store.history import Conversation as StoredConversation
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)

PAGE_MESSAGES = 50  # messages read from the history at a time
SHOWN_MESSAGES = 10  # drawn when a conversation opens (more follow while they leave room)
STEP_BUDGET = 0.020  # seconds of drawing per step as the reader scrolls up (a frame: 50 ms)
# Drawn messages at most while the reader scrolls (the far side is dropped): ~25 screens of
# replies, and each step at the top lays out no more than this below it.
MAX_DRAWN = 60
KEPT_MESSAGES = 50  # drawn messages kept when the reader is back at the newest
HIT_CONTEXT = SHOWN_MESSAGES  # messages read above a search hit (there when the reader scrolls up)
LIST_PAGE = 500  # conversations listed at a time: the next page when the list is scrolled down
LIST_OVERLAP = 50  # re-read before a page (conversations added or deleted since shift the rest)
ELSEWHERE_CHECKED = 50  # newest conversations looked at for ones another process stored


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
        self._step = 4  # messages drawn per earlier step (adapts to what they cost)
        self.actions = HistoryActions(self, window)
        lst = window.conversations
        lst.currentChanged.connect(self._on_current)
        window.prompt.textChanged.connect(self._on_typing)
        self.actions.connect_list(lst)
        self._notices: set[str] = set()  # every notice shown, to know which banner is ours
        self._paged = 0  # conversations read page by page into the list (the oldest last)
        self.last_used: int | None = None  # the stored conversation changed last, at start
        self._more = False  # the history holds conversations older than those listed
        if store is not None:
            store.add_notice_listener(lambda: self.noticeChanged.emit(self.notice()))
            self.list_more()
            lst.list.verticalScrollBar().valueChanged.connect(self._list_more_near_end)
            app = QGuiApplication.instance()
            if isinstance(app, QGuiApplication):
                app.applicationStateChanged.connect(self._on_app_state)

    def list_more(self) -> int:
        """The next page of stored conversations at the bottom of the list (the first page at
        start); returns how many were added. A page re-reads a few before it and skips those
        listed: conversations added or deleted since move the others in the history's order."""
        store = self.store
        if store is None:
            return 0
        offset = max(0, self._paged - LIST_OVERLAP) if self._paged else 0
        try:
            stored = store.list_conversations(limit=LIST_PAGE + LIST_OVERLAP, offset=offset)
        except (HistoryError, sqlite3.Error):
            log.warning("could not list more conversations", exc_info=True)
            return 0
        self._more = len(stored) == LIST_PAGE + LIST_OVERLAP
        if not self._paged and stored:  # the first page holds it (pinned ones come first)
            self.last_used = max(stored, key=lambda c: (c.updated, c.id)).id
        listed = set(self.cid_of_key.values())
        new = [c for c in stored if c.id not in listed]
        self._paged = offset + len(stored)
        keys = {conv.id: self._key_for(conv.id) for conv in reversed(new)}
        self.window.conversations.add_conversations(
            [(keys[c.id], c.title, c.pinned, c.updated) for c in new]
        )
        return len(new)

    def _list_more_near_end(self, value: int) -> None:
        bar = self.window.conversations.list.verticalScrollBar()
        if self._more and value >= bar.maximum() - bar.pageStep():
            self.list_more()

    def _on_app_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.list_stored_elsewhere()

    def list_stored_elsewhere(self) -> int:
        """Conversations another process stored (`streamdesk ask` in a terminal) since the list
        was filled, listed under their dates; the window checks when it becomes active.
        Returns how many were added."""
        store = self.store
        if store is None:
            return 0
        try:
            newest = store.list_conversations(limit=ELSEWHERE_CHECKED)
        except (HistoryError, sqlite3.Error):
            log.warning("could not look for conversations stored elsewhere", exc_info=True)
            return 0
        listed = set(self.cid_of_key.values())
        seen = max(listed, default=0)  # ids only grow: older ones come with the list's pages
        new = [c for c in newest if c.id > seen and c.id not in listed]
        for conv in reversed(new):
            self.list_stored(
                conv.id, conv.title, pinned=conv.pinned, select=False, when=conv.updated
            )
        return len(new)

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
        """Close the store; what still runs after (a search the list's delay timer starts)
        then finds the history off instead of a closed database."""
        store, self.store = self.store, None
        if store is not None:
            store.close()

    def key_of(self, cid: int) -> int | None:
        return next((k for k, c in self.cid_of_key.items() if c == cid), None)

    def session_key(self, session: ChatSession) -> int | None:
        return next((k for k, s in self.window.sessions.items() if s is session), None)

    def list_stored(
        self, cid: int, title: str, *, pinned: bool, select: bool, when: float | None = None
    ) -> int:
        """Stored conversation `cid` in the list, under the date of `when` (its last change;
        now by default); returns its key."""
        key = self._key_for(cid)
        self.window.conversations.add_conversation(
            key, title, select=select, pinned=pinned, when=when
        )
        return key

    def _key_for(self, cid: int) -> int:
        """A new list key for stored conversation `cid`."""
        key = self.window.new_key()
        self.cid_of_key[key] = cid
        return key

    # -- sessions --------------------------------------------------------------------------

    def attach(self, key: int, session: ChatSession) -> None:
        """Store the session's conversation as it is sent, and wire its view to the actions."""
        if self.store is not None:
            session.record = ConversationRecord(self.store, session.conversation)
            session.storedAs.connect(lambda cid, title, k=key: self._stored(k, cid, title))
        self.actions.attach(session)
        view = session.view
        view.earlierRequested.connect(lambda s=session: self.load_earlier(s))
        view.laterRequested.connect(lambda s=session: self.load_later(s))
        view.latestRequested.connect(session.show_latest)
        view.firstRequested.connect(lambda s=session: self.actions.show_first(s))
        view.latestReached.connect(lambda s=session: self._trim(s))

    def _on_typing(self) -> None:
        """A prompt is being written: its request will need the whole conversation, so the
        turns not read yet are read now, off the loop, while the user types."""
        if self.window.sessions and not self.window.prompt.document().isEmpty():
            self.window.sessions[self.window.current_key()].read_earlier()

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
        self._load_newest(session, cid, conv, PAGE_MESSAGES, SHOWN_MESSAGES)
        self.window.show_conversation(key)
        return session

    def _load_newest(
        self, session: ChatSession, cid: int, conv: StoredConversation, read: int, draw: int
    ) -> None:
        """Read the newest `read` messages, draw the newest `draw` of them."""
        assert self.store is not None
        pages = StoredPages(self.store, cid, self.target_of(conv))
        turns = pages.newest(read)
        session.load(turns, first_shown(turns, draw), pages)

    def resolve_targets(self) -> None:
        """The targets of the stored conversations opened so far, resolved again: the window
        calls it once the provider is known at start. A conversation held with the offline
        demo, opened before the demo's mock ran, could only fall back to the configured
        provider; with the demo running it goes on with the demo, as the others do."""
        store = self.store
        if store is None:
            return
        for key, session in self.window.sessions.items():
            cid = self.cid_of_key.get(key)
            if cid is None or session.busy:
                continue
            try:
                conv = store.get_conversation(cid)
            except (HistoryError, sqlite3.Error):  # said when it is next read
                log.debug("could not read conversation %d again", cid, exc_info=True)
                continue
            session.conversation.target = self.target_of(conv)

    def target_of(self, conv: StoredConversation) -> Target:
        """The target a stored conversation was held with, resolved against today's settings."""
        stored = StoredTarget(conv.provider, conv.base_url, conv.ws_url, conv.model, conv.protocol)
        return self.window.stored_target(stored)

    def reload(self, session: ChatSession, cid: int) -> None:
        """Read the shown branch again after the store flipped versions; as many messages
        stay drawn as were (at least as many as on opening)."""
        assert self.store is not None
        drawn = sum(message_count(t) for t in session.turns[session.shown_from :])
        drawn = max(drawn, SHOWN_MESSAGES)
        conv = self.store.get_conversation(cid)
        self._load_newest(session, cid, conv, max(PAGE_MESSAGES, drawn), drawn)

    def load_earlier(self, session: ChatSession) -> None:
        """Draw the next few earlier messages above the shown ones (one step, one edit): as
        many as the last steps say fit in `STEP_BUDGET`, so no frame waits for a whole page."""
        if not session.busy:
            self._timed_step(lambda: session.show_earlier(self._step))
            session.drop_later(MAX_DRAWN)

    def load_later(self, session: ChatSession) -> None:
        """Draw the next few newer messages that were dropped below the shown ones."""
        if not session.busy:
            self._timed_step(lambda: session.show_later(self._step))
            session.drop_earlier(MAX_DRAWN)

    def _timed_step(self, step: Callable[[], int]) -> None:
        started = time.perf_counter()
        drawn = step()
        if drawn:
            per_message = (time.perf_counter() - started) / drawn
            self._step = max(2, min(PAGE_MESSAGES, int(STEP_BUDGET / per_message)))

    def _trim(self, session: ChatSession) -> None:
        drawn = sum(message_count(t) for t in session.turns[session.shown_from : session.shown_to])
        if drawn > MAX_DRAWN and not session.busy:
            session.drop_earlier(KEPT_MESSAGES)


class StoredPages:
    """The turns of a stored conversation, newest first, read a page at a time.

    Turns are keyed by the id of their first stored message, so pages read at different times
    never give two turns one key.
    """

    def __init__(self, store: HistoryStore, cid: int, target: Target) -> None:
        self.store = store
        self.cid = cid
        self.target = target
        self.left = 0  # shown messages above the oldest read
        self._first_group: int | None = None

    def newest(self, limit: int) -> list[Turn]:
        """The newest `limit` messages' turns."""
        return self._turns(self.store.turn_page(self.cid, limit=limit))

    def page(self) -> list[Turn]:
        return self.rest(PAGE_MESSAGES)

    def rest(self, limit: int | None = None) -> list[Turn]:
        if not self.left or self._first_group is None:
            return []
        messages = self.store.turn_page(
            self.cid, limit=limit or self.left, before_group=self._first_group
        )
        return self._turns(messages)

    async def read_rest(self) -> list[Turn]:
        """Every turn not loaded yet, read on a worker thread with a connection of its own, so
        the loop never waits on it (10,000 messages are a few frames' work); [] when none is
        left, or when another read took some meanwhile (the caller reads again from there)."""
        first = self._first_group
        if not self.left or first is None:
            return []
        turns = await asyncio.to_thread(self._read_before, first)
        if first != self._first_group:
            return []
        self._first_group, self.left = None, 0
        return turns

    async def read_down_to(self, message_id: int) -> list[Turn] | None:
        """The turns from the one holding `message_id` (with a few above it) down to the loaded
        ones, read on a worker thread like `read_rest`: a search hit above the turns read so far
        costs the turns between, never the ones above it. [] when the message is not above the
        loaded turns; None when another read took some meanwhile (read again from there)."""
        first = self._first_group
        if not self.left or first is None:
            return []
        start, turns = await asyncio.to_thread(self._read_down_to, message_id, first)
        if first != self._first_group:
            return None
        if start is not None:
            self._first_group = start
            self.left = self.store.count_before(self.cid, start)
        return turns

    def _read_before(self, group: int) -> list[Turn]:
        messages = self.store.messages_before(self.cid, group)
        return self._keyed(turns_of(messages, self.target, self.store.images_of(messages)))

    def _read_down_to(self, message_id: int, group: int) -> tuple[int | None, list[Turn]]:
        """(the first group read, None: nothing; the turns), on the worker thread."""
        messages = self.store.messages_down_to(self.cid, message_id, group, above=HIT_CONTEXT)
        turns = turns_of(messages, self.target, self.store.images_of(messages))
        return (messages[0].group_id if messages else None), self._keyed(turns)

    def _turns(self, messages: list[StoredMessage]) -> list[Turn]:
        if messages:
            self._first_group = messages[0].group_id
            self.left = self.store.count_before(self.cid, self._first_group)
        else:
            self.left = 0
        return self._keyed(turns_of(messages, self.target, self.store.images_of(messages)))

    @staticmethod
    def _keyed(turns: list[Turn]) -> list[Turn]:
        for turn in turns:
            first = turn.user_id if turn.user_id is not None else turn.reply_id
            turn.key = first if first is not None else -turn.key
        return turns
