"""A damaged history file: recognised cheaply, moved aside untouched, what can be read saved.

SQLite's `.recover` is a shell command, not part of the library Python ships, so the rows are
read here with plain SELECTs that walk each table's own b-tree (`NOT INDEXED`, a damaged index
must not hide rows) a few rows at a time; a read that fails skips ahead past the damaged part.
The damaged file is never opened for writing: it is copied to a temporary folder and read there.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"SQLite format 3\x00"
_HEADER = 100
# Primary result codes that mean the file itself is damaged (NOTADB: not a database at all).
_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_TABLES = ("conversations", "messages", "message_chunks")  # parents first (foreign keys)
_FTS_TRIGGER = "messages_fts_insert"
_MAX_SKIP = 1 << 62
_MAX_ROWID = (1 << 63) - 1


def _primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of an error (extended codes keep it in the low byte)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(exc, sqlite3.Error) and isinstance(code, int) else None


def is_corruption(exc: BaseException) -> bool:
    return _primary_code(exc) in _CORRUPT_CODES


def is_disk_full(exc: BaseException) -> bool:
    return _primary_code(exc) == sqlite3.SQLITE_FULL


def is_busy(exc: BaseException) -> bool:
    """Another connection held the write lock for longer than this one waits."""
    return _primary_code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_io_error(exc: BaseException) -> bool:
    return _primary_code(exc) == sqlite3.SQLITE_IOERR


def sidecars(path: Path) -> tuple[Path, Path]:
    """The -wal and -shm files SQLite keeps next to a database in WAL mode."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def header_problem(path: Path) -> str | None:
    """What is wrong with the file's header or length, read without SQLite (None: looks sound).

    Catches a bad header and a truncated file before any SQL runs; damage inside the pages is
    found by `PRAGMA quick_check` or by the reads that meet it.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(_HEADER)
    except FileNotFoundError:
        return None
    if size == 0:
        return None  # a new, empty file: SQLite writes the header on the first write
    if size < _HEADER:
        return "the file is truncated"
    if header[: len(MAGIC)] != MAGIC:
        return "the file header is damaged"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return "the file header is damaged"
    if size % page_size:
        return "the file is truncated"
    pages = int.from_bytes(header[28:32], "big")
    counts_valid = header[92:96] == header[24:28]
    wal = sidecars(path)[0]
    wal_empty = not wal.exists() or wal.stat().st_size == 0
    if counts_valid and pages * page_size > size and wal_empty:
        return "the file is truncated"
    return None


def _dated(path: Path, now: dt.datetime | None) -> Path:
    """`history.sqlite3.corrupt-20261130-121314` next to `path` (a counter if that is taken)."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    return target


def _read_only(copy: Path) -> Path:
    for part in (copy, *sidecars(copy)):
        if part.exists():
            part.chmod(0o400)
    return copy


def move_aside(path: Path, now: dt.datetime | None = None) -> Path:
    """Rename the damaged file (and its -wal, -shm) to a dated name next to it, read-only."""
    target = _dated(path, now)
    os.replace(path, target)
    for old, new in zip(sidecars(path), sidecars(target), strict=True):
        if old.exists():
            os.replace(old, new)
    return _read_only(target)


def copy_aside(path: Path, now: dt.datetime | None = None) -> Path:
    """Copy the damaged file (and its -wal) to a dated name next to it, read-only."""
    target = _dated(path, now)
    shutil.copyfile(path, target)
    wal = sidecars(path)[0]
    if wal.exists():
        shutil.copyfile(wal, sidecars(target)[0])
    return _read_only(target)


@dataclass(frozen=True, slots=True)
class Salvaged:
    """How many rows of each table were copied into the fresh database, and how many failed."""

    conversations: int = 0
    messages: int = 0
    chunks: int = 0
    unreadable: int = 0  # rows read but refused by the fresh schema, or reads that failed


def salvage(damaged: Path, dest: sqlite3.Connection) -> Salvaged:
    """Copy every readable conversation, message and streamed chunk of `damaged` into `dest`.

    `dest` is a fresh, migrated database; ids are kept, so conversation ids the user knows stay
    valid. Messages whose conversation row was lost get a placeholder conversation.
    """
    with tempfile.TemporaryDirectory(prefix="streamdesk-salvage-") as tmp:
        work = Path(tmp) / "damaged.sqlite3"
        shutil.copyfile(damaged, work)
        wal = sidecars(damaged)[0]
        if wal.exists():
            shutil.copyfile(wal, sidecars(work)[0])
        work.chmod(0o600)
        src = _open_damaged(work)
        try:
            return _copy_tables(src, dest)
        finally:
            src.close()


def _open_damaged(work: Path) -> sqlite3.Connection:
    """Open the working copy, its header rebuilt so SQLite will read the pages behind it.

    Only the fields a reader needs are rewritten: the constants, a page count that matches the
    file, no freelist; the page size is guessed (4096 first) until the schema can be read.
    """
    with work.open("r+b") as f:
        header = bytearray(f.read(_HEADER))
        if len(header) < _HEADER:
            raise sqlite3.DatabaseError("the file is shorter than a database header")
        stored = int.from_bytes(header[16:18], "big")
        sizes = [65536 if stored == 1 else stored, 4096, 1024, 2048, 8192, 16384, 32768, 65536, 512]
        conn: sqlite3.Connection | None = None
        for page_size in dict.fromkeys(s for s in sizes if 512 <= s <= 65536 and not s & (s - 1)):
            f.seek(0)
            f.write(_rebuilt_header(header, page_size, work.stat().st_size))
            f.flush()
            conn = sqlite3.connect(str(work), isolation_level=None)
            conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
            try:
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.Error:
                conn.close()
    raise sqlite3.DatabaseError("the schema of the damaged file cannot be read")


