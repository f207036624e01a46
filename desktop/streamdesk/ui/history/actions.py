"""What the user does to stored history: rename, pin, delete with undo, export, import, search,
and on a message edit, delete and flip alternatives.

Deleting, undoing, exporting and importing a whole conversation run on a worker thread: a long
conversation's rows, their search index and the file take tenths of a second to seconds, and
the window goes on meanwhile. Each returns its task; `finish()` waits for those still running.

Owned by the window's `HistoryBridge`, whose public methods it uses to reach the store and the
stored conversations. Dialogs open with `.open()` (never `exec()` or the static helpers: a
nested loop would break qasync).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from streamdesk.core.chat import fill_turn
from streamdesk.core.store.history import (
    Conversation,
    ConversationSnapshot,
    HistoryError,
    HistoryStore,
    SearchHit,
)
from streamdesk.core.wording import import_problem
from streamdesk.ui.history.message_delete import UNDO_MS, Deletion, MessageDeletions
from streamdesk.ui.history.params_dialog import ConversationSettingsDialog
from streamdesk.ui.history.search import place_in_context

if TYPE_CHECKING:
    from streamdesk.ui.history.bridge import HistoryBridge
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.window.conversation_list import ConversationList
    from streamdesk.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)
HIT_MESSAGES = 12  # drawn from an opened search hit on (about a screen; more as the reader scrolls)


def _resolved(loop: asyncio.AbstractEventLoop, value: bool) -> asyncio.Future[bool]:
    done: asyncio.Future[bool] = loop.create_future()
    done.set_result(value)
    return done


class HistoryActions(QObject):
    """The user's actions on the conversation list and on stored messages."""

    def __init__(self, history: HistoryBridge, window: MainWindow) -> None:
        super().__init__(history)
        self.history = history
        self.window = window
        self.editing: tuple[ChatSession, object] | None = None  # prompt being edited
        self._deleted: asyncio.Task[ConversationSnapshot | None] | None = None  # undo's
        self._running: set[asyncio.Task[Any]] = set()  # deletes, undos, exports, imports
        self._dialogs: list[Any] = []  # keep open dialogs referenced
        self._opening: asyncio.Task[bool] | None = None  # a search hit being read
        self.messages = MessageDeletions(history, window, run=self._run, say=self._say)

    def connect_list(self, lst: ConversationList) -> None:
        lst.renameRequested.connect(self.rename)
        lst.pinRequested.connect(self.pin)
        lst.deleteRequested.connect(self.delete_conversation)
        lst.exportRequested.connect(self.export_dialog)
        lst.settingsRequested.connect(self.settings_dialog)
        lst.undoRequested.connect(self.undo_delete)
        lst.searchRequested.connect(self.search)
        lst.hitActivated.connect(self.open_hit)

    def attach(self, session: ChatSession) -> None:
        """Wire a session's transcript (prompt and reply actions) to these actions."""
        view = session.view
        view.history_actions = self.history.store is not None
        view.alt_info = lambda k, s=session: self._alt_info(s, k)
        view.editRequested.connect(lambda k, s=session: self.edit(s, k))
        view.deleteRequested.connect(lambda k, s=session: self.delete_message(s, k))
        self.messages.attach(session)  # Ctrl+Z there undoes a deletion there
        view.regenerateRequested.connect(session.regenerate)
        session.declined.connect(lambda why: self._say(why, 8000))
        view.alternativeRequested.connect(lambda k, step, s=session: self.flip(s, k, step))

    def _say(self, text: str, ms: int = 4000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # -- the conversation list -------------------------------------------------------------

    def rename(self, key: int, title: str) -> None:
        title = " ".join(title.split())
        cid = self.history.cid_of_key.get(key)
        session = self.window.sessions.get(key)
        if not title:
            return
        if session is not None:
            session.title, session.named = title, True
            if cid is None and session.record is not None:  # not stored yet: its first send
                session.record.chosen_title = title
        if cid is not None and self.history.store is not None:
            self.history.store.rename(cid, title)
        self.window.conversations.set_title(key, title)

    def pin(self, key: int, pinned: bool) -> None:
        cid = self.history.cid_of_key.get(key)
        if cid is None or self.history.store is None:
            self._say("Send a message first: only stored conversations can be pinned.")
            return
        self.history.store.set_pinned(cid, pinned)
        self.window.conversations.set_pinned(key, pinned)

    def _run(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def finish(self) -> None:
        """Until the deletes, undos, exports and imports started so far have ended (the window
        closes the history after this)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def delete_conversation(self, key: int) -> asyncio.Task[ConversationSnapshot | None] | None:
        """Gone from the window at once, from the history on a worker thread; "Undo" in the
        sidebar puts it back for a few seconds. Returns the deletion (None: nothing stored)."""
        lst = self.window.conversations
        session = self.window.sessions.pop(key, None)
        if session is not None:
            session.discard()
            self.window.stack.removeWidget(session.view)
            session.view.deleteLater()
        cid = self.history.cid_of_key.pop(key, None)
        title = lst.title(key)
        lst.remove(key)
        deleted = None
        if cid is not None and self.history.store is not None:
            deleted = self._deleted = self._run(self._delete_stored(cid, title))
            lst.show_undo(f"Deleted “{title}”", UNDO_MS)
        if not self.window.sessions and lst.current_key() is None:
            self.window.new_chat()
        elif lst.current_key() is None and lst.keys():
            lst.select(lst.keys()[0])
        return deleted

    async def _delete_stored(self, cid: int, title: str) -> ConversationSnapshot | None:
        """The snapshot undo restores; None when the history could not delete it (listed
        again, with the reason said)."""
        store = self.history.store
        if store is None:
            return None
        try:
            return await asyncio.to_thread(store.delete_conversation, cid)
        except (HistoryError, sqlite3.Error) as exc:
            log.exception("could not delete a conversation")
            self._say(f"Could not delete “{title}”: {exc}", 8000)
            if self.history.key_of(cid) is None:  # still stored: listed again
                self._list_stored(cid, select=False)
            return None

    def _list_stored(self, cid: int, *, select: bool) -> Conversation | None:
        """Stored conversation `cid` in the list, as the history has it (returned); None when
        the window has closed, or the history cannot be read now: it is listed at the next
        start (the caller says what failed before)."""
        store = self.history.store
        if store is None:
            return None
        try:
            conv = store.get_conversation(cid)
        except (HistoryError, sqlite3.Error):
            log.warning("could not read conversation %d back to list it", cid, exc_info=True)
            return None
        self.history.list_stored(
            cid, conv.title, pinned=conv.pinned, select=select, when=conv.updated
        )
        return conv

    def undo_delete(self) -> asyncio.Task[int | None] | asyncio.Task[bool] | None:
        """The sidebar's Undo: put the last deleted conversation back (once its deletion is
        done; the task's result is its id), or else the last deleted messages (the task says
        whether they are back: `MessageDeletions.undo`). None: nothing to undo."""
        deleted, self._deleted = self._deleted, None
        if deleted is None:
            return self.messages.undo()
        return self._run(self._restore(deleted))

    async def _restore(self, deleted: asyncio.Task[ConversationSnapshot | None]) -> int | None:
        snapshot = await asyncio.shield(deleted)
        store = self.history.store
        if snapshot is None or store is None:
            return None
        try:
            cid = await asyncio.to_thread(store.restore_conversation, snapshot)
        except (HistoryError, sqlite3.Error) as exc:
            log.exception("could not restore a conversation")
            self._say(f"Could not undo the delete: {exc}", 8000)
            return None
        if self._list_stored(cid, select=True) is None:
            self._say("The conversation is back; it is listed at the next start.", 8000)
        return cid

    def export_dialog(self, key: int, fmt: str) -> None:
        cid = self.history.cid_of_key.get(key)
        if cid is None or self.history.store is None:
            self._say("Nothing stored to export yet.")
            return
        suffix = "md" if fmt == "md" else "json"
        name = self.window.conversations.title(key) or "conversation"
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in name).strip()
        dialog = QFileDialog(
            self.window, "Export conversation", f"{safe or 'conversation'}.{suffix}"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix)
        dialog.setNameFilter("Markdown (*.md)" if fmt == "md" else "JSON (*.json)")
        dialog.fileSelected.connect(lambda path: self.export_to(cid, fmt, Path(path)))
        self._open(dialog)

    def export_to(self, cid: int, fmt: str, path: Path) -> asyncio.Task[bool]:
        """Write conversation `cid` to `path` as Markdown ("md") or JSON, read and written on a
        worker thread; the task says whether the file was written."""
        return self._run(self._export(cid, fmt, path))

    async def _export(self, cid: int, fmt: str, path: Path) -> bool:
        store = self.history.store
        if store is None:
            return False
        self._say(f"Exporting to {path}…", 0)
        try:
            await asyncio.to_thread(_write_export, store, cid, fmt, path)
        except (OSError, HistoryError, sqlite3.Error) as exc:
            self._say(f"Could not export: {exc}", 8000)
            return False
        self._say(f"Exported to {path}")
        return True

    def import_dialog(self) -> None:
        dialog = QFileDialog(self.window, "Import a conversation (JSON export)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter("Streamdesk JSON export (*.json)")
        dialog.fileSelected.connect(lambda path: self.import_from(Path(path)))
        self._open(dialog)

    def import_from(self, path: Path) -> asyncio.Task[int | None]:
        """Add the conversation a JSON export at `path` holds, read and stored on a worker
        thread; the task's result is its id (None: not imported, the reason said)."""
        return self._run(self._import(path))

    async def _import(self, path: Path) -> int | None:
        store = self.history.store
        if store is None:
            return None
        self._say(f"Importing {path.name}…", 0)
        try:
            cid = await asyncio.to_thread(_read_import, store, path)
        except (OSError, ValueError, RecursionError, HistoryError, sqlite3.Error) as exc:
            self._say(f"Could not import {path.name}: {import_problem(exc)}", 8000)
            return None
        conv = self._list_stored(cid, select=True)
        if conv is None:
            self._say(f"Imported {path.name}; it is listed at the next start.", 8000)
        else:
            self._say(f"Imported “{conv.title}” ({conv.message_count} messages)")
        return cid

    def settings_dialog(self, key: int) -> ConversationSettingsDialog:
        """System prompt and parameters of conversation `key` (stored once it is saved)."""
        session = self.window.sessions.get(key)
        cid = self.history.cid_of_key.get(key)
        if session is None and cid is not None:
            session = self.history.open_stored(key, cid)
        assert session is not None
        dialog = ConversationSettingsDialog(self.window, session.system_prompt, session.params)
        dialog.accepted.connect(lambda: self._apply_settings(key, dialog))
        self._open(dialog)
        return dialog

    def _apply_settings(self, key: int, dialog: ConversationSettingsDialog) -> None:
        session = self.window.sessions.get(key)
        if session is None:
            return
        session.system_prompt, session.params = dialog.values()
        cid = self.history.cid_of_key.get(key)
        if cid is not None and self.history.store is not None:
            self.history.store.update_conversation(
                cid, system_prompt=session.system_prompt, params=session.params
            )

    def _open(self, dialog: Any) -> None:
        self._dialogs.append(dialog)
        dialog.finished.connect(lambda _r: self._dialogs.remove(dialog))
        dialog.open()

    # -- search ----------------------------------------------------------------------------

    def search(self, text: str) -> list[SearchHit]:
        hits = (
            self.history.store.search(text)
            if self.history.store is not None and text.strip()
            else []
        )
        self.window.conversations.show_results(hits, text)
        return hits

    def show_first(self, session: ChatSession) -> asyncio.Task[None]:
        """Ctrl+Home in a long conversation: its first messages drawn once every stored turn
        is read (off the loop)."""
        return self._run(session.show_first())

    def open_hit(self, hit: SearchHit) -> asyncio.Future[bool]:
        """Open the hit's conversation, draw the page holding the message, highlight it; the
        future says whether it is shown. A message above the turns read so far is read first
        (the turns from it down to them, off the loop): the future resolves once it is drawn.
        A newer open cancels one still reading."""
        loop = asyncio.get_running_loop()
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        key = self.history.key_of(hit.conversation_id)
        if key is None:  # not listed: older than the pages read, or stored by another process
            if self._list_stored(hit.conversation_id, select=False) is None:
                self._say("Could not read that conversation from the history.", 8000)
                return _resolved(loop, False)
            key = self.history.key_of(hit.conversation_id)
            if key is None:
                return _resolved(loop, False)
        self.window.conversations.select(key)
        session = self.window.sessions.get(key)
        if session is None:
            session = self.history.open_stored(key, hit.conversation_id)
        unread = session.earlier.left if session.earlier is not None else 0
        if unread and session.position_of(hit.message_id) is None:  # above the turns read
            self._opening = loop.create_task(self._read_and_show(hit, key, session))
            return self._opening
        return _resolved(loop, self._show_hit(hit, session))

    async def _read_and_show(self, hit: SearchHit, key: int, session: ChatSession) -> bool:
        try:
            await session.read_down_to(hit.message_id)
        except Exception:
            log.exception("could not read the messages down to a search hit")
            self._say("Could not read that message from the history.", 8000)
            return False
        finally:
            if self._opening is asyncio.current_task():
                self._opening = None
        if self.window.sessions.get(key) is not session:  # closed or deleted meanwhile
            return False
        return self._show_hit(hit, session)

    def _show_hit(self, hit: SearchHit, session: ChatSession) -> bool:
        """Draw the loaded turn holding the hit (a version set aside: flipped to first) and
        highlight the hit in it, with the lines before it in sight."""
        index = session.position_of(hit.message_id)
        store = self.history.store
        # In a branch an edit set aside, or an older alternative: flip to it.
        if (
            index is None
            and store is not None
            and not session.busy
            and store.reveal(hit.message_id)
        ):
            self.history.reload(session, hit.conversation_id)
            index = session.position_of(hit.message_id)
        if index is None:
            return False
        turn = session.turns[index]
        below = session.shown_to is not None and index >= session.shown_to
        if index < session.shown_from or below:  # not drawn: draw a page from there
            session.show_at(index, HIT_MESSAGES)
        msg_key = ("user", turn.key) if hit.message_id == turn.user_id else turn.key
        terms = [w.strip("\"'*") for w in self.window.conversations.search.text().split()]
        shown = bool(session.view.highlight(msg_key, [t for t in terms if t]))
        if shown:
            place_in_context(session.view)  # with the lines before it, not on an edge
        return shown

    # -- messages --------------------------------------------------------------------------

    def edit(self, session: ChatSession, key: object) -> None:
        """Put the prompt back in the box; the next send replaces it (and what followed)."""
        turn = next((t for t in session.turns if ("user", t.key) == key), None)
        if turn is None or session.busy:
            return
        self.editing = (session, turn.key)
        self.window.prompt.setPlainText(turn.prompt)
        self.window.focus_prompt()
        self._say("Editing a prompt: Enter resends it (what followed is kept as ‹ 1/2 ›).", 8000)

    def submit(self, session: ChatSession, text: str) -> bool:
        """The window's send hook: True if `text` resent an edited prompt."""
        if self.editing is None or self.editing[0] is not session:
            self.editing = None
            return False
        _session, key = self.editing
        self.editing = None
        turn = next((t for t in session.turns if t.key == key), None)
        if turn is None:
            return False
        # The store keeps the old prompt and what followed it: the new prompt becomes its
        # alternative and the rest is set aside (‹ 1/2 › on the prompt brings it back).
        return session.resend_edited(key, text) is not None

    def delete_message(self, session: ChatSession, key: object) -> Deletion | None:
        """A prompt goes with its replies, a reply alone (the next alternative shows, if any);
        the sidebar's Undo (or Ctrl+Z in the transcript) puts them back (`MessageDeletions`).
        This offer replaces a deleted conversation's."""
        deletion = self.messages.delete(session, key)
        if deletion is not None:
            self._deleted = None
        return deletion

    def flip(self, session: ChatSession, key: object, step: int) -> None:
        """Show the previous or next alternative of reply `key` (it becomes the active one)."""
        if isinstance(key, tuple):
            self.flip_prompt(session, key, step)
            return
        turn = next((t for t in session.turns if t.key == key), None)
        if turn is None or turn.reply_id is None or session.busy or self.history.store is None:
            return
        alts = self.history.store.alternatives(turn.reply_id)
        index = next(i for i, a in enumerate(alts) if a.id == turn.reply_id)
        new = alts[(index + step) % len(alts)]
        self.history.store.set_active_alternative(new.id)
        fill_turn(turn, new, turn.target)
        turn.alt_index, turn.alt_count = alts.index(new), len(alts)
        session.rerender()

    def flip_prompt(self, session: ChatSession, key: object, step: int) -> None:
        """Show another version of an edited prompt, with the replies and turns that followed it."""
        turn = next((t for t in session.turns if ("user", t.key) == key), None)
        cid = self.history.cid_of_key.get(self.history.session_key(session) or -1)
        if turn is None or turn.user_id is None or session.busy or self.history.store is None:
            return
        alts = self.history.store.alternatives(turn.user_id)
        index = next(i for i, a in enumerate(alts) if a.id == turn.user_id)
        self.history.store.set_active_alternative(alts[(index + step) % len(alts)].id)
        if cid is not None:
            self.history.reload(session, cid)

    def _alt_info(self, session: ChatSession, key: object) -> tuple[int, int] | None:
        """(shown version, versions) of a prompt or reply, None when it has one version."""
        store = self.history.store
        if isinstance(key, tuple):  # a prompt: edited versions, counted in the store
            turn = next((t for t in session.turns if ("user", t.key) == key), None)
            if turn is None or store is None:
                return None
            if turn.user_id is None:  # an edited prompt being sent: it will be the newest
                if turn.edit_of is None:
                    return None
                count = store.alternative_position(turn.edit_of)[1] + 1
                return count, count
            index, count = store.alternative_position(turn.user_id)
            return (index + 1, count) if count > 1 else None
        turn = next((t for t in session.turns if t.key == key), None)
        if turn is None or turn.alt_count < 2:
            return None
        return turn.alt_index + 1, turn.alt_count


def _write_export(store: HistoryStore, cid: int, fmt: str, path: Path) -> None:
    """Conversation `cid` as Markdown ("md") or JSON, written to `path` (a worker thread's)."""
    if fmt == "md":
        text = store.export_markdown(cid)
    else:
        text = json.dumps(store.export_json(cid), ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")


def _read_import(store: HistoryStore, path: Path) -> int:
    """The JSON export at `path` added to the history (a worker thread's); its new id."""
    return store.import_json(json.loads(path.read_text(encoding="utf-8")))
