"""Row-level helpers of the history store: field mapping, row decoding, export insertion."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

from streamdesk.core.events import FailureKind, Usage
from streamdesk.core.store import history_export as export
from streamdesk.core.store.history_models import StoredMessage
from streamdesk.core.store.history_schema import STATUSES

_MESSAGE_FIELDS = frozenset(
    {
        "content", "reasoning", "status", "failure_kind", "failure_message", "protocol", "model",
        "usage", "prompt_tokens", "completion_tokens", "timings", "cost",
    }
)  # fmt: skip
# Streamed chunks not yet folded in (only streaming rows have any) are read through the
# (message_id, id) index, so group_concat sees them in order.
MESSAGE_COLS = (
    "m.*, (SELECT COUNT(*) FROM messages a WHERE a.group_id = m.group_id) AS alt_count,"
    " (SELECT group_concat(c.content, '') FROM message_chunks c WHERE c.message_id = m.id)"
    " AS chunk_content,"
    " (SELECT group_concat(c.reasoning, '') FROM message_chunks c WHERE c.message_id = m.id)"
    " AS chunk_reasoning"
)


def fold_chunks(db: sqlite3.Connection, message_id: int) -> None:
    """Move streamed chunks into the message row (inside the caller's transaction)."""
    rows = db.execute(
        "SELECT content, reasoning FROM message_chunks WHERE message_id = ? ORDER BY id",
        (message_id,),
    ).fetchall()
    if not rows:
        return
    db.execute(
        "UPDATE messages SET content = content || ?, reasoning = reasoning || ? WHERE id = ?",
        ("".join(r[0] for r in rows), "".join(r[1] for r in rows), message_id),
    )
    db.execute("DELETE FROM message_chunks WHERE message_id = ?", (message_id,))


def pid_alive(pid: int | None) -> bool:
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


def to_json(value: object) -> str | None:
    if value is None:
        return None
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    return json.dumps(value, sort_keys=True)


def columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword fields of add/update_message to column values; rejects unknown names."""
    unknown = set(fields) - _MESSAGE_FIELDS
    if unknown:
        raise TypeError(f"unknown message field(s): {', '.join(sorted(unknown))}")
    cols = dict(fields)
    if "usage" in cols:
        usage = cols.pop("usage")
        if isinstance(usage, Usage):
            cols["prompt_tokens"], cols["completion_tokens"] = (
                usage.prompt_tokens,
                usage.completion_tokens,
            )
        elif usage is not None:
            cols["prompt_tokens"] = usage.get("prompt_tokens")
            cols["completion_tokens"] = usage.get("completion_tokens")
    if isinstance(cols.get("failure_kind"), FailureKind):
        cols["failure_kind"] = cols["failure_kind"].value
    if "timings" in cols:
        cols["timings"] = to_json(cols["timings"])
    if "status" in cols:
        if cols["status"] not in STATUSES:
            raise ValueError(f"unknown message status {cols['status']!r}")
        cols["writer_pid"] = os.getpid() if cols["status"] == "streaming" else None
    return cols


def insert_row(db: sqlite3.Connection, table: str, cols: Mapping[str, Any]) -> int:
    marks = ", ".join("?" * len(cols))
    cur = db.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", tuple(cols.values())
    )
    return int(cur.lastrowid or 0)


def message_from_row(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        conversation_id=row["conversation_id"],
        group_id=row["group_id"],
        alt_index=row["alt_index"],
        alt_count=row["alt_count"],
        active=bool(row["active"]),
        role=row["role"],
        content=row["content"] + (row["chunk_content"] or ""),
        reasoning=row["reasoning"] + (row["chunk_reasoning"] or ""),
        status=row["status"],
        failure_kind=row["failure_kind"],
        failure_message=row["failure_message"],
        protocol=row["protocol"],
        model=row["model"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        timings=json.loads(row["timings"]) if row["timings"] else None,
        cost=row["cost"],
        created=row["created"],
        superseded_by=row["superseded_by"],
    )


def insert_export(db: sqlite3.Connection, data: Mapping[str, Any], *, keep_ids: bool) -> int:
    """Insert a parsed export inside the caller's transaction; ids kept for undo, else new."""
    conv, msgs = export.parse_import(data)
    if keep_ids:
        conv["params"] = dict(data["conversation"].get("params") or {})
    now = time.time()
    conv["created"] = conv["created"] if conv["created"] is not None else now
    conv["updated"] = conv["updated"] if conv["updated"] is not None else now
    conv["params"] = json.dumps(conv["params"])
    if keep_ids:
        conv["id"] = data["conversation"]["id"]
    msgs.sort(key=lambda m: (m["old_group"] or m["old_id"] or 0, m["alt_index"]))
    conversation_id = insert_row(db, "conversations", conv)
    groups: dict[int | None, int] = {}
    new_ids: dict[int | None, int] = {}
    hidden: list[tuple[int, int]] = []  # (new id, old superseded_by)
    for m in msgs:
        old_id, old_group = m.pop("old_id"), m.pop("old_group")
        m["created"] = m["created"] if m["created"] is not None else now
        m["timings"] = to_json(m["timings"])
        m["conversation_id"] = conversation_id
        if keep_ids:
            m["id"] = old_id
        new_id = new_ids[old_id] = insert_row(db, "messages", m)
        if m["superseded_by"] is not None:
            hidden.append((new_id, m["superseded_by"]))
        key = old_group if old_group is not None else old_id
        group = groups.setdefault(key, new_id) if key is not None else new_id
        db.execute("UPDATE messages SET group_id = ? WHERE id = ?", (group, new_id))
    # A hidden branch points at the prompt alternative it followed: map it to the new ids.
    db.executemany(
        "UPDATE messages SET superseded_by = ? WHERE id = ?",
        [(new_ids.get(old), new_id) for new_id, old in hidden],
    )
    return conversation_id
