"""Row-level helpers of the history store: message fields to columns, rows to records."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

from streamdesk.core.attachments import Attachment
from streamdesk.core.events import FailureKind, Usage
from streamdesk.core.store.history.models import StoredAttachment, StoredMessage
from streamdesk.core.store.history.schema import STATUSES

_MESSAGE_FIELDS = frozenset(
    {
        "content", "reasoning", "status", "failure_kind", "failure_message", "protocol", "model",
        "usage", "prompt_tokens", "completion_tokens", "timings", "cost", "cost_estimated",
        "tool_rounds",
    }
)  # fmt: skip
# Streamed chunks not yet folded in (only streaming rows have any) are read through the
# (message_id, id) index, so group_concat sees them in order.
MESSAGE_COLS = (
    "m.*, (SELECT COUNT(*) FROM messages a WHERE a.group_id = m.group_id) AS alt_count,"
    " (SELECT group_concat(c.content, '') FROM message_chunks c WHERE c.message_id = m.id)"
    " AS chunk_content,"
    " (SELECT group_concat(c.reasoning, '') FROM message_chunks c WHERE c.message_id = m.id)"
    " AS chunk_reasoning,"
    " (SELECT json_group_array(json_array(l.position, l.hash, l.name, a.mime, a.width, a.height))"
    " FROM (SELECT * FROM message_attachments WHERE message_id = m.id ORDER BY position) l"
    " JOIN attachments a ON a.hash = l.hash) AS attachment_list"
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


def append_chunk(db: sqlite3.Connection, message_id: int, text: str, reasoning: str) -> None:
    db.execute(
        "INSERT INTO message_chunks (message_id, content, reasoning) VALUES (?, ?, ?)",
        (message_id, text, reasoning),
    )


def update_message_row(db: sqlite3.Connection, message_id: int, cols: Mapping[str, Any]) -> bool:
    """Fold the message's chunks, set `cols`, touch its conversation; False: no such message."""
    fold_chunks(db, message_id)
    sets = ", ".join(f"{k} = ?" for k in cols)
    cur = db.execute(f"UPDATE messages SET {sets} WHERE id = ?", (*cols.values(), message_id))
    if cur.rowcount == 0:
        return False
    db.execute(
        "UPDATE conversations SET updated = ? WHERE id ="
        " (SELECT conversation_id FROM messages WHERE id = ?)",
        (time.time(), message_id),
    )
    return True


def json_column(value: object) -> str | None:
    """A mapping or dataclass as the JSON text stored in a column (None stays NULL)."""
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
        cols["timings"] = json_column(cols["timings"])
    if "tool_rounds" in cols:
        rounds = cols["tool_rounds"]
        cols["tool_rounds"] = json.dumps(list(rounds), ensure_ascii=False) if rounds else None
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
        estimated=bool(row["cost_estimated"]),
        created=row["created"],
        superseded_by=row["superseded_by"],
        tool_rounds=tool_rounds_of(row["tool_rounds"]),
        attachments=attachments_of(row["attachment_list"]),
    )


def attachments_of(text: str | None) -> tuple[StoredAttachment, ...]:
    """A message's image links as `MESSAGE_COLS` reads them (JSON rows of position, hash, name,
    MIME type, width, height), in position order."""
    if not text:
        return ()
    rows = sorted(item for item in json.loads(text) if len(item) == 6)
    return tuple(StoredAttachment(*item[1:]) for item in rows)


def link_images(db: sqlite3.Connection, message_id: int, images: Sequence[Attachment]) -> None:
    """Store `images` (each once, by content hash) and link them to the message, in order."""
    for position, image in enumerate(images):
        db.execute(
            "INSERT OR IGNORE INTO attachments (hash, mime, data, width, height, name)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (image.digest, image.mime, image.data, image.width, image.height, image.name),
        )
        db.execute(
            "INSERT INTO message_attachments (message_id, position, hash, name)"
            " VALUES (?, ?, ?, ?)",
            (message_id, position, image.digest, image.name),
        )


def read_images(db: sqlite3.Connection, digests: Iterable[str]) -> dict[str, Attachment]:
    """The stored images with these content hashes (one query per hundred)."""
    wanted = list(dict.fromkeys(digests))
    found: dict[str, Attachment] = {}
    for start in range(0, len(wanted), 100):
        batch = wanted[start : start + 100]
        rows = db.execute(
            "SELECT hash, name, mime, data, width, height FROM attachments"
            f" WHERE hash IN ({', '.join('?' * len(batch))})",
            batch,
        ).fetchall()
        for r in rows:
            found[r[0]] = Attachment(r[1], r[2], bytes(r[3]), r[4], r[5])
    return found


def tool_rounds_of(text: str | None) -> tuple[dict[str, Any], ...]:
    """The stored JSON of a reply's tool rounds (a damaged value reads as none)."""
    if not text:
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, dict))
