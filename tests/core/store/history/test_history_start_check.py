"""Writes made while the start-up `PRAGMA quick_check` runs, on a real SQLite file: they return
at once and reads on the store see them, they are committed only once the check passes, made
again in the repaired file when it finds damage (with the ids the callers were told), and saved
by `close`.

The check is held on its thread by `HeldCheck` (events, no sleeps) until the test lets it run.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from history_damage import (
    CONVERSATIONS,
    damaged_copies,
    digest,
    garbage_in_a_page,
    message_text,
    populate,
)

from streamdesk.core.store.history import HistoryStore, MessageNotFound, ReplyWriter, database

WAIT = 30.0  # seconds: only reached when the code under test is broken


class HeldCheck:
    """Once `hold` is called, holds the next store's start-up check on its thread until
    `release`, then runs the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self._release = threading.Event()
        self._holding = False
        self.thread: threading.Thread | None = None
        real = database.quick_check

        def held(conn: sqlite3.Connection) -> list[str]:
            if not self._holding or self.thread is not None:
                return real(conn)
            self.thread = threading.current_thread()
            self.started.set()
            assert self._release.wait(WAIT), "the test never let the check run"
            return real(conn)

        monkeypatch.setattr(database, "quick_check", held)
        monkeypatch.setattr(database, "CHECK_AT_OPEN_BELOW", 0)  # small files too, on a thread

    def hold(self) -> None:
        self._holding = True

    def release(self) -> None:
        self._release.set()

    def finish(self) -> None:
        """Let the check run and wait until its thread has done everything it does after."""
        assert self.started.wait(WAIT)
        self.release()
        assert self.thread is not None
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldCheck]:
    """The next store's start-up check, held; let run at the end of the test whatever happens."""
    check = HeldCheck(monkeypatch)
    yield check
    check.release()


def _returns_while_held(check: HeldCheck, action: Callable[[], object]) -> None:
    """Run `action` on a thread of its own (a write that waited for the check would fail the
    test instead of hanging it) and wait for it to return while the check is still held."""
    assert check.started.wait(WAIT)
    done = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # reported on the test's thread
            errors.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(WAIT), "the write waited for the check"
    assert not errors, errors


