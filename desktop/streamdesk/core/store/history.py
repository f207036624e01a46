"""Conversation history in SQLite: conversations, messages with alternatives, search, export.

Several stores (two windows, the window and the CLI) may write one file at once: WAL mode, a busy
timeout and short `BEGIN IMMEDIATE` transactions keep that safe. Streaming replies are written by
`ReplyWriter` (history_writer.py) in small batches, so a crash loses at most the last batch; rows
left 'streaming' by a process that died reopen as 'partial'.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from streamdesk.core.paths import data_dir
from streamdesk.core.store import history_export as export
from streamdesk.core.store.history_messages import MessageOps
from streamdesk.core.store.history_models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Conversation,
    ConversationNotFound,
    ConversationSnapshot,
    ConversationSummary,
    HistoryError,
    HistoryImportError,
    MessageNotFound,
    SearchHit,
    StoredMessage,
    fts_query,
    make_title,
)
from streamdesk.core.store.history_rows import (
    fold_chunks,
    insert_export,
    pid_alive,
)
from streamdesk.core.store.history_schema import connect, migrate
from streamdesk.core.store.history_writer import ReplyWriter

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "Conversation",
    "ConversationNotFound",
    "ConversationSnapshot",
    "ConversationSummary",
    "HistoryError",
    "HistoryImportError",
    "HistoryStore",
    "MessageNotFound",
    "ReplyWriter",
    "SearchHit",
    "StoredMessage",
    "default_path",
]


def default_path() -> Path:
    return data_dir() / "history.sqlite3"


class HistoryStore(MessageOps):
    """One open history database. Thread-safe (one lock); every write is a short transaction."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        self._lock = threading.RLock()
        self._conn = connect(self.path)
        migrate(self._conn)
        self._recover_streaming()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot across several SELECTs."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def _recover_streaming(self) -> None:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, writer_pid FROM messages WHERE status = 'streaming'"
            ).fetchall()
        dead = [row["id"] for row in rows if not pid_alive(row["writer_pid"])]
        if dead:
            with self._write() as db:
                for message_id in dead:
                    fold_chunks(db, message_id)
                    db.execute(
                        "UPDATE messages SET status = 'partial', writer_pid = NULL"
                        " WHERE id = ? AND status = 'streaming'",
                        (message_id,),
                    )

    # Conversations

    def create_conversation(
        self,
        *,
        title: str = "",
        provider: str = "",
        model: str = "",
        system_prompt: str = "",
        params: dict[str, Any] | None = None,
    ) -> int:
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO conversations (title, created, updated, provider, model,"
                " system_prompt, params) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (title, now, now, provider, model, system_prompt, json.dumps(params or {})),
            )
        return int(cur.lastrowid or 0)

    def list_conversations(self, limit: int = 500, offset: int = 0) -> list[ConversationSummary]:
        """Pinned first, then the most recently updated."""
        with self._lock:
            rows = self._conn.execute(
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
        with self._lock:
            r = self._conn.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id"
                " AND m.active = 1) AS message_count FROM conversations c WHERE c.id = ?",
                (conversation_id,),
            ).fetchone()
        if r is None:
            raise ConversationNotFound(conversation_id)
        return Conversation(
            r["id"], r["title"], r["created"], r["updated"], r["provider"], r["model"],
            r["system_prompt"], json.loads(r["params"]), bool(r["pinned"]), r["message_count"],
        )  # fmt: skip

    def _update_conv(self, conversation_id: int, **cols: Any) -> None:
        cols["updated"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in cols)
        with self._write() as db:
            cur = db.execute(
                f"UPDATE conversations SET {sets} WHERE id = ?", (*cols.values(), conversation_id)
            )
        if cur.rowcount == 0:
            raise ConversationNotFound(conversation_id)

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
    ) -> None:
        """Change the given fields; None leaves a field as it is."""
        cols: dict[str, Any] = {
            "system_prompt": system_prompt, "provider": provider, "model": model,
            "params": None if params is None else json.dumps(params),
        }  # fmt: skip
        self._update_conv(conversation_id, **{k: v for k, v in cols.items() if v is not None})

    def auto_title(self, conversation_id: int, first_prompt: str) -> str:
        """Title the conversation from its first prompt unless it already has a title."""
        title = make_title(first_prompt)
        with self._write() as db:
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
                (title, conversation_id),
            )
        return self.get_conversation(conversation_id).title

    def delete_conversation(self, conversation_id: int) -> ConversationSnapshot:
        """Delete it and its messages; the snapshot lets `restore_conversation` undo this."""
        data = self._dump(conversation_id, public=False)
        with self._write() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return ConversationSnapshot(conversation_id, data)

    def restore_conversation(self, snapshot: ConversationSnapshot) -> int:
        """Put a deleted conversation back, under its old ids when they are still free."""
        try:
            return self._insert_export(snapshot.data, keep_ids=True)
        except sqlite3.IntegrityError:
            return self._insert_export(snapshot.data, keep_ids=False)

    def search(self, text: str, limit: int = 100) -> list[SearchHit]:
        """Full-text search over every finished message, newest first.

        Newest first lets FTS5 stop after `limit` hits; ranking by bm25 scores every match
        (0.5 s for a word found in most of 100,000 messages, see benchmarks/history.py).
        """
        query = fts_query(text)
        if query is None:
            return []
        with self._lock:
            rows = self._conn.execute(
                "SELECT m.conversation_id, m.id, c.title, m.role, m.created,"
                " snippet(messages_fts, 0, ?, ?, '…', 16) AS snippet"
                " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
                " JOIN conversations c ON c.id = m.conversation_id"
                " WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT ?",
                (HIGHLIGHT_START, HIGHLIGHT_END, query, limit),
            ).fetchall()
        return [
            SearchHit(
                r["conversation_id"], r["id"], r["title"], r["role"], r["snippet"], r["created"]
            )
            for r in rows
        ]

    # Export and import

    def _dump(self, conversation_id: int, *, public: bool) -> dict[str, Any]:
        with self._read():
            conv = self.get_conversation(conversation_id)
            msgs = self.messages(conversation_id, active_only=False)
        return export.to_json(conv, msgs, public=public)

    def export_markdown(self, conversation_id: int) -> str:
        with self._read():
            conv = self.get_conversation(conversation_id)
            msgs = self.messages(conversation_id)
        return export.to_markdown(conv, msgs)

    def export_json(self, conversation_id: int) -> dict[str, Any]:
        """Metadata and every message with alternatives, usage and timings; never secrets."""
        return self._dump(conversation_id, public=True)

    def import_json(self, data: dict[str, Any]) -> int:
        """Add an exported conversation as a new one; raises HistoryImportError saying why not."""
        return self._insert_export(data, keep_ids=False)

    def _insert_export(self, data: Mapping[str, Any], *, keep_ids: bool) -> int:
        with self._write() as db:
            return insert_export(db, data, keep_ids=keep_ids)
