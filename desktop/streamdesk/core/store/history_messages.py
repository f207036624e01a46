"""Message-level operations of `HistoryStore`: add, page, update, stream, alternatives, branches.

Split out of history.py; `HistoryStore` inherits them. A prompt's versions (branches) and a
reply's alternatives share one `group_id`; `_switch_group` flips which one is shown.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from streamdesk.core.store.history_models import (
    ConversationNotFound,
    MessageNotFound,
    StoredMessage,
)
from streamdesk.core.store.history_rows import (
    MESSAGE_COLS,
    columns,
    fold_chunks,
    insert_row,
    message_from_row,
)


class MessageOps:
    """The message half of `HistoryStore` (which supplies the connection, lock and transactions)."""

    _lock: threading.RLock
    _conn: sqlite3.Connection

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

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
        with self._write() as db:
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

    def messages(
        self,
        conversation_id: int,
        *,
        active_only: bool = True,
        limit: int | None = None,
        before_id: int | None = None,
    ) -> list[StoredMessage]:
        """Messages in transcript order; with `limit`, the newest page (before `before_id`)."""
        where, args = ["m.conversation_id = ?"], [conversation_id]
        if active_only:
            where.append("m.active = 1")
        with self._lock:
            if before_id is not None:
                row = self._conn.execute(
                    "SELECT group_id FROM messages WHERE id = ?", (before_id,)
                ).fetchone()
                where.append("m.group_id < ?")
                args.append(row[0] if row else before_id)
            rows = self._conn.execute(
                f"SELECT {MESSAGE_COLS} FROM messages m WHERE {' AND '.join(where)}"
                " ORDER BY m.group_id DESC, m.alt_index DESC LIMIT ?",
                (*args, -1 if limit is None else limit),
            ).fetchall()
        return [message_from_row(r) for r in reversed(rows)]

    def get_message(self, message_id: int) -> StoredMessage:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {MESSAGE_COLS} FROM messages m WHERE m.id = ?", (message_id,)
            ).fetchone()
        if row is None:
            raise MessageNotFound(message_id)
        return message_from_row(row)

    def count_messages(self, conversation_id: int) -> int:
        """Active messages (what the transcript shows)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND active = 1",
                (conversation_id,),
            ).fetchone()
        return int(row[0])

    def update_message(self, message_id: int, **fields: Any) -> None:
        """Set any of: content, reasoning, status, failure_kind, failure_message, protocol, model,
        usage (Usage or mapping), prompt_tokens, completion_tokens, timings (mapping), cost."""
        cols = columns(fields)
        if not cols:
            return
        sets = ", ".join(f"{k} = ?" for k in cols)
        with self._write() as db:
            fold_chunks(db, message_id)
            cur = db.execute(
                f"UPDATE messages SET {sets} WHERE id = ?", (*cols.values(), message_id)
            )
            if cur.rowcount == 0:
                raise MessageNotFound(message_id)
            db.execute(
                "UPDATE conversations SET updated = ? WHERE id ="
                " (SELECT conversation_id FROM messages WHERE id = ?)",
                (time.time(), message_id),
            )

    def append_to_message(self, message_id: int, text: str, reasoning: str = "") -> None:
        """Append streamed text: one small INSERT, whatever the reply's length; no FTS work.

        The chunks are folded into the message by the next `update_message` (e.g. finish).
        """
        with self._write() as db:
            db.execute(
                "INSERT INTO message_chunks (message_id, content, reasoning) VALUES (?, ?, ?)",
                (message_id, text, reasoning),
            )

    def delete_message(self, message_id: int) -> None:
        """Delete one message; if it was the active alternative, the newest other one shows."""
        with self._write() as db:
            row = db.execute(
                "SELECT group_id, active FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise MessageNotFound(message_id)
            db.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            if row["active"]:
                db.execute(
                    "UPDATE messages SET active = 1 WHERE id = (SELECT id FROM messages"
                    " WHERE group_id = ? ORDER BY alt_index DESC LIMIT 1)",
                    (row["group_id"],),
                )

    def alternatives(self, message_id: int) -> list[StoredMessage]:
        """Every alternative in the message's group, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {MESSAGE_COLS} FROM messages m WHERE m.group_id ="
                " (SELECT group_id FROM messages WHERE id = ?) ORDER BY m.alt_index",
                (message_id,),
            ).fetchall()
        if not rows:
            raise MessageNotFound(message_id)
        return [message_from_row(r) for r in rows]

    def set_active_alternative(self, message_id: int) -> None:
        """Show this alternative; for a prompt, also the replies and turns that followed it."""
        with self._write() as db:
            row = db.execute(
                "SELECT conversation_id, group_id, active, role FROM messages WHERE id = ?",
                (message_id,),
            ).fetchone()
            if row is None:
                raise MessageNotFound(message_id)
            if not row["active"]:
                cid, group, branch = row["conversation_id"], row["group_id"], row["role"] == "user"
                _switch_group(db, cid, group, message_id, branch=branch)

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
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {MESSAGE_COLS} FROM messages m WHERE m.conversation_id = ?"
                " AND m.superseded_by IS NOT NULL ORDER BY m.group_id, m.alt_index",
                (conversation_id,),
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def alternative_position(self, message_id: int) -> tuple[int, int]:
        """(0-based index among its group's alternatives, how many there are)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT (SELECT COUNT(*) FROM messages a WHERE a.group_id = m.group_id"
                " AND a.alt_index < m.alt_index), (SELECT COUNT(*) FROM messages a"
                " WHERE a.group_id = m.group_id) FROM messages m WHERE m.id = ?",
                (message_id,),
            ).fetchone()
        if row is None:
            raise MessageNotFound(message_id)
        return int(row[0]), int(row[1])


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