def _committed(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another connection sees: only committed rows."""
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _first_send(store: HistoryStore, ids: dict[str, int]) -> ReplyWriter:
    """What the window writes on the first send: the conversation, its title, the prompt, the
    streaming reply row and its first text (the reply's writer is returned)."""
    cid = ids["cid"] = store.create_conversation(provider="mock", model="m")
    store.auto_title(cid, "hello there")
    store.add_message(cid, "user", "hello there")
    mid = ids["reply"] = store.add_message(cid, "assistant", "", status="streaming")
    writer = ReplyWriter(store, mid)
    writer.append_text("the first words")
    writer.flush()
    return writer


def test_a_write_during_the_check_returns_at_once_and_is_committed_when_it_passes(
    tmp_path: Path, check: HeldCheck
) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.create_conversation(title="older")
    check.hold()
    store = HistoryStore(path)
    try:
        ids: dict[str, int] = {}
        _returns_while_held(check, lambda: _first_send(store, ids))
        cid = ids["cid"]
        # the window lists and reads the new conversation at once
        assert [c.title for c in store.list_conversations()] == ["hello there", "older"]
        assert [m.content for m in store.messages(cid)] == ["hello there", "the first words"]
        exported = store.export_json(cid)  # read apart: the shared connection while kept
        assert exported["conversation"]["title"] == "hello there"
        assert _committed(path, "SELECT title FROM conversations") == [("older",)]
        assert store.unsaved_writes > 0
        check.finish()
        assert store.unsaved_writes == 0
        assert _committed(path, "SELECT title FROM conversations ORDER BY id") == [
            ("older",), ("hello there",),
        ]  # fmt: skip
        assert store.recovery_notice is None
    finally:
        check.release()
        store.close()
    with HistoryStore(path) as again:
        assert [m.content for m in again.messages(cid)] == ["hello there", "the first words"]
        assert again.check().ok


def test_a_failed_write_during_the_check_undoes_only_itself(
    tmp_path: Path, check: HeldCheck
) -> None:
    path = tmp_path / "history.sqlite3"
    check.hold()
    with HistoryStore(path) as store:
        ids: dict[str, int] = {}
        _returns_while_held(check, lambda: _first_send(store, ids))
        with pytest.raises(MessageNotFound):  # an alternative of a reply that is not there
            store.add_message(ids["cid"], "assistant", "lost", alternative_of=999)
        store.rename(ids["cid"], "renamed")
        check.finish()
    with HistoryStore(path) as again:
        assert again.get_conversation(ids["cid"]).title == "renamed"
        assert [m.content for m in again.messages(ids["cid"])] == [
            "hello there", "the first words",
        ]  # fmt: skip


def test_writes_made_before_the_check_finds_damage_land_in_the_repaired_file(
    tmp_path: Path, check: HeldCheck
) -> None:
    path = tmp_path / "history.sqlite3"
    populate(path)
    garbage_in_a_page(path, message_text(7, 12))
    damaged = digest(path)
    repaired = threading.Event()
    check.hold()
    with HistoryStore(path) as store:
        store.add_notice_listener(repaired.set)
        ids: dict[str, int] = {}
        _returns_while_held(check, lambda: _first_send(store, ids))
        assert store.recovery_notice is None  # the writes did not meet the damage
        assert digest(path) == damaged, "nothing is written into the damaged file"
        check.finish()
        assert repaired.is_set()
        notice = store.recovery_notice
        assert notice is not None and "were saved into a fresh history" in notice
        assert store.unsaved_writes == 0
        assert store.get_conversation(ids["cid"]).title == "hello there"
        assert [m.content for m in store.messages(ids["cid"])] == [
            "hello there", "the first words",
        ]  # fmt: skip
    (copy,) = damaged_copies(path)
    assert digest(copy) == damaged
    with HistoryStore(path) as again:
        assert again.recovery_notice is None and again.check().ok
        assert len(again.list_conversations()) == CONVERSATIONS + 1
        assert again.get_message(ids["reply"]).content == "the first words"


def test_writes_made_again_after_a_repair_keep_the_ids_the_callers_were_told(
    tmp_path: Path, check: HeldCheck
) -> None:
    """The damage takes the newest message (its text's overflow page): the repaired file holds
    fewer ids than the damaged one, and the message written meanwhile keeps its id."""
    path = tmp_path / "history.sqlite3"
    populate(path)
    with HistoryStore(path) as store:
        last = store.list_conversations()[0].id
        newest = store.add_message(last, "user", "long " * 2000 + "MARKER" + " text" * 2000)
    garbage_in_a_page(path, "MARKER")
    check.hold()
    with HistoryStore(path) as store:
        written: list[int] = []
        _returns_while_held(check, lambda: written.append(store.add_message(1, "user", "new")))
        assert written == [newest + 1]
        check.finish()
        assert store.recovery_notice is not None
        with pytest.raises(MessageNotFound):
            store.get_message(newest)  # lost to the damage
        assert store.get_message(newest + 1).content == "new"


def test_close_saves_the_writes_made_during_the_check(tmp_path: Path, check: HeldCheck) -> None:
    path = tmp_path / "history.sqlite3"
    check.hold()
    store = HistoryStore(path)
    ids: dict[str, int] = {}
    _returns_while_held(check, lambda: _first_send(store, ids))
    closed = threading.Event()

    def close() -> None:
        store.close()  # waits for the check: the writes go only into a file it passed
        closed.set()

    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    check.finish()
    closer.join(WAIT)
    assert closed.is_set()
    with HistoryStore(path) as again:
        assert again.get_conversation(ids["cid"]).title == "hello there"
        assert again.get_message(ids["reply"]).content == "the first words"


def test_writes_a_full_disk_refused_during_the_check_are_saved_when_it_ends_with_room(
    tmp_path: Path, check: HeldCheck
) -> None:
    """The disk fills while the check runs: the writes made so far are rolled back with the one
    refused and kept; once space returns and the check passes, all are saved, with their ids."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.create_conversation(title="older")
    check.hold()
    with HistoryStore(path) as store:
        conn = store._db.conn  # noqa: SLF001  the database may not grow (SQLITE_FULL)
        ids: dict[str, int] = {}
        sent: list[str] = ["the first words"]

        def send_until_full() -> None:
            writer = _first_send(store, ids)
            conn.execute("PRAGMA max_page_count = 1")  # clamped to the current size
            for n in range(1000):  # bounded
                sent.append(f"batch {n} " + "streamed text " * 150)
                writer.append_text(sent[-1])
                writer.flush()
                if store.disk_full:
                    return
            raise AssertionError("the disk never filled")

        _returns_while_held(check, send_until_full)
        assert store.unsaved_writes > 0
        assert [c.title for c in store.list_conversations()] == ["older"]  # rolled back
        conn.execute("PRAGMA max_page_count = 1073741823")
        check.finish()
        assert not store.disk_full and store.unsaved_writes == 0
        assert [c.id for c in store.list_conversations()] == [ids["cid"], 1]
        assert store.get_message(ids["reply"]).content == "".join(sent)
