"""History across processes: kill -9 mid-stream keeps the flushed prefix; concurrent writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from streamdesk.core.store.history import HistoryStore

ROOT = Path(__file__).resolve().parents[4]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "desktop")}

STREAMER = """
import asyncio, sys
from pathlib import Path
from streamdesk.core.store.history import HistoryStore, ReplyWriter

store = HistoryStore(Path(sys.argv[1]))
cid = store.create_conversation(title="kill")
mid = store.add_message(cid, "assistant", "", status="streaming")
print("message", mid, flush=True)

class Reporting(ReplyWriter):
    def flush(self):
        super().flush()
        print("flushed", self.flushed_chars, flush=True)

async def main():
    writer = Reporting(store, mid, interval=0.02)
    i = 0
    while True:
        writer.append_text(f"tok{i:06d} ")
        i += 1
        await asyncio.sleep(0.0005)

asyncio.run(main())
"""

CONCURRENT = """
import asyncio, sys
from pathlib import Path
from streamdesk.core.store.history import HistoryStore, ReplyWriter

store = HistoryStore(Path(sys.argv[1]))
shared, tag = int(sys.argv[2]), sys.argv[3]
print("ready", flush=True)
sys.stdin.readline()

async def main():
    own = store.create_conversation(title=tag)
    for i in range(150):
        store.add_message(shared, "user", f"{tag} shared {i}")
        store.add_message(own, "user", f"{tag} own {i}")
    mid = store.add_message(shared, "assistant", "", status="streaming")
    writer = ReplyWriter(store, mid, interval=0.003)
    for i in range(400):
        writer.append_text(f"{tag}{i} ")
        if i % 10 == 0:
            await asyncio.sleep(0.004)
    writer.finish("complete")
    print(own, mid, flush=True)

asyncio.run(main())
"""


def _expected_stream(n_chars: int) -> str:
    return "".join(f"tok{i:06d} " for i in range(n_chars // 10 + 1))[:n_chars]


def test_kill_9_mid_stream_keeps_flushed_prefix_as_partial(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", STREAMER, str(path)], stdout=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert proc.stdout is not None
        mid = int(proc.stdout.readline().split()[1])
        reported = 0
        flushes = 0
        while flushes < 5:  # wait on the child's own reports, not on a clock
            line = proc.stdout.readline()
            assert line, "the streaming process ended early"
            reported = int(line.split()[1])
            flushes += 1
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with HistoryStore(path) as store:
        m = store.get_message(mid)
    assert m.status == "partial"
    assert len(m.content) >= reported > 0
    assert m.content == _expected_stream(len(m.content))  # a clean prefix, nothing garbled
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.timeout(60)
def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        shared = store.create_conversation(title="shared")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(path), str(shared), tag],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for tag in ("A", "B")
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:  # start both together
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [p.communicate(timeout=50)[0].split() for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert [p.returncode for p in procs] == [0, 0]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    conn.close()
    with HistoryStore(path) as store:
        assert store.count_messages(shared) == 2 * 150 + 2
        for tag, (own, mid) in zip(("A", "B"), results, strict=True):
            assert [m.content for m in store.messages(int(own))] == [
                f"{tag} own {i}" for i in range(150)
            ]
            reply = store.get_message(int(mid))
            assert reply.status == "complete"
            assert reply.content == "".join(f"{tag}{i} " for i in range(400))
            shared_texts = {m.content for m in store.messages(shared)}
            assert {f"{tag} shared {i}" for i in range(150)} <= shared_texts


def test_a_history_another_process_keeps_locked_opens_and_says_a_write_is_busy(
    tmp_path: Path,
) -> None:
    """Another process holds the write lock (a window's start-up check over a large history,
    a long import): opening the history does not wait for it, and a write that waits longer
    than the busy timeout fails with `HistoryBusy`, a sentence, not a raw SQLite error."""
    from streamdesk.core.store.history import HistoryBusy

    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.create_conversation(title="there")
    holder = sqlite3.connect(str(path))
    holder.execute("BEGIN IMMEDIATE")
    try:
        store = HistoryStore(path, busy_timeout=0.05)  # opens: no write lock needed
        try:
            assert [c.title for c in store.list_conversations()] == ["there"]
            with pytest.raises(HistoryBusy, match="busy: another Streamdesk process"):
                store.create_conversation(title="blocked")
        finally:
            store.close()
    finally:
        holder.rollback()
        holder.close()
    with HistoryStore(path) as store:
        assert store.create_conversation(title="later") > 0
