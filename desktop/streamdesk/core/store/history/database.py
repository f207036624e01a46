"""`HistoryDatabase`: the SQLite file behind a `HistoryStore`, kept usable through damage.

- A damaged file (bad header, truncated, garbage in a page) is kept as a dated copy next to it
  that is never written again, whatever can be read is saved into a fresh database that takes
  its place, and `recovery_notice` says so once. The header and length are checked at open (no
  SQL); the pages are checked by `PRAGMA quick_check` on a thread of its own, so opening a large
  healthy file stays fast. Writes wait for that check (nothing is written into a damaged file);
  a read that meets damage first repairs the file and raises `HistoryRepaired`.
- A full disk fails a write with `HistoryDiskFull` (one warning in the log, `disk_full_notice`
  set) instead of a traceback per flush; a reply's writes are kept in memory, in order, and
  saved by the first write that succeeds once space returns. Reads keep working.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from streamdesk.core.store.history.models import HistoryError
from streamdesk.core.store.history.salvage import (
    copy_aside,
    header_problem,
    is_corruption,
    is_disk_full,
    is_io_error,
    move_aside,
    salvage,
)
from streamdesk.core.store.history.schema import (
    LATEST_VERSION,
    connect,
    connect_read_only,
    migrate,
    schema_version,
)

log = logging.getLogger(__name__)

DISK_FULL_NOTICE = (
    "The disk is full: the reply is kept in memory and will be saved when space returns."
)
RETRY_INTERVAL = 1.0  # seconds between attempts to save kept writes while the disk is full

PendingWrite = Callable[[sqlite3.Connection], None]


class HistoryDiskFull(HistoryError):
    """A write failed because the disk (or the database's size limit) is full."""

    def __init__(self) -> None:
        super().__init__("the disk is full: the history cannot be saved until space is freed")


class HistoryRepaired(HistoryError):
    """A read met a damaged file; it has been repaired (the message says how). Try again."""


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """What `HistoryStore.check` found: `problems` empty when the file is sound."""

    conversations: int
    messages: int
    problems: tuple[str, ...] = ()
    notice: str | None = None  # what was done about the damage

    @property
    def ok(self) -> bool:
        return not self.problems


class HistoryDatabase:
    """One connection, its lock, its integrity check, its repair and its kept writes."""

    def __init__(self, path: Path, *, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.lock = threading.RLock()
        self.recovery_notice: str | None = None
        self.disk_full = False
        self.read_only = False  # opened on a full disk: reads work, writes wait for space
        self._warned_full = False
        self._listeners: list[Callable[[], None]] = []
        self._kept: list[PendingWrite] = []
        self._last_try = 0.0
        self._closed = False
        self._inode: tuple[int, int] | None = None  # the file this connection has open
        self._checked = threading.Event()
        self._damage: str | None = None  # what the background check found
        self._repaired: str | None = None  # the damage this store repaired, for `check`
        self._checker: threading.Thread | None = None
        self._check_conn: sqlite3.Connection | None = None
        self._check_guard = threading.Lock()  # hands `_check_conn` to `_stop_check`
        self._stopping = False
        problem = header_problem(path)
        if problem is not None:
            self._replace(problem)
            self._checked.set()
            return
        try:
            self.conn = self._open()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._replace(str(exc))
            self._checked.set()
            return
        self._start_check()

    # Lifecycle

    def _open(self) -> sqlite3.Connection:
        """Open for reading and writing; on a full disk, for reading only (`read_only`)."""
        try:
            conn = connect(self.path, busy_timeout=self.busy_timeout)
        except sqlite3.OperationalError as exc:
            if not (is_disk_full(exc) or is_io_error(exc)) or not self.path.exists():
                raise
            conn = connect_read_only(self.path)
            if schema_version(conn) != LATEST_VERSION:
                conn.close()
                raise
            log.debug("the history is read-only until space returns: %s", exc)
            self.read_only = True
            self._inode = _inode(self.path)
            self._set_disk_full(True)
            return conn
        self.read_only = False
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._inode = _inode(self.path)
        return conn

    def _start_check(self) -> None:
        self._checked.clear()
        self._damage = None
        self._stopping = False
        self._checker = threading.Thread(
            target=self._quick_check, name="history-quick-check", daemon=True
        )
        self._checker.start()

    def _quick_check(self) -> None:
        """Look at every page once (no index cross-check: that is `check`'s full pass)."""
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False)
            with self._check_guard:
                if self._stopping:
                    conn.close()
                    return
                self._check_conn = conn
            try:
                rows = conn.execute("PRAGMA quick_check").fetchall()
            finally:
                with self._check_guard:
                    self._check_conn = None
                conn.close()
            problems = [str(r[0]) for r in rows if r[0] != "ok"]
            if problems:
                self._damage = problems[0]
        except sqlite3.Error as exc:
            if is_corruption(exc):
                self._damage = str(exc)
        finally:
            self._checked.set()

    def _stop_check(self) -> None:
        """Interrupt a check still running (closing or repairing must not wait for it)."""
        with self._check_guard:
            self._stopping = True
            if self._check_conn is not None:
                self._check_conn.interrupt()
        if self._checker is not None:
            self._checker.join()
        self._checker = None

    def close(self) -> None:
        with self.lock:
            self._stop_check()
            if self._kept:
                try:
                    self.save_kept()
                except HistoryError:
                    log.error(
                        "the disk is still full: %d reply writes were not saved", len(self._kept)
                    )
            self.conn.close()
            self._closed = True

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the thread that wrote) when a notice appears or clears."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

    # Damage

    def _replace(self, reason: str) -> None:
        """Move a file SQLite cannot open aside, start a fresh one, save what it still holds.

        Only for a file no connection can use (a bad header): renaming a file that others have
        open would let them write on into the copy.
        """
        copy = move_aside(self.path)
        self.conn = self._open()
        self._salvaged(reason, copy, self.conn)

    def _rebuild_in_place(self, reason: str) -> None:
        """Copy the damaged file aside, salvage it into a fresh database built next to nothing,
        then write that over the damaged one with SQLite's backup API: other processes that have
        the file open carry on with the fresh content instead of writing into the copy."""
        conn = self.conn
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        try:
            conn.execute("BEGIN IMMEDIATE")  # no other writer while the copy is taken
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
        try:
            copy = copy_aside(self.path)
        finally:
            _rollback(conn)
        with tempfile.TemporaryDirectory(prefix="streamdesk-history-") as tmp:
            fresh = connect(Path(tmp) / "fresh.sqlite3", page_size=page_size)
            try:
                migrate(fresh)
                self._salvaged(reason, copy, fresh)
                fresh.backup(conn)
            finally:
                fresh.close()

    def _salvaged(self, reason: str, copy: Path, fresh: sqlite3.Connection) -> None:
        """Save what `copy` still holds into `fresh`; set the notice that says so."""
        log.info("the history file was damaged (%s); a copy is kept at %s", reason, copy)
        try:
            saved = salvage(copy, fresh)
        except (OSError, sqlite3.Error):
            log.exception("could not read the damaged history file %s", copy)
            saved = None
        if saved is None or not (saved.conversations or saved.messages):
            kept = "nothing could be read from it"
        else:
            kept = (
                f"{saved.conversations} conversations and {saved.messages} messages were saved"
                " into a fresh history"
            )
            if saved.unreadable:
                kept += " (some damaged parts could not be read)"
        self.recovery_notice = (
            f"The history file was damaged ({_short(reason)}); {kept}. The damaged file is"
            f" kept at {copy}."
        )

    def _repair_now(self, reason: str, *, verify: bool = True) -> bool:
        """Repair the file; True when what the caller read has changed (retry it).

        With `verify`, a file that passes `quick_check` by now (another process repaired it in
        place) is left alone.
        """
        with self.lock:
            self._stop_check()
            self._damage = None
            self._checked.set()
            if _inode(self.path) != self._inode:  # moved aside elsewhere: use the fresh file
                self.conn.close()
                self.conn = self._open()
                return True
            if verify:
                try:
                    if self.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok":
                        return False
                except sqlite3.DatabaseError as exc:
                    if not is_corruption(exc):
                        raise
            self._repaired = reason
            try:
                self._rebuild_in_place(reason)
            except (OSError, sqlite3.Error):
                log.info("could not rebuild the history in place", exc_info=True)
                self.conn.close()
                self._replace(reason)
            self._notify()
            return True

    def _repair_if_damaged(self) -> None:
        if self._checked.is_set() and self._damage is not None:
            self._repair_now(self._damage)

    def check(self) -> tuple[str, ...]:
        """Run the full `PRAGMA integrity_check` now; repair the file if it finds damage.

        Returns the problems found, those this store already repaired since it opened included
        (empty: sound).
        """
        with self.lock:
            self._checked.wait()
            problems: tuple[str, ...] = () if self._damage is None else (self._damage,)
            if not problems:
                try:
                    rows = self.conn.execute("PRAGMA integrity_check").fetchall()
                    problems = tuple(str(r[0]) for r in rows if r[0] != "ok")
                except sqlite3.DatabaseError as exc:
                    if not is_corruption(exc):
                        raise
                    problems = (str(exc),)
            if problems:
                self._repair_now(problems[0], verify=False)
            elif self._repaired is not None:  # repaired since this store opened: say so
                problems = (self._repaired,)
            return problems

    # Reads and writes

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads; damage met on the way repairs the file (HistoryRepaired)."""
        with self.lock:
            self._repair_if_damaged()
            try:
                yield self.conn
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc) or not self._repair_now(str(exc)):
                    raise
                raise HistoryRepaired(self.recovery_notice or str(exc)) from None

    @contextmanager
    def reading_apart(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own, in one read transaction, for a long read on a worker thread:
        the shared connection and its lock stay free meanwhile for the window's reads and the
        replies' writes (WAL lets them run beside it). Damage met here raises; the shared
        connection's next read repairs it."""
        conn = self._connect_apart()
        try:
            conn.execute("BEGIN")
            yield conn
        finally:
            conn.close()

    def _connect_apart(self) -> sqlite3.Connection:
        """A reading connection of its own; on a full disk (no room for the WAL's index file),
        a read-only one, as the shared connection then is."""
        conn = sqlite3.connect(
            str(self.path), timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opens the files
        except sqlite3.OperationalError as exc:
            conn.close()
            if not (is_disk_full(exc) or is_io_error(exc)):
                raise
            return connect_read_only(self.path)
        return conn

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One short `BEGIN IMMEDIATE` transaction, after any kept writes (saved with it).

        Waits for the integrity check, so nothing is written into a damaged file.
        """
        with self.lock:
            self._checked.wait()
            self._repair_if_damaged()
            self._last_try = time.monotonic()
            if self.read_only or _inode(self.path) != self._inode:  # full, or repaired elsewhere
                self.conn.close()
                self.conn = self._open()
                if self.read_only:
                    raise self._write_failed_for_space()
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._replay_kept(conn)
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if is_disk_full(exc):
                    raise self._write_failed_for_space() from exc
                if is_corruption(exc) and self._repair_now(str(exc)):
                    raise HistoryRepaired(self.recovery_notice or str(exc)) from None
                raise
            saved = len(self._kept)
            self._kept.clear()
            if self.disk_full:
                log.info("space is back: the history is saved again (%d kept writes)", saved)
                self._warned_full = False
                self._set_disk_full(False)

    def _replay_kept(self, conn: sqlite3.Connection) -> None:
        """The kept writes, in order; one whose row has gone since (deleted) is dropped."""
        for write in list(self._kept):
            try:
                write(conn)
            except sqlite3.IntegrityError as exc:
                log.info("a kept reply write no longer applies (%s); dropped", exc)
                self._kept.remove(write)

    def write_or_keep(self, write: PendingWrite) -> None:
        """A reply's write: saved now, or kept in memory (in order) while the disk is full.

        While it is full, a save is tried at most every RETRY_INTERVAL seconds.
        """
        with self.lock:
            if self.disk_full and time.monotonic() - self._last_try < RETRY_INTERVAL:
                self._kept.append(write)
                return
            for attempt in (1, 2):
                try:
                    with self.writing() as conn:
                        write(conn)
                    return
                except HistoryDiskFull:
                    self._kept.append(write)
                    return
                except HistoryRepaired:
                    if attempt == 2:
                        raise  # again in the repaired file: not damage, let the caller see it

    @property
    def kept_writes(self) -> int:
        """Reply writes held in memory because the disk is full (0: everything is saved)."""
        return len(self._kept)

    def save_kept(self) -> bool:
        """Try to save the kept writes now; True when nothing is left in memory."""
        with self.lock:
            if self._kept and not self._closed:
                with self.writing():
                    pass
            return not self._kept

    def _set_disk_full(self, full: bool) -> None:
        if full == self.disk_full:
            return
        self.disk_full = full
        self._notify()

    def _write_failed_for_space(self) -> HistoryDiskFull:
        """Note a write that failed for lack of space (one warning until space returns)."""
        if not self._warned_full:
            log.warning("the disk is full: replies are kept in memory until space returns")
            self._warned_full = True
        self._set_disk_full(True)
        return HistoryDiskFull()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open (SQLite ends it itself on SQLITE_FULL)."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.debug("rollback failed", exc_info=True)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _short(reason: str) -> str:
    return reason if len(reason) <= 80 else reason[:77] + "..."
