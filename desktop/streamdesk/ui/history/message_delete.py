"""Deleting a prompt (with its replies) or a reply from a transcript, and undoing it.

The messages leave the transcript at once and the history on a worker thread
(`HistoryStore.delete_messages`), and the sidebar's undo bar offers Undo for a few seconds;
Ctrl+Z in that chat's transcript undoes it too, for as long as it is the last deletion. Undo
waits for the deletion, puts the rows back (`HistoryStore.restore_messages`: the same ids,
images, alternatives and the one shown) and the turn back in its chat exactly as it was, in its
place, redrawn and in sight.

One deletion can be undone, the last: a later deletion of messages (or the sidebar's of a chat)
takes the offer over. Undo still works after switching to another chat: it goes back to the
chat, the messages in sight. Once the chat itself is deleted the offer is gone (the chat's own
Undo brings it back as it was stored, without them); closing the window ends it too.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor

from streamdesk.core.chat import Reply, Turn, fill_turn
from streamdesk.core.store.history import ConversationNotFound, HistoryError, StoredMessage
from streamdesk.core.store.history.models import MessagesSnapshot
from streamdesk.ui.session.session import key_of

if TYPE_CHECKING:
    from streamdesk.ui.history.bridge import HistoryBridge
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.transcript.history_view import HistoryTranscriptView
    from streamdesk.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)
UNDO_MS = 6000  # the sidebar's offer, as long as a deleted chat's
SHOWN_AROUND = 12  # messages drawn from a turn put back above or below the drawn ones
CONTEXT_SHARE = 3  # a message put back sits this part of the screen down, the lines above in sight

# The reply a turn shows: the reply, its stored id, which alternative (0-based) of how many.
Shown = tuple[Reply, int | None, int, int]


@dataclass(eq=False)
class Deletion:
    """One deletion from a transcript: what undo needs to put it back."""

    session: ChatSession
    turn: Turn
    whole: bool  # the prompt and its replies (the turn left); else the shown reply alone
    above: Turn | None  # the turns around the one that left, to put it back between
    below: Turn | None
    was: Shown  # what the turn showed before
    left: int | None  # the reply id the turn showed after (a reply deleted alone)
    offer: str  # what the sidebar's undo bar says
    stored: asyncio.Task[MessagesSnapshot | None] | None = None  # its deletion from the history


class MessageDeletions:
    """Deletes messages from a chat's transcript and its history, and undoes the last deletion.

    `run` starts a task the window waits for before it closes the history; `say` puts a line
    on the status bar for some milliseconds. The offer is the sidebar's undo bar
    (`ConversationList.show_undo`)."""

    def __init__(
        self,
        history: HistoryBridge,
        window: MainWindow,
        *,
        run: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]],
        say: Callable[[str, int], None],
    ) -> None:
        self.history = history
        self.window = window
        self._run = run
        self._say = say
        self.last: Deletion | None = None  # the one undo puts back

    def attach(self, session: ChatSession) -> None:
        """Ctrl+Z in the session's transcript undoes the last deletion, when it was there."""
        shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), session.view)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(lambda s=session: self.undo(s))

    # -- delete ----------------------------------------------------------------------------

    def delete(self, session: ChatSession, key: object) -> Deletion | None:
        """Message `key`: a prompt goes with every reply of it, a reply alone (the newest other
        alternative shows, if any). Gone from the transcript at once, from the history on a
        worker thread (`Deletion.stored`); None: nothing deleted (a reply streams there)."""
        whole = isinstance(key, tuple)
        turn = next(
            (t for t in session.turns if (("user", t.key) if whole else t.key) == key), None
        )
        if turn is None:
            return None
        if session.busy:
            self._say("A reply is streaming in this chat: delete once it has ended.", 4000)
            return None
        store = self.history.store
        replies = []  # every alternative of the shown reply, oldest first
        if store is not None and turn.reply_id is not None:
            replies = store.alternatives(turn.reply_id)
        if not whole:
            ids = [turn.reply_id]
        elif replies:
            ids = [turn.user_id, *(a.id for a in replies)]
        else:
            ids = [turn.user_id, turn.reply_id]
        stored = [i for i in ids if i is not None]
        offer = "Deleted a prompt" if whole else "Deleted a reply"  # the sidebar is narrow
        others = [a for a in replies if a.id != turn.reply_id]
        deletion = self._take_out(session, turn, whole, others, offer)
        if stored and store is not None:
            deletion.stored = self._run(self._delete_stored(deletion, stored))
        self.last = deletion
        self.window.conversations.show_undo(offer, UNDO_MS)
        return deletion

    def _take_out(
        self, session: ChatSession, turn: Turn, whole: bool, others: list[StoredMessage], offer: str
    ) -> Deletion:
        """Take the messages out of the session and redraw it, the reader's place kept: what
        comes next (or the prompt of a reply deleted alone) starts where they started."""
        turns = session.turns
        index = turns.index(turn)
        was: Shown = (turn.reply, turn.reply_id, turn.alt_index, turn.alt_count)
        above = turns[index - 1] if index > 0 else None
        below = turns[index + 1] if index + 1 < len(turns) else None
        deletion = Deletion(session, turn, whole, above, below, was, None, offer)
        view = session.view
        place = None if view.is_following() else _top_of(view, key_of(turn))
        anchor = key_of(turn)  # the prompt of a reply deleted alone
        if whole:
            anchor = key_of(below) if below is not None else None
            del turns[index]
            if index < session.shown_from:
                session.shown_from -= 1
            if session.shown_to is not None and index < session.shown_to:
                session.shown_to -= 1
        elif others:  # the newest other alternative shows, as the history shows it
            fill_turn(turn, others[-1], turn.target)
            turn.alt_index, turn.alt_count = len(others) - 1, len(others)
        else:
            turn.reply, turn.reply_id = Reply(turn.target), None
            turn.alt_index, turn.alt_count = 0, 1
        deletion.left = turn.reply_id
        self._redraw(session)
        if anchor is not None and place is not None:
            _scroll_top_to(view, anchor, place)
        return deletion

    async def _delete_stored(self, deletion: Deletion, ids: list[int]) -> MessagesSnapshot | None:
        """The snapshot undo restores; None when the history could not delete them: they are
        put back in the transcript, the reason said."""
        store = self.history.store
        if store is None:
            return None
        try:
            return await asyncio.to_thread(store.delete_messages, ids)
        except (HistoryError, sqlite3.Error) as exc:
            if not self._alive(deletion.session):  # its chat went first, with them
                log.info("messages deleted with their chat: %s", exc)
                return None
            log.exception("could not delete messages")
            self._say(f"Could not delete the message: {exc}", 8000)
            if self.last is deletion:
                self.last = None
            await self._put_back(deletion)
            return None

    # -- undo ------------------------------------------------------------------------------

    def undo(self, session: ChatSession | None = None) -> asyncio.Task[bool] | None:
        """Put the last deletion back (of `session`'s transcript only, when given), once its
        deletion from the history is done; the task says whether it is back. None: nothing
        to undo there."""
        deletion = self.last
        if deletion is None or (session is not None and deletion.session is not session):
            return None
        if not self._alive(deletion.session):  # its chat was deleted: the offer went with it
            self.last = None
            return None
        if deletion.session.busy:
            self._say("A reply is streaming in that chat: undo once it has ended.", 8000)
            self.window.conversations.show_undo(deletion.offer, UNDO_MS)
            return None
        self.last = None
        return self._run(self._undo(deletion))

    async def _undo(self, deletion: Deletion) -> bool:
        snapshot = await asyncio.shield(deletion.stored) if deletion.stored is not None else None
        store = self.history.store
        if deletion.stored is not None:
            if snapshot is None or store is None:  # not deleted (said), or the window closed
                return False
            try:
                ids = await asyncio.to_thread(store.restore_messages, snapshot)
            except ConversationNotFound:
                self._say("The chat those messages were in has been deleted.", 8000)
                return False
            except (HistoryError, sqlite3.Error) as exc:
                log.exception("could not restore messages")
                self._say(f"Could not undo the delete: {exc}", 8000)
                return False
            _renumber(deletion, ids)
        return await self._put_back(deletion, show=True)

    async def _put_back(self, deletion: Deletion, *, show: bool = False) -> bool:
        """The turn back in its session as it was before the deletion, redrawn (once a reply
        that started meanwhile has ended: a redraw would cut it off); when the session has
        changed since so that its place is unclear, the shown branch is read again from the
        history. `show`: the chat in front and the messages in sight."""
        session, turn = deletion.session, deletion.turn
        await _idle(session)
        key = self.history.session_key(session)
        if key is None or session.discarded:
            return False
        if deletion.whole:
            index = None if turn in session.turns else _place(session.turns, deletion)
            if index is not None:
                session.turns.insert(index, turn)
                if index < session.shown_from:
                    session.shown_from += 1
                if session.shown_to is not None and index < session.shown_to:
                    session.shown_to += 1
        elif turn in session.turns and turn.reply_id == deletion.left:
            turn.reply, turn.reply_id, turn.alt_index, turn.alt_count = deletion.was
            index = session.turns.index(turn)
        else:
            index = None
        if show and key != self.window.current_key():
            self.window.conversations.select(key)
        if index is None:
            self._reload(session, key)
        else:
            self._draw(session, index)
        if show:
            self._bring_into_view(session, deletion)
        return True

    def _reload(self, session: ChatSession, key: int) -> None:
        cid = self.history.cid_of_key.get(key)
        if cid is not None and self.history.store is not None:
            self.history.reload(session, cid)
        self._redraw_figures(session)

    def _draw(self, session: ChatSession, index: int) -> None:
        """Redraw the session with turn `index` drawn."""
        end = len(session.turns) if session.shown_to is None else session.shown_to
        if session.shown_from <= index < end:
            self._redraw(session)
        else:
            session.show_at(index, SHOWN_AROUND)
            self._redraw_figures(session)

    def _redraw(self, session: ChatSession) -> None:
        session.rerender()
        self._redraw_figures(session)

    def _redraw_figures(self, session: ChatSession) -> None:
        """The status bar's figures may be a deleted reply's, or one put back's."""
        session.forget_stats()
        key = self.history.session_key(session)
        if key is not None and key == self.window.current_key():
            self.window.show_conversation(key)

    def _bring_into_view(self, session: ChatSession, deletion: Deletion) -> None:
        """The messages put back a third of the way down, the lines before them in sight."""
        turn, view = deletion.turn, session.view
        key = key_of(turn) if deletion.whole else turn.key
        _scroll_top_to(view, key, view.viewport().height() // CONTEXT_SHARE)

    def _alive(self, session: ChatSession) -> bool:
        return not session.discarded and self.history.session_key(session) is not None


def _place(turns: list[Turn], deletion: Deletion) -> int | None:
    """Where a turn taken out goes back: after the turn that was above it, else before the one
    that was below it; None when that turn is gone too (the session was read again)."""
    if deletion.above is not None:
        return turns.index(deletion.above) + 1 if deletion.above in turns else None
    if deletion.below is not None:
        return turns.index(deletion.below) if deletion.below in turns else None
    return 0


def _renumber(deletion: Deletion, ids: dict[int, int]) -> None:
    """The stored ids the turn holds, as the history put the messages back (the same ones
    unless they had been taken)."""
    turn = deletion.turn
    if turn.user_id is not None and deletion.whole:
        turn.user_id = ids.get(turn.user_id, turn.user_id)
    reply, reply_id, alt_index, alt_count = deletion.was
    if reply_id is not None:
        deletion.was = (reply, ids.get(reply_id, reply_id), alt_index, alt_count)
    if deletion.whole:
        turn.reply_id = deletion.was[1]


async def _idle(session: ChatSession) -> None:
    """Until no reply streams in `session`."""
    if not session.busy:
        return
    ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_busy(busy: bool) -> None:
        if not busy and not ended.done():
            ended.set_result(None)

    session.busyChanged.connect(on_busy)
    try:
        await ended
    finally:
        session.busyChanged.disconnect(on_busy)


def _top_of(view: HistoryTranscriptView, key: object) -> int | None:
    """How far down the viewport message `key` starts (None: not drawn)."""
    span = view.message_span(key)
    if span is None:
        return None
    cursor = QTextCursor(view.document())
    cursor.setPosition(span[0])
    return int(view.cursorRect(cursor).top())


def _scroll_top_to(view: HistoryTranscriptView, key: object, y: int) -> None:
    """Scroll so message `key` starts `y` pixels down the viewport."""
    top = _top_of(view, key)
    if top is not None:
        view.scroll_to(max(0, view.verticalScrollBar().value() + top - y))
