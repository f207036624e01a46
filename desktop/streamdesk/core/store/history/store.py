"""`HistoryStore`: one open history database (conversations, messages, alternatives, search).

Several stores (two windows, the window and the CLI) may write one file at once: WAL mode, a busy
timeout and short `BEGIN IMMEDIATE` transactions keep that safe (the writes made while a store's
start-up check runs share one transaction, committed when it ends: `database.py`). Streaming
replies are written by `ReplyWriter` in small batches, so a crash loses at most the last batch;
rows left 'streaming' by a process that died reopen as 'partial'.

A prompt's versions (branches) and a reply's alternatives share one `group_id`; `_switch_group`
flips which one is shown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from streamdesk.core.attachments import Attachment
from streamdesk.core.paths import data_dir
from streamdesk.core.store.history import export
from streamdesk.core.store.history.database import (
    DISK_FULL_NOTICE,
    HistoryDatabase,
    HistoryDiskFull,
    IntegrityReport,
)
from streamdesk.core.store.history.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Conversation,
    ConversationNotFound,
    ConversationSnapshot,
    ConversationSummary,
    MessageNotFound,
    MessagesSnapshot,
    SearchHit,
    StoredMessage,
    fts_query,
    make_title,
)
from streamdesk.core.store.history.rows import (
    MESSAGE_COLS,
    append_chunk,
    columns,
    fold_chunks,
    insert_row,
    link_images,
    message_from_row,
    read_images,
    update_message_row,
)
from streamdesk.core.store.history.schema import BUSY_TIMEOUT
from streamdesk.core.store.history.usage import UsageReports, usage_reports


def default_path() -> Path:
    return data_dir() / "history.sqlite3"


def last_used_provider(path: Path | None = None) -> str | None:
    """The provider of the conversation changed last (the one the window reopens at start),
    read without opening the store (no migration, no check, no lock); None when there is no
    history or it cannot be read that way."""
    path = default_path() if path is None else path
    if not path.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT provider FROM conversations ORDER BY updated DESC, id DESC LIMIT 1"
            ).fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row and row[0] else None


class HistoryStore:
    """One open history database. Thread-safe (one lock); every write is a short transaction,
    or joins the one kept open while the start-up check runs (it never waits for the check).

    `busy_timeout` is how long a write waits for another process's transaction before it fails.
    """

    def __init__(self, path: Path | None = None, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path if path is not None else default_path()
        self._db = HistoryDatabase(self.path, busy_timeout=busy_timeout)
        self._recover_streaming()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # What the window and `ask` tell the user

    @property
    def recovery_notice(self) -> str | None:
        """Set once when this store found the file damaged and repaired it (say it once)."""
        return self._db.recovery_notice

    @property
    def disk_full(self) -> bool:
        """A write failed for lack of space and nothing has been saved since."""
        return self._db.disk_full

    @property
    def disk_full_notice(self) -> str | None:
        """The sentence to show while the disk is full (None once space returns)."""
        return DISK_FULL_NOTICE if self._db.disk_full else None

    @property
    def unsaved_writes(self) -> int:
        """Writes not committed yet: kept in memory because the disk is full (lost if the
        process exits), or made while the start-up check runs (committed when it passes)."""
        return self._db.kept_writes

    def save_unsaved(self) -> bool:
        """Try to save the kept reply writes now; True when everything is saved."""
        try:
            return self._db.save_kept()
        except HistoryDiskFull:
            return False

    def add_notice_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback` when `recovery_notice` or `disk_full` changes (on the thread that
        wrote or read, or on the start-up check's when it repairs the file for writes made
        meanwhile)."""
        self._db.add_listener(callback)

    def check(self) -> IntegrityReport:
        """A full integrity check; a damaged file is repaired and the report says how."""
        problems = self._db.check()
        with self._db.reading() as db:
            conversations = db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
            messages = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        return IntegrityReport(conversations, messages, problems, self.recovery_notice)

    def _recover_streaming(self) -> None:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT id, writer_pid FROM messages WHERE status = 'streaming'"
            ).fetchall()
        dead = [row["id"] for row in rows if not _process_alive(row["writer_pid"])]
        if not dead:
            return

        def write(db: sqlite3.Connection) -> None:
            for message_id in dead:
                fold_chunks(db, message_id)
                db.execute(
                    "UPDATE messages SET status = 'partial', writer_pid = NULL"
                    " WHERE id = ? AND status = 'streaming'",
                    (message_id,),
                )

        with contextlib.suppress(HistoryDiskFull):  # then a later open recovers them
            self._db.write(write)

    # Conversations

    def create_conversation(
        self,
        *,
        title: str = "",
        provider: str = "",
        model: str = "",
        system_prompt: str = "",
        params: dict[str, Any] | None = None,
        base_url: str = "",
        ws_url: str | None = None,
        protocol: str = "sse",
    ) -> int:
        now = time.time()
        row = (
            title, now, now, provider, model, system_prompt, json.dumps(params or {}), base_url,
            ws_url or "", protocol,
        )  # fmt: skip

        def write(db: sqlite3.Connection) -> int:
            cur = db.execute(
                "INSERT INTO conversations (title, created, updated, provider, model,"
                " system_prompt, params, base_url, ws_url, protocol)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cur.lastrowid or 0)

        return self._db.write(write)

    def list_conversations(self, limit: int = 500, offset: int = 0) -> list[ConversationSummary]:
        """Pinned first, then the most recently updated."""
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id"
                " AND m.active = 1) AS message_count, (SELECT m.status FROM messages m"
                " WHERE m.conversation_id = c.id AND m.active = 1"
                " ORDER BY m.group_id DESC, m.alt_index DESC LIMIT 1) AS last_status"
                " FROM conversations c"
                " ORDER BY c.pinned DESC, c.updated DESC, c.id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [
            ConversationSummary(
                r["id"], r["title"], r["created"], r["updated"], bool(r["pinned"]),
                r["provider"], r["model"], r["message_count"], r["last_status"] or "complete",
            )
            for r in rows
        ]  # fmt: skip

    def get_conversation(self, conversation_id: int) -> Conversation:
        with self._db.reading() as db:
            return _conversation(db, conversation_id)

    def _update_conv(self, conversation_id: int, **cols: Any) -> None:
        cols["updated"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in cols)

        def write(db: sqlite3.Connection) -> None:
            cur = db.execute(
                f"UPDATE conversations SET {sets} WHERE id = ?", (*cols.values(), conversation_id)
            )
            if cur.rowcount == 0:
                raise ConversationNotFound(conversation_id)

        self._db.write(write)

    def rename(self, conversation_id: int, title: str) -> None:
        self._update_conv(conversation_id, title=title)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._update_conv(conversation_id, pinned=int(pinned))

    def update_conversation(
        self,
        conversation_id: int,
        *,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        provider: str | None = None,
        model: str | None = None,
        base_url: str | None = None,
        ws_url: str | None = None,
        protocol: str | None = None,
    ) -> None:
        """Change the given fields; None leaves a field as it is."""
        cols: dict[str, Any] = {
            "system_prompt": system_prompt, "provider": provider, "model": model,
            "base_url": base_url, "ws_url": ws_url, "protocol": protocol,
            "params": None if params is None else json.dumps(params),
        }  # fmt: skip
        self._update_conv(conversation_id, **{k: v for k, v in cols.items() if v is not None})

    def auto_title(self, conversation_id: int, first_prompt: str) -> str:
        """Title the conversation from its first prompt unless it already has a title."""
        title = make_title(first_prompt)
        self._db.write(
            lambda db: db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
                (title, conversation_id),
            )
        )
        return self.get_conversation(conversation_id).title

    def delete_conversation(self, conversation_id: int) -> ConversationSnapshot:
        """Delete it and its messages; the snapshot lets `restore_conversation` undo this."""
        data = self._dump(conversation_id, public=False)
        self._db.write(
            lambda db: db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        )
        return ConversationSnapshot(conversation_id, data)

    def restore_conversation(self, snapshot: ConversationSnapshot) -> int:
        """Put a deleted conversation back, under its old ids when they are still free."""
        try:
            return self._insert_export(snapshot.data, keep_ids=True)
        except sqlite3.IntegrityError:
            return self._insert_export(snapshot.data, keep_ids=False)

    # Messages

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        status: str = "complete",
        alternative_of: int | None = None,
        **meta: Any,
    ) -> int:
        """Append a message; `alternative_of=id` adds it as the new active alternative of that one.

        `meta` takes the fields of `update_message` (reasoning, usage, timings, cost, ...).
        """
        cols = columns({**meta, "status": status})
        cols.update(conversation_id=conversation_id, role=role, content=content)
        cols["created"] = now = time.time()

        def write(db: sqlite3.Connection) -> int:
            if alternative_of is not None:
                group = db.execute(
                    "SELECT group_id, conversation_id FROM messages WHERE id = ?",
                    (alternative_of,),
                ).fetchone()
                if group is None or group["conversation_id"] != conversation_id:
                    raise MessageNotFound(alternative_of)
                cols["group_id"] = group["group_id"]
                cols["alt_index"] = db.execute(
                    "SELECT MAX(alt_index) + 1 FROM messages WHERE group_id = ?",
                    (cols["group_id"],),
                ).fetchone()[0]
                _switch_group(db, conversation_id, cols["group_id"], None, branch=role == "user")
            try:
                message_id = insert_row(db, "messages", cols)
            except sqlite3.IntegrityError as exc:
                raise ConversationNotFound(conversation_id) from exc
            if alternative_of is None:
                db.execute("UPDATE messages SET group_id = id WHERE id = ?", (message_id,))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            return message_id

        return self._db.write(write)

    def messages(
        self,
        conversation_id: int,
        *,
        active_only: bool = True,
        limit: int | None = None,
        before_id: int | None = None,
    ) -> list[StoredMessage]:
        """Messages in transcript order; with `limit`, the newest page (before `before_id`)."""
        with self._db.reading() as db:
            return _messages(db, conversation_id, active_only, limit, before_id)

    def get_message(self, message_id: int) -> StoredMessage:
        with self._db.reading() as db:
            row = db.execute(
                f"SELECT {MESSAGE_COLS} FROM messages m WHERE m.id = ?", (message_id,)
            ).fetchone()
        if row is None:
            raise MessageNotFound(message_id)
        return message_from_row(row)

    def count_messages(self, conversation_id: int) -> int:
        """Active messages (what the transcript shows)."""
        with self._db.reading() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND active = 1",
                (conversation_id,),
            ).fetchone()
        return int(row[0])

    def turn_page(
        self, conversation_id: int, *, limit: int, before_group: int | None = None
    ) -> list[StoredMessage]:
        """The newest `limit` shown messages (before group `before_group`), in transcript order,
        widened back to the prompt the first of them answers: a page holds whole turns.

        Reads only that page (an index range), whatever the conversation's length.
        """
        with self._db.reading() as db:
            return _turn_page(db, conversation_id, limit, before_group)

    def messages_before(self, conversation_id: int, group_id: int) -> list[StoredMessage]:
        """Every shown message above group `group_id`, in transcript order, read on a connection
        of its own: safe on a worker thread, and the shared connection stays free meanwhile (a
        long conversation's whole read never holds up the window's reads or a reply's writes)."""
        with self._db.reading_apart() as db:
            return _turn_page(db, conversation_id, None, group_id)

    def messages_down_to(
        self, conversation_id: int, message_id: int, before_group: int, *, above: int = 0
    ) -> list[StoredMessage]:
        """The shown messages from the turn holding message `message_id` (with about `above`
        messages before it, back to a prompt) down to group `before_group`, in transcript order:
        what a search hit above the turns read so far needs, not the turns above it. [] when the
        message is not above `before_group`. Reads only that index range, on a connection of its
        own (safe on a worker thread, like `messages_before`)."""
        with self._db.reading_apart() as db:
            return _turns_down_to(db, conversation_id, message_id, before_group, above)

    def count_before(self, conversation_id: int, group_id: int) -> int:
        """Shown messages above group `group_id` (what a "load earlier" line has left)."""
        with self._db.reading() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND active = 1"
                " AND group_id < ?",
                (conversation_id, group_id),
            ).fetchone()
        return int(row[0])

    def update_message(self, message_id: int, **fields: Any) -> None:
        """Set any of: content, reasoning, status, failure_kind, failure_message, protocol, model,
        usage (Usage or mapping), prompt_tokens, completion_tokens, timings (mapping), cost.

        While the disk is full the change is kept in memory, in order with the reply's text, and
        saved when space returns (`unsaved_writes`); an unknown id then goes unnoticed.
        """
        cols = columns(fields)
        if not cols:
            return
        found = True

        def write(db: sqlite3.Connection) -> None:
            nonlocal found
            found = update_message_row(db, message_id, cols)

        self._db.write_or_keep(write)
        if not found:
            raise MessageNotFound(message_id)

    def append_to_message(self, message_id: int, text: str, reasoning: str = "") -> None:
        """Append streamed text: one small INSERT, whatever the reply's length; no FTS work.

        The chunks are folded into the message by the next `update_message` (e.g. finish).
        While the disk is full the text is kept in memory and saved when space returns.
        """
        self._db.write_or_keep(lambda db: append_chunk(db, message_id, text, reasoning))

    def delete_message(self, message_id: int) -> None:
        """Delete one message; if it was the active alternative, the newest other one shows."""
        self.delete_messages([message_id])

    def delete_messages(self, message_ids: Iterable[int]) -> MessagesSnapshot:
        """Delete these messages in one transaction, all or none (MessageNotFound names one not
        stored); where a shown alternative goes, the newest other one of its group shows. The
        snapshot lets `restore_messages` undo this."""
        wanted = list(dict.fromkeys(message_ids))

        def write(db: sqlite3.Connection) -> MessagesSnapshot:
            rows = []
            for message_id in wanted:
                fold_chunks(db, message_id)  # a streaming reply's text so far goes with it
                row = db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
                if row is None:
                    raise MessageNotFound(message_id)
                rows.append(dict(row))
            links = [
                (int(r[0]), int(r[1]), str(r[2]), str(r[3]))
                for message_id in wanted
                for r in db.execute(
                    "SELECT message_id, position, hash, name FROM message_attachments"
                    " WHERE message_id = ? ORDER BY position",
                    (message_id,),
                )
            ]
            images = read_images(db, (link[2] for link in links))
            db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in wanted])
            for group in dict.fromkeys(r["group_id"] for r in rows if r["active"]):
                db.execute(
                    "UPDATE messages SET active = 1 WHERE id = (SELECT id FROM messages"
                    " WHERE group_id = ? ORDER BY alt_index DESC LIMIT 1)",
                    (group,),
                )
            return MessagesSnapshot(tuple(rows), tuple(links), images)

        return self._db.write(write)

    def restore_messages(self, snapshot: MessagesSnapshot) -> dict[int, int]:
        """Put deleted messages back as they were, in their place: their rows, images, and the
        one each group showed shown again (alternatives added since follow them). Returns
        their ids by old id: the same unless taken since. ConversationNotFound: their
        conversation is gone."""

        def write(db: sqlite3.Connection) -> dict[int, int]:
            for cid in snapshot.conversation_ids:
                found = db.execute("SELECT 1 FROM conversations WHERE id = ?", (cid,)).fetchone()
                if found is None:
                    raise ConversationNotFound(cid)
            ids: dict[int, int] = {}
            for row in sorted(snapshot.rows, key=lambda r: (r["group_id"], r["alt_index"])):
                ids[int(row["id"])] = _put_back(db, row)
            db.executemany(
                "INSERT OR IGNORE INTO attachments (hash, mime, data, width, height, name)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (i.digest, i.mime, i.data, i.width, i.height, i.name)
                    for i in snapshot.images.values()
                ],
            )
            db.executemany(
                "INSERT INTO message_attachments (message_id, position, hash, name)"
                " VALUES (?, ?, ?, ?)",
                [(ids[m], p, h, n) for m, p, h, n in snapshot.links if h in snapshot.images],
            )
            for row in snapshot.rows:
                if row["active"]:  # shown again: the alternative shown in its place steps back
                    db.execute(
                        "UPDATE messages SET active = 0 WHERE group_id = ? AND id <> ?",
                        (row["group_id"], ids[int(row["id"])]),
                    )
            return ids

        return self._db.write(write)

    # Images

    def attach_images(self, message_id: int, images: Sequence[Attachment]) -> None:
        """Link `images` to a message, storing each image once by its content hash."""
        if not images:
            return

        def write(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone() is None:
                raise MessageNotFound(message_id)
            link_images(db, message_id, images)

        self._db.write(write)

    def images(self, digests: Iterable[str]) -> dict[str, Attachment]:
        """The stored images with these content hashes (as `StoredAttachment.digest` names them)."""
        with self._db.reading() as db:
            return read_images(db, digests)

    def images_of(self, messages: Iterable[StoredMessage]) -> dict[str, Attachment]:
        """Every image the messages link to, by content hash (for `turns_of`)."""
        return self.images(a.digest for m in messages for a in m.attachments)

    # Alternatives and branches

    def alternatives(self, message_id: int) -> list[StoredMessage]:
        """Every alternative in the message's group, oldest first."""
        with self._db.reading() as db:
            rows = db.execute(
                f"SELECT {MESSAGE_COLS} FROM messages m WHERE m.group_id ="
                " (SELECT group_id FROM messages WHERE id = ?) ORDER BY m.alt_index",
                (message_id,),
            ).fetchall()
        if not rows:
            raise MessageNotFound(message_id)
        return [message_from_row(r) for r in rows]

    def set_active_alternative(self, message_id: int) -> None:
        """Show this alternative; for a prompt, also the replies and turns that followed it."""

        def write(db: sqlite3.Connection) -> None:
            row = db.execute(
                "SELECT conversation_id, group_id, active, role FROM messages WHERE id = ?",
                (message_id,),
            ).fetchone()
            if row is None:
                raise MessageNotFound(message_id)
            if not row["active"]:
                cid, group, branch = row["conversation_id"], row["group_id"], row["role"] == "user"
                _switch_group(db, cid, group, message_id, branch=branch)

        self._db.write(write)

    def reveal(self, message_id: int) -> bool:
        """Put a message back in the shown transcript (a search hit in a hidden branch or an
        older alternative): flip to the versions it belongs under, outermost first."""
        for _ in range(64):  # one level per round; bounded against a damaged file
            cur = self.get_message(message_id)
            if cur.active:
                return True
            for _ in range(64):
                if cur.superseded_by is not None:  # shown again with that prompt version
                    cur = self.get_message(cur.superseded_by)
                    continue
                group = self.alternatives(cur.id)
                if any(a.active for a in group):
                    self.set_active_alternative(cur.id)
                    break
                hidden = next((a for a in group if a.superseded_by is not None), None)
                if hidden is None:
                    return False
                cur = hidden  # the whole group is hidden: show it first
        return self.get_message(message_id).active

    def hidden_messages(self, conversation_id: int) -> list[StoredMessage]:
        """Messages hidden by an edited prompt (kept; flipping the prompt back shows them)."""
        with self._db.reading() as db:
            rows = db.execute(
                f"SELECT {MESSAGE_COLS} FROM messages m WHERE m.conversation_id = ?"
                " AND m.superseded_by IS NOT NULL ORDER BY m.group_id, m.alt_index",
                (conversation_id,),
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def alternative_position(self, message_id: int) -> tuple[int, int]:
        """(0-based index among its group's alternatives, how many there are)."""
        with self._db.reading() as db:
            row = db.execute(
                "SELECT (SELECT COUNT(*) FROM messages a WHERE a.group_id = m.group_id"
                " AND a.alt_index < m.alt_index), (SELECT COUNT(*) FROM messages a"
                " WHERE a.group_id = m.group_id) FROM messages m WHERE m.id = ?",
                (message_id,),
            ).fetchone()
        if row is None:
            raise MessageNotFound(message_id)
        return int(row[0]), int(row[1])

    # Usage

    def usage(self, *, since: dt.date | None = None, until: dt.date | None = None) -> UsageReports:
        """Tokens and cost of the stored replies by day, by provider and by model (`usage.py`),
        read on a connection of its own: safe on a worker thread, the shared one stays free."""
        with self._db.reading_apart() as db:
            return usage_reports(db, since=since, until=until)

    # Search

    def search(self, text: str, limit: int = 100) -> list[SearchHit]:
        """Full-text search over every finished message, newest first, one hit per message.

        A message's versions (a regenerated reply, an edited prompt) share a group: it is
        listed once, as the shown version if that matches, else its newest matching one.
        Newest first lets FTS5 stop after `limit` hits; ranking by bm25 would score every match,
        which is slow for a common word (benchmarks/history.py measures it). The check for a
        better version of the same group looks FTS5 up by rowid, so it costs one seek per
        version, not a scan of every match.
        """
        query = fts_query(text)
        if query is None:
            return []
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT m.conversation_id, m.id, c.title, m.role, m.created,"
                " snippet(messages_fts, 0, :start, :end, '…', 16) AS snippet"
                " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
                " JOIN conversations c ON c.id = m.conversation_id"
                " WHERE messages_fts MATCH :query AND NOT EXISTS ("
                "  SELECT 1 FROM messages o JOIN messages_fts f ON f.rowid = o.id"
                "  WHERE o.group_id = m.group_id"
                "  AND o.id <> m.id"
                "  AND (o.active > m.active OR (o.active = m.active AND o.id > m.id))"
                "  AND f.messages_fts MATCH :query)"
                " ORDER BY messages_fts.rowid DESC LIMIT :limit",
                {"start": HIGHLIGHT_START, "end": HIGHLIGHT_END, "query": query, "limit": limit},
            ).fetchall()
        return [
            SearchHit(
                r["conversation_id"], r["id"], r["title"], r["role"], r["snippet"], r["created"]
            )
            for r in rows
        ]

    # Export and import

    # Exports read in one transaction on a connection of their own: a consistent snapshot,
    # safe on a worker thread, and a long conversation's read never holds up the window's
    # reads or a reply's writes on the shared connection.

    def _dump(self, conversation_id: int, *, public: bool) -> dict[str, Any]:
        with self._db.reading_apart() as db:
            conv = _conversation(db, conversation_id)
            msgs = _messages(db, conversation_id, active_only=False)
            images = read_images(db, (a.digest for m in msgs for a in m.attachments))
        return export.to_json(conv, msgs, public=public, images=images)

    def export_markdown(self, conversation_id: int) -> str:
        with self._db.reading_apart() as db:
            conv = _conversation(db, conversation_id)
            msgs = _messages(db, conversation_id)
        return export.to_markdown(conv, msgs)

    def export_json(self, conversation_id: int) -> dict[str, Any]:
        """Metadata and every message with alternatives, usage and timings; never secrets."""
        return self._dump(conversation_id, public=True)

    def import_json(self, data: dict[str, Any]) -> int:
        """Add an exported conversation as a new one; raises HistoryImportError saying why not."""
        return self._insert_export(data, keep_ids=False)

    def _insert_export(self, data: Mapping[str, Any], *, keep_ids: bool) -> int:
        return self._db.write(lambda db: export.insert_export(db, data, keep_ids=keep_ids))


def _conversation(db: sqlite3.Connection, conversation_id: int) -> Conversation:
    """`HistoryStore.get_conversation` on connection `db`."""
    r = db.execute(
        "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id"
        " AND m.active = 1) AS message_count FROM conversations c WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    if r is None:
        raise ConversationNotFound(conversation_id)
    return Conversation(
        r["id"], r["title"], r["created"], r["updated"], r["provider"], r["model"],
        r["system_prompt"], json.loads(r["params"]), bool(r["pinned"]), r["message_count"],
        r["base_url"], r["ws_url"], r["protocol"],
    )  # fmt: skip


def _messages(
    db: sqlite3.Connection,
    conversation_id: int,
    active_only: bool = True,
    limit: int | None = None,
    before_id: int | None = None,
) -> list[StoredMessage]:
    """`HistoryStore.messages` on connection `db`."""
    where, args = ["m.conversation_id = ?"], [conversation_id]
    if active_only:
        where.append("m.active = 1")
    if before_id is not None:
        row = db.execute("SELECT group_id FROM messages WHERE id = ?", (before_id,)).fetchone()
        where.append("m.group_id < ?")
        args.append(row[0] if row else before_id)
    rows = db.execute(
        f"SELECT {MESSAGE_COLS} FROM messages m WHERE {' AND '.join(where)}"
        " ORDER BY m.group_id DESC, m.alt_index DESC LIMIT ?",
        (*args, -1 if limit is None else limit),
    ).fetchall()
    return [message_from_row(r) for r in reversed(rows)]


def _turn_page(
    db: sqlite3.Connection, conversation_id: int, limit: int | None, before_group: int | None
) -> list[StoredMessage]:
    """`HistoryStore.turn_page` on connection `db`; `limit` None: every message."""
    where = "m.conversation_id = ? AND m.active = 1"
    args: list[Any] = [conversation_id]
    if before_group is not None:
        where += " AND m.group_id < ?"
        args.append(before_group)
    start = None if limit is None else _page_start(db, where, args, limit)
    if start is not None:
        where += " AND m.group_id >= ?"
        args.append(start)
    return _shown_rows(db, where, args)


def _turns_down_to(
    db: sqlite3.Connection, conversation_id: int, message_id: int, before_group: int, above: int
) -> list[StoredMessage]:
    """`HistoryStore.messages_down_to` on connection `db`."""
    row = db.execute(
        "SELECT group_id FROM messages WHERE id = ? AND conversation_id = ?",
        (message_id, conversation_id),
    ).fetchone()
    if row is None or row[0] >= before_group:
        return []
    upto = "m.conversation_id = ? AND m.active = 1 AND m.group_id <= ?"
    start = _page_start(db, upto, [conversation_id, row[0]], above + 1)
    where = "m.conversation_id = ? AND m.active = 1 AND m.group_id < ?"
    args: list[Any] = [conversation_id, before_group]
    if start is not None:
        where += " AND m.group_id >= ?"
        args.append(start)
    return _shown_rows(db, where, args)


def _page_start(db: sqlite3.Connection, where: str, args: list[Any], limit: int) -> int | None:
    """The group the newest `limit` messages matching `where` start at, back to the prompt the
    first of them answers (a page holds whole turns); None when fewer match (from the first)."""
    start = db.execute(
        f"SELECT m.group_id FROM messages m WHERE {where}"
        " ORDER BY m.group_id DESC, m.alt_index DESC LIMIT 1 OFFSET ?",
        (*args, max(0, limit - 1)),
    ).fetchone()
    if start is None:
        return None
    prompt = db.execute(  # none: the page starts with a reply
        f"SELECT m.group_id FROM messages m WHERE {where} AND m.role = 'user'"
        " AND m.group_id <= ? ORDER BY m.group_id DESC LIMIT 1",
        (*args, start[0]),
    ).fetchone()
    return int((prompt or start)[0])


def _shown_rows(db: sqlite3.Connection, where: str, args: list[Any]) -> list[StoredMessage]:
    rows = db.execute(
        f"SELECT {MESSAGE_COLS} FROM messages m WHERE {where} ORDER BY m.group_id, m.alt_index",
        args,
    ).fetchall()
    return [message_from_row(r) for r in rows]


def _switch_group(
    db: sqlite3.Connection, cid: int, group_id: int, show: int | None, *, branch: bool
) -> None:
    """Deactivate group `group_id`, then activate `show` (if any). Inside the caller's transaction.

    With `branch` (a prompt's versions), what follows the group is swapped too: the active
    messages of later groups are tagged with the id of the version they followed and hidden, and
    those tagged with `show` come back, so flipping back restores exactly them. A regenerated
    reply is not a branch: the turns after it stay.
    """
    old = db.execute(
        "SELECT id FROM messages WHERE group_id = ? AND active = 1", (group_id,)
    ).fetchone()
    db.execute("UPDATE messages SET active = 0 WHERE group_id = ?", (group_id,))
    if old is not None and branch:
        db.execute(
            "UPDATE messages SET active = 0, superseded_by = ?"
            " WHERE conversation_id = ? AND active = 1 AND group_id > ?",
            (old[0], cid, group_id),
        )
    if show is not None:
        db.execute("UPDATE messages SET active = 1 WHERE id = ?", (show,))
        db.execute(
            "UPDATE messages SET active = 1, superseded_by = NULL WHERE superseded_by = ?",
            (show,),
        )


def _put_back(db: sqlite3.Connection, row: Mapping[str, Any]) -> int:
    """Insert a deleted message's row again (inside the caller's transaction), under its id
    when that is free; an alternative added since at its place among its group's moves after
    it. Returns its id."""
    cols = dict(row)
    taken = db.execute(
        "SELECT 1 FROM messages WHERE group_id = ? AND alt_index = ?",
        (cols["group_id"], cols["alt_index"]),
    ).fetchone()
    if taken is not None:
        db.execute(
            "UPDATE messages SET alt_index = alt_index + 1 WHERE group_id = ? AND alt_index >= ?",
            (cols["group_id"], cols["alt_index"]),
        )
    if db.execute("SELECT 1 FROM messages WHERE id = ?", (cols["id"],)).fetchone() is not None:
        del cols["id"]
    return insert_row(db, "messages", cols)


def _process_alive(pid: int | None) -> bool:
    """Whether the process that was streaming into a row still runs (then leave the row alone)."""
    if not pid or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
