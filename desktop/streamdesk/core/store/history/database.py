"""`HistoryDatabase`: the SQLite file behind a `HistoryStore`, kept usable through damage.

- A damaged file (bad header, truncated, garbage in a page) is kept as a dated copy next to it
  that is never written again, whatever can be read is saved into a fresh database that takes
  its place, and `recovery_notice` says so once. The header and length are checked at open (no
  SQL); the pages are checked by `PRAGMA quick_check` on a thread of its own, so opening a large
  healthy file stays fast (a file under `CHECK_AT_OPEN_BELOW` is checked at open). A read that
  meets damage first repairs the file and raises `HistoryRepaired`.
- Writes never wait for that check, and none is committed before it passes: while it runs, each
  write is made at once in one transaction left open on the shared connection (its reads see
  them, the caller gets its ids) and kept in memory, in order. When the check passes, the
  transaction is committed (by the check's thread, or by the next write or read); when it finds
  damage, it is rolled back, the file repaired, and the kept writes made again in the repaired
  file, their ids as they were. Closing waits for a check that has writes to save.
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
from typing import NoReturn, TypeVar

from streamdesk.core.store.history.models import HistoryError
from streamdesk.core.store.history.salvage import (
    copy_aside,
    header_problem,
    is_busy,
    is_corruption,
    is_disk_full,
    is_io_error,
    move_aside,
    salvage,
    sidecars,
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
# A smaller file (with its WAL) is checked at open, on the opening thread: that costs less than
# handing it to a thread, and others see its first writes at once.
CHECK_AT_OPEN_BELOW = 1 << 20  # bytes

T = TypeVar("T")
PendingWrite = Callable[[sqlite3.Connection], object]


def quick_check(conn: sqlite3.Connection) -> list[str]:
    """What `PRAGMA quick_check` finds wrong on `conn` (empty: every page reads sound)."""
    return [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]


class HistoryDiskFull(HistoryError):
    """A write failed because the disk (or the database's size limit) is full."""

    def __init__(self) -> None:
        super().__init__("the disk is full: the history cannot be saved until space is freed")


class HistoryBusy(HistoryError):
    """Another process held the history's write lock longer than a write waits (`waited`
    seconds): a window starting over a large history, a long import."""

    def __init__(self, waited: float) -> None:
        super().__init__(
            f"the history is busy: another Streamdesk process kept it locked for over "
            f"{waited:g} s; try again in a moment"
        )


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
        self._kept: list[PendingWrite] = []  # not saved yet: disk full, or the check runs
        self._sequence: dict[str, int] | None = None  # the id counters before the first kept
        self._last_try = 0.0
        self._closed = False
        self._inode: tuple[int, int] | None = None  # the file this connection has open
        self._checked = threading.Event()
        self._damage: str | None = None  # what the background check found
        self._repaired: str | None = None  # the damage this store repaired, for `check`
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
        if _size(path) < CHECK_AT_OPEN_BELOW:
            self._quick_check()
        else:
            threading.Thread(
                target=self._quick_check, name="history-quick-check", daemon=True
            ).start()

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
        except BaseException as exc:
            conn.close()
            if is_busy(exc):
                raise HistoryBusy(self.busy_timeout) from exc
            raise
        self._inode = _inode(self.path)
        return conn

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
                problems = quick_check(conn)
            finally:
                with self._check_guard:
                    self._check_conn = None
                conn.close()
            if problems:
                self._damage = problems[0]
        except sqlite3.Error as exc:
            if is_corruption(exc):
                self._damage = str(exc)
        finally:
            self._checked.set()
        self._save_checked_writes()

    def _save_checked_writes(self) -> None:
        """On the check's thread, once it is over: commit the writes made while it ran (or
        repair the file and make them again there), so they never wait for a later write; those
        a full disk refused meanwhile are tried again too."""
        with self.lock:
            if self._closed or not self._kept:
                return
            try:
                self._settle()
                self._save_kept_now()
            except (OSError, sqlite3.Error, HistoryError):
                log.exception("the writes made during the start-up check are not saved yet")

    def _stop_check(self) -> None:
        """Interrupt a check still running (closing or repairing must not wait for it); its
        connection is closed on return. What it leaves set says nothing of the file."""
        with self._check_guard:
            self._stopping = True
            if self._check_conn is not None:
                self._check_conn.interrupt()
        self._checked.wait()  # not a join: the check's thread then waits for `lock`

    def close(self) -> None:
        """Save what is kept and close. Writes kept while the check runs wait for it: they
        go only into a file it passed (or into the repaired one)."""
        with self.lock:
            if self._closed:
                return
            if self._kept:
                self._checked.wait()
                try:
                    self._settle()
                except (OSError, sqlite3.Error, HistoryError):
                    log.exception("the writes made during the start-up check were not saved")
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
        """Call `callback` when a notice appears or clears: on the thread that wrote or read,
        or on the check's when it repairs the file for the writes made while it ran."""
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
        Writes kept in an open transaction are rolled back first and made again afterwards,
        in the repaired file (or in this one, when it passes).
        """
        with self.lock:
            self._stop_check()
            self._damage = None
            _rollback(self.conn)
            if _inode(self.path) != self._inode:  # moved aside elsewhere: use the fresh file
                self.conn.close()
                self.conn = self._open()
                self._save_kept_now()
                return True
            if verify:
                try:
                    if not quick_check(self.conn):
                        self._save_kept_now()
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
            self._save_kept_now()
            self._notify()
            return True

    def _settle(self) -> None:
        """Once the start-up check is over: repair the file if it found damage, and commit
        the writes kept in a transaction while it ran."""
        if not self._checked.is_set():
            return
        if self._damage is not None:
            self._repair_now(self._damage)
        elif self._in_kept_transaction():
            if _inode(self.path) != self._inode:  # replaced elsewhere meanwhile: not into the old
                self.conn.close()
                self.conn = self._open()
                self._save_kept_now()
                return
            self._commit_kept(made=True)

    def _in_kept_transaction(self) -> bool:
        """The shared connection holds the kept writes, made but not committed (the check
        runs). Otherwise kept writes, if any, are waiting for space."""
        return not self._closed and self.conn.in_transaction

    def check(self) -> tuple[str, ...]:
        """Run the full `PRAGMA integrity_check` now; repair the file if it finds damage.

        Returns the problems found, those this store already repaired since it opened included
        (empty: sound).
        """
        with self.lock:
            self._checked.wait()
            problems: tuple[str, ...] = () if self._damage is None else (self._damage,)
            if not problems:
                self._settle()
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
            self._settle()
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
        connection's next read repairs it.

        While writes made during the start-up check are not committed, only the shared
        connection sees them: the read runs there, holding the lock."""
        with self.lock:
            if self._in_kept_transaction():
                self._settle()
            if self._in_kept_transaction():
                yield self.conn
                return
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

    def write(self, write: Callable[[sqlite3.Connection], T]) -> T:
        """Run `write` in one short `BEGIN IMMEDIATE` transaction, after any kept writes (saved
        with it); its result is returned. Damage met on the way repairs the file and `write`
        runs once more, in the repaired file.

        While the start-up check runs, `write` is made at once but not committed, and kept
        (see the module's docstring): the caller never waits for the check.
        """
        with self.lock:
            try:
                return self._write_once(write)
            except HistoryRepaired:
                return self._write_once(write)  # again in the repaired file: not damage

    def _write_once(self, write: Callable[[sqlite3.Connection], T]) -> T:
        self._settle()
        self._last_try = time.monotonic()
        keep = not self._checked.is_set()
        if not self._in_kept_transaction() and (
            self.read_only or _inode(self.path) != self._inode  # full, or repaired elsewhere
        ):
            self.conn.close()
            self.conn = self._open()
            if self.read_only:
                raise self._write_failed_for_space()
        conn = self.conn
        try:
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
                if keep and self._sequence is None:
                    self._sequence = _sequence(conn)
                self._replay_kept(conn)
            if not keep:
                result = write(conn)
                conn.execute("COMMIT")
        except BaseException as exc:
            self._fail_write(conn, exc)
        if not keep:
            self._saved_kept()
            return result
        try:
            result = _in_savepoint(conn, write)
        except BaseException as exc:
            if conn.in_transaction and not (is_disk_full(exc) or is_corruption(exc)):
                raise  # only this write was undone (its savepoint): the kept ones stay made
            self._fail_write(conn, exc)
        self._kept.append(write)
        return result

    def _fail_write(self, conn: sqlite3.Connection, exc: BaseException) -> NoReturn:
        """Roll back and raise what the caller should see: `HistoryDiskFull`, or
        `HistoryRepaired` once damage met has been repaired, or `exc`."""
        _rollback(conn)
        if is_busy(exc):
            raise HistoryBusy(self.busy_timeout) from exc
        if is_disk_full(exc):
            raise self._write_failed_for_space() from exc
        if is_corruption(exc) and self._repair_now(str(exc)):
            raise HistoryRepaired(self.recovery_notice or str(exc)) from None
        raise exc

    def _save_kept_now(self) -> None:
        """Make the kept writes in a transaction of their own and commit it (after a repair,
        or the check); on a full disk they stay kept."""
        if not self._kept or self._in_kept_transaction():
            return
        if self.read_only:
            self._write_failed_for_space()
            return
        self._commit_kept(made=False)

    def _commit_kept(self, *, made: bool) -> None:
        """Commit the kept writes, `made` in the open transaction or made again now in one of
        their own. On a full disk it is rolled back: they stay kept, made by a later write."""
        conn = self.conn
        try:
            if not made:
                conn.execute("BEGIN IMMEDIATE")
                self._replay_kept(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            if not is_disk_full(exc):
                raise
            self._write_failed_for_space()
            return
        self._saved_kept()

    def _saved_kept(self) -> None:
        """The kept writes are committed: forget them; a full disk has room again."""
        saved = len(self._kept)
        self._kept.clear()
        self._sequence = None
        if self.disk_full:
            log.info("space is back: the history is saved again (%d kept writes)", saved)
            self._warned_full = False
            self._set_disk_full(False)

    def _replay_kept(self, conn: sqlite3.Connection) -> None:
        """The kept writes, in order, each all or nothing; one whose row has gone since
        (deleted, or lost to damage) is dropped. The id counters are first set back up to where
        they were before the first one, so the rows it adds get the ids the callers were told."""
        if not self._kept:
            return
        if self._sequence is not None:
            _restore_sequence(conn, self._sequence)
        for write in list(self._kept):
            try:
                _in_savepoint(conn, write)
            except (sqlite3.IntegrityError, HistoryError) as exc:
                log.info("a kept write no longer applies (%s); dropped", exc)
                self._kept.remove(write)

    def write_or_keep(self, write: PendingWrite) -> None:
        """A reply's write: saved now, or kept in memory (in order) while the disk is full.

        While it is full, a save is tried at most every RETRY_INTERVAL seconds.
        """
        with self.lock:
            recent = time.monotonic() - self._last_try < RETRY_INTERVAL
            if self.disk_full and recent and not self._in_kept_transaction():
                self._kept.append(write)
                return
            try:
                self.write(write)
            except HistoryDiskFull:
                self._kept.append(write)

    @property
    def kept_writes(self) -> int:
        """Writes held in memory: the disk is full, or they wait for the start-up check."""
        return len(self._kept)

    def save_kept(self) -> bool:
        """Try to save the kept writes now; True when nothing is left in memory. While the
        start-up check runs this does not wait: its end saves them."""
        with self.lock:
            if self._kept and not self._closed and self._checked.is_set():
                self.write(_nothing)
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


def _nothing(conn: sqlite3.Connection) -> None:
    """A write of nothing: what saves the kept writes on their own."""


def _in_savepoint(conn: sqlite3.Connection, write: Callable[[sqlite3.Connection], T]) -> T:
    """`write` inside the open transaction, all or nothing: a failure undoes only it."""
    conn.execute("SAVEPOINT kept_write")
    try:
        result = write(conn)
    except BaseException:
        if conn.in_transaction:  # SQLite ends the whole transaction itself on SQLITE_FULL
            try:
                conn.execute("ROLLBACK TO kept_write")
                conn.execute("RELEASE kept_write")
            except sqlite3.Error:
                _rollback(conn)
        raise
    conn.execute("RELEASE kept_write")
    return result


def _sequence(conn: sqlite3.Connection) -> dict[str, int]:
    """The AUTOINCREMENT counters: the last id given out, by table."""
    return {str(r[0]): int(r[1]) for r in conn.execute("SELECT name, seq FROM sqlite_sequence")}


def _restore_sequence(conn: sqlite3.Connection, sequence: dict[str, int]) -> None:
    """Raise the counters to `sequence` (a salvaged file holds at most the rows it had), so
    writes made again give out the ids they gave the first time."""
    now = _sequence(conn)
    for table, last in sequence.items():
        if table not in now:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, last))
        elif now[table] < last:
            conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (last, table))
        elif now[table] > last:
            log.warning(
                "rows were added to %s since the kept writes were made: the rows they add get"
                " new ids",
                table,
            )


def _size(path: Path) -> int:
    """The database's bytes, its WAL's included."""
    return sum(part.stat().st_size for part in (path, sidecars(path)[0]) if part.exists())


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _short(reason: str) -> str:
    return reason if len(reason) <= 80 else reason[:77] + "..."
