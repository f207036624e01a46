"""ReplyWriter: batched, timer-driven persistence of a streaming reply on a real asyncio loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from streamdesk.core.events import Done, Failure, FailureKind, ReasoningDelta, TextDelta, Usage
from streamdesk.core.store.history import HistoryStore, ReplyWriter


class CountingWriter(ReplyWriter):
    """Signals each flush that wrote something."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.writes = 0
        self.wrote = asyncio.Event()

    def flush(self) -> None:
        before = self.flushed_chars
        super().flush()
        if self.flushed_chars != before:
            self.writes += 1
            self.wrote.set()


def _stored(store: HistoryStore, mid: int) -> tuple[str, str]:
    """Content and status as another connection sees them (what survives this process)."""
    with HistoryStore(store.path) as other:
        m = other.get_message(mid)
    return m.content, m.status


@pytest.mark.asyncio
async def test_append_is_batched_and_flushed_by_a_timer(store: HistoryStore) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "", status="streaming")
    writer = CountingWriter(store, mid, interval=0.05)
    started = time.monotonic()
    for i in range(100):
        writer.append_text(f"t{i} ")
    assert _stored(store, mid) == ("", "streaming")  # append never touches the database
    await asyncio.wait_for(writer.wrote.wait(), 5)
    assert time.monotonic() - started >= 0.045
    assert writer.writes == 1  # one UPDATE for the whole batch
    assert _stored(store, mid)[0] == "".join(f"t{i} " for i in range(100))
    writer.append_reasoning("thinking")
    writer.append_text("end")
    writer.finish("complete", usage=Usage(3, 101), timings={"ttft": 0.1, "total": 1.0}, cost=0.5)
    m = store.messages(cid)[0]
    assert m.content.endswith("t99 end") and m.reasoning == "thinking"
    assert (m.status, m.usage, m.timings, m.cost) == (
        "complete", Usage(3, 101), {"ttft": 0.1, "total": 1.0}, 0.5,
    )  # fmt: skip
    assert store.search("t99")[0].message_id == mid  # indexed once finished


@pytest.mark.parametrize(
    ("events", "status", "kind"),
    [
        ([TextDelta("ab"), Usage(1, 2), Done("stop")], "complete", None),
        (
            [TextDelta("ab"), Failure(FailureKind.CUT_MID_STREAM, "cut")],
            "partial",
            "cut_mid_stream",
        ),
        ([TextDelta("ab"), Failure(FailureKind.CANCELLED, "stop")], "stopped", "cancelled"),
        (
            [ReasoningDelta("r"), Failure(FailureKind.AUTHENTICATION, "401")],
            "error",
            "authentication",
        ),
    ],
)
def test_feed_maps_stream_endings_to_statuses(
    store: HistoryStore, events: list[object], status: str, kind: str | None
) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "", status="streaming")
    writer = ReplyWriter(store, mid)
    ended = [writer.feed(e, protocol="sse") for e in events]  # type: ignore[arg-type]
    assert ended[-1] and not any(ended[:-1])
    m = store.messages(cid)[0]
    assert (m.status, m.failure_kind, m.protocol) == (status, kind, "sse")
    if status == "complete":
        assert m.usage == Usage(1, 2) and m.content == "ab"


def test_continue_a_partial_reply_appends_after_the_stored_text(store: HistoryStore) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "Once upon", status="partial")
    writer = ReplyWriter(store, mid)
    assert _stored(store, mid) == ("Once upon", "streaming")
    writer.append_text(" a time")
    writer.finish("complete")
    assert _stored(store, mid) == ("Once upon a time", "complete")


def test_flush_keeps_the_batch_when_the_database_is_locked(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3", busy_timeout=0) as store:
        cid = store.create_conversation()
        mid = store.add_message(cid, "assistant", "", status="streaming")
        writer = ReplyWriter(store, mid)
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        writer.append_text("kept ")
        writer.flush()  # fails: another connection holds the write lock
        writer.append_text("in order")
        blocker.execute("COMMIT")
        blocker.close()
        writer.flush()
        assert _stored(store, mid) == ("kept in order", "streaming")
        with pytest.raises(ValueError):
            writer.finish("streaming")