def _rebuilt_header(header: bytearray, page_size: int, size: int) -> bytes:
    out = bytearray(header)
    out[: len(MAGIC)] = MAGIC
    out[16:18] = (1 if page_size == 65536 else page_size).to_bytes(2, "big")
    out[18:20] = b"\x01\x01"  # rollback journal: a copied WAL is not needed to read
    out[20:24] = b"\x00\x40\x20\x20"
    out[24:28] = out[92:96] = (1).to_bytes(4, "big")
    out[28:32] = (size // page_size).to_bytes(4, "big")
    out[32:40] = bytes(8)  # forget the freelist: only reads follow
    if int.from_bytes(out[44:48], "big") not in (1, 2, 3, 4):
        out[44:48] = (4).to_bytes(4, "big")
    out[52:56] = bytes(4)
    if int.from_bytes(out[56:60], "big") not in (1, 2, 3):
        out[56:60] = (1).to_bytes(4, "big")
    out[64:68] = bytes(4)
    out[72:92] = bytes(20)
    return bytes(out)


def _copy_tables(src: sqlite3.Connection, dest: sqlite3.Connection) -> Salvaged:
    counts = dict.fromkeys(_TABLES, 0)
    unreadable = 0
    dest.execute("BEGIN IMMEDIATE")
    try:
        # Index the text once at the end (the insert trigger would index row by row, ~5x slower).
        trigger = dest.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_FTS_TRIGGER,)
        ).fetchone()[0]
        dest.execute(f"DROP TRIGGER {_FTS_TRIGGER}")
        for table in _TABLES:
            cols = _shared_columns(src, dest, table)
            if not cols:
                continue
            insert = (
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            )
            rows = _ReadableRows(src, table, cols)
            for values in rows:
                try:
                    dest.execute(insert, values)
                except sqlite3.IntegrityError:
                    if table != "messages" or not _placeholder(dest, cols, values):
                        unreadable += 1
                        continue
                    try:
                        dest.execute(insert, values)
                    except sqlite3.Error:
                        unreadable += 1
                        continue
                except sqlite3.Error:
                    unreadable += 1
                    continue
                counts[table] += 1
            unreadable += rows.failures
        dest.execute(
            "INSERT INTO messages_fts (rowid, content)"
            " SELECT id, content FROM messages WHERE status != 'streaming'"
        )
        dest.execute(trigger)
        dest.execute("COMMIT")
    except BaseException:
        if dest.in_transaction:
            dest.execute("ROLLBACK")
        raise
    return Salvaged(
        counts["conversations"], counts["messages"], counts["message_chunks"], unreadable
    )


def _shared_columns(src: sqlite3.Connection, dest: sqlite3.Connection, table: str) -> list[str]:
    try:
        have = [r[1] for r in src.execute(f"PRAGMA table_info({table})").fetchall()]
    except sqlite3.Error:
        return []
    want = {r[1] for r in dest.execute(f"PRAGMA table_info({table})").fetchall()}
    return [c for c in have if c in want]


def _placeholder(dest: sqlite3.Connection, cols: list[str], values: tuple[object, ...]) -> bool:
    """A stand-in for a message's lost conversation row; False when there is nothing to add."""
    row = dict(zip(cols, values, strict=True))
    cid, created = row.get("conversation_id"), row.get("created")
    if (
        not isinstance(cid, int)
        or dest.execute("SELECT 1 FROM conversations WHERE id = ?", (cid,)).fetchone()
    ):
        return False
    when = created if isinstance(created, int | float) else 0.0
    dest.execute(
        "INSERT INTO conversations (id, title, created, updated) VALUES (?, ?, ?, ?)",
        (cid, f"Recovered conversation {cid}", when, when),
    )
    return True


class _ReadableRows:
    """Rows of `table` in rowid order, walking past pages that cannot be read.

    The table's own b-tree is read from just after the last good rowid; when a read fails, it
    starts again further and further ahead (1, 2, 4, ... rowids) until a read succeeds or no
    rowid is left. `failures` counts the failed reads.
    """

    def __init__(self, src: sqlite3.Connection, table: str, cols: list[str]) -> None:
        self.src = src
        self.sql = (
            f"SELECT rowid, {', '.join(cols)} FROM {table} NOT INDEXED"
            " WHERE rowid > ? ORDER BY rowid"
        )
        self.failures = 0

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        after, skip = -(1 << 63), 0
        while True:
            try:
                for row in self.src.execute(self.sql, (after + skip,)):
                    after, skip = max(after, row[0]), 0
                    yield tuple(row[1:])
                return
            except sqlite3.Error:
                self.failures += 1
                skip = 1 if skip == 0 else skip * 2
                if skip > _MAX_SKIP or after + skip >= _MAX_ROWID:
                    return
