"""A full disk while a reply streams, on a real SQLite file: one warning and a notice, the reply
kept in memory, saved when space returns; reads keep working meanwhile.

The disk is a 2 MiB tmpfs filled with a file (when this process may mount one: root), and
otherwise a database held at its size with `PRAGMA max_page_count` (SQLITE_FULL, the same error).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamdesk.core.store.history import (
    DISK_FULL_NOTICE,
    HistoryDiskFull,
    HistoryStore,
    ReplyWriter,
)

BATCH = "streamed text " * 150  # about 2 KiB per flush


class Tmpfs:
    """A small filesystem of its own, filled up with a file and freed by deleting it."""

    def __init__(self, mount: Path) -> None:
        self.folder = mount
        self.filler = mount / "filler"

    def fill(self, store: HistoryStore) -> None:
        with self.filler.open("wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass  # ENOSPC: the disk is full

    def free(self, store: HistoryStore) -> None:
        self.filler.unlink()


class PageLimit:
    """The database may not grow past its current size: writes fail with SQLITE_FULL.

    The limit holds for one connection only, so it is set on the store's own.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def fill(self, store: HistoryStore) -> None:
        # clamped to the current size
        store._db.conn.execute("PRAGMA max_page_count = 1")  # noqa: SLF001

    def free(self, store: HistoryStore) -> None:
        store._db.conn.execute("PRAGMA max_page_count = 1073741823")  # noqa: SLF001


def _mount_tmpfs(folder: Path) -> bool:
    if os.name != "posix" or os.geteuid() != 0:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True
    )
    return result.returncode == 0


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    folder = tmp_path / "disk"
    folder.mkdir()
    if not _mount_tmpfs(folder):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield Tmpfs(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.fixture(params=["tmpfs", "max_page_count"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Tmpfs | PageLimit:
    if request.param == "tmpfs":
        disk: Tmpfs | PageLimit = request.getfixturevalue("tmpfs")
        return disk
    return PageLimit(tmp_path)


def _stream_until_full(store: HistoryStore, writer: ReplyWriter) -> str:
    sent = ""
    for _ in range(2000):  # bounded: 4 MiB, twice the disk
        writer.append_text(BATCH)
        writer.flush()
        sent += BATCH
        if store.disk_full:
            return sent
    raise AssertionError("the disk never filled")


def test_a_full_disk_keeps_the_reply_in_memory_and_saves_it_when_space_returns(
    disk: Tmpfs | PageLimit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="streamdesk")
    path = disk.folder / "history.sqlite3"
    with HistoryStore(path) as store:
        cid = store.create_conversation(title="Full disk")
        store.add_message(cid, "user", "tell me a story")
        mid = store.add_message(cid, "assistant", "", status="streaming")
        writer = ReplyWriter(store, mid)
        writer.append_text("saved before ")
        writer.flush()
        disk.fill(store)
        sent = "saved before " + _stream_until_full(store, writer)
        for _ in range(20):  # the reply keeps streaming: no error reaches the caller
            writer.append_text(BATCH)
            writer.flush()
            sent += BATCH
        assert store.disk_full_notice == DISK_FULL_NOTICE
        assert store.unsaved_writes > 0
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warnings == ["the disk is full: replies are kept in memory until space returns"]
        assert not any("rollback" in r.getMessage() for r in caplog.records)

        with HistoryStore(path) as reader:  # another process: list, show, search, export
            assert [c.title for c in reader.list_conversations()] == ["Full disk"]
            assert reader.messages(cid)[0].content == "tell me a story"
            assert reader.search("story")[0].conversation_id == cid
            assert "tell me a story" in reader.export_markdown(cid)
            assert reader.export_json(cid)["conversation"]["title"] == "Full disk"

        disk.free(store)
        assert store.save_unsaved()
        assert not store.disk_full and store.disk_full_notice is None
        writer.append_text("the end")
        writer.finish("complete")
    with HistoryStore(path) as store:
        reply = store.get_message(mid)
    assert (reply.content, reply.status) == (sent + "the end", "complete")


@pytest.mark.asyncio
async def test_a_reply_that_ends_on_a_full_disk_is_saved_by_the_writer_once_space_returns(
    disk: Tmpfs | PageLimit,
) -> None:
    path = disk.folder / "history.sqlite3"
    with HistoryStore(path) as store:
        changed = asyncio.Event()
        store.add_notice_listener(changed.set)
        cid = store.create_conversation()
        mid = store.add_message(cid, "assistant", "", status="streaming")
        writer = ReplyWriter(store, mid)
        disk.fill(store)
        sent = _stream_until_full(store, writer)
        writer.finish("partial", failure_kind="cut_mid_stream", failure_message="cut")
        assert writer.finished and store.unsaved_writes
        changed.clear()
        disk.free(store)
        await asyncio.wait_for(changed.wait(), 10)  # the writer's retry saved everything
        assert not store.disk_full and store.unsaved_writes == 0
        reply = store.get_message(mid)
    assert (reply.content, reply.status, reply.failure_message) == (sent, "partial", "cut")


def test_opening_on_a_full_disk_reads_and_refuses_writes_clearly(tmpfs: Tmpfs) -> None:
    path = tmpfs.folder / "history.sqlite3"
    with HistoryStore(path) as store:
        cid = store.create_conversation(title="Before")
        store.add_message(cid, "user", "hello there")
    assert not path.with_name(path.name + "-shm").exists()  # closed: SQLite must make it again
    tmpfs.fill(store)
    with HistoryStore(path) as store:
        assert store.disk_full and store.disk_full_notice == DISK_FULL_NOTICE
        assert [m.content for m in store.messages(cid)] == ["hello there"]
        assert store.search("hello")[0].conversation_id == cid
        # the reads made on connections of their own (exports, earlier turns, usage) too
        assert "hello there" in store.export_markdown(cid)
        assert [m["content"] for m in store.export_json(cid)["messages"]] == ["hello there"]
        assert store.messages_before(cid, 10**9)[0].content == "hello there"
        assert store.usage().days.totals.replies == 0
        with pytest.raises(HistoryDiskFull, match="the disk is full"):
            store.create_conversation(title="During")
        tmpfs.free(store)
        new = store.create_conversation(title="After")
        assert not store.disk_full
        assert [c.id for c in store.list_conversations()] == [new, cid]
