"""A damaged history file, on a real SQLite file: moved aside untouched, what can be read saved
into a fresh file, the user told once; `check` reports integrity."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from history_damage import (
    CONVERSATIONS,
    PER_CONVERSATION,
    bad_header,
    damaged_copies,
    digest,
    garbage_in_a_page,
    message_text,
    populate,
    truncate_half,
)

from streamdesk.core.store.history import HistoryStore, ReplyWriter


def _search_index_matches(path: Path) -> None:
    """FTS5's own check: the index holds exactly the finished messages (raises if not)."""
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
    db.close()


def _all_messages(store: HistoryStore) -> dict[int, list[str]]:
    return {c.id: [m.content for m in store.messages(c.id)] for c in store.list_conversations()}


def test_garbage_in_a_middle_page_is_repaired_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    texts = populate(path)
    garbage_in_a_page(path, message_text(7, 12))
    damaged = digest(path)
    with HistoryStore(path) as store:
        cid = store.create_conversation(title="written after the damage")  # what `ask` does
        store.add_message(cid, "user", "a new prompt")
        notice = store.recovery_notice
        saved = _all_messages(store)
    (copy,) = damaged_copies(path)
    assert copy.name.startswith("history.sqlite3.corrupt-")
    assert digest(copy) == damaged, "the damaged copy is never written"
    assert notice is not None and str(copy) in notice
    lost = [t for cid, ts in texts.items() for t in ts if t not in saved.get(cid, [])]
    assert message_text(7, 12) in lost and 0 < len(lost) < PER_CONVERSATION
    assert f"{CONVERSATIONS} conversations and {CONVERSATIONS * PER_CONVERSATION - len(lost)}" \
        " messages were saved" in notice  # fmt: skip
    assert saved[cid] == ["a new prompt"]
    with HistoryStore(path) as again:  # told once: the fresh file is sound
        assert again.recovery_notice is None
        assert again.check().ok
        assert _all_messages(again) == saved


@pytest.mark.parametrize(
    ("damage", "reason", "everything_saved"),
    [
        (bad_header, "the file header is damaged", True),
        (truncate_half, "the file is truncated", False),
    ],
)
def test_a_bad_header_or_a_cut_off_file_is_caught_at_open(
    tmp_path: Path, damage: Callable[[Path], None], reason: str, everything_saved: bool
) -> None:
    path = tmp_path / "history.sqlite3"
    texts = populate(path)
    damage(path)
    damaged = digest(path)
    with HistoryStore(path) as store:
        notice = store.recovery_notice
        saved = _all_messages(store)
    (copy,) = damaged_copies(path)
    assert digest(copy) == damaged
    assert notice is not None and reason in notice and str(copy) in notice
    assert len(saved) == CONVERSATIONS  # the conversations table sits early in the file
    kept = sum(len(ts) for ts in saved.values())
    for cid, ts in saved.items():
        assert ts == [t for t in texts[cid] if t in ts]  # in order, unchanged
    _search_index_matches(path)
    with HistoryStore(path) as store:
        assert store.search("lorem", limit=1000)
    if everything_saved:
        assert saved == texts
    else:
        assert 0 < kept < CONVERSATIONS * PER_CONVERSATION
    assert f"{CONVERSATIONS} conversations and {kept} messages were saved" in notice


def test_a_file_nothing_can_be_read_from_is_replaced_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"\x00garbage" * 1000)
    with HistoryStore(path) as store:
        assert store.list_conversations() == []
        assert "nothing could be read from it" in (store.recovery_notice or "")
        store.create_conversation(title="fresh")
    (copy,) = damaged_copies(path)
    assert copy.read_bytes() == b"\x00garbage" * 1000


def test_a_streaming_reply_in_a_damaged_file_is_saved_and_reopens_partial(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    populate(path)
    with HistoryStore(path) as store:
        cid = store.create_conversation(title="streamed")
        mid = store.add_message(cid, "assistant", "", status="streaming")
        writer = ReplyWriter(store, mid)
        writer.append_text("kept in a chunk")
        writer.flush()
        store.update_message(mid, status="streaming")  # writer_pid of this process
    with sqlite3.connect(path) as db:  # a process that died mid-reply: no writer any more
        db.execute("UPDATE messages SET writer_pid = 2147483647 WHERE id = ?", (mid,))
    db.close()
    bad_header(path)
    with HistoryStore(path) as store:
        assert store.recovery_notice is not None
        reply = store.get_message(mid)
    assert (reply.content, reply.status) == ("kept in a chunk", "partial")
    _search_index_matches(path)


def test_check_reports_a_sound_file(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", "hello")
    report = store.check()
    assert (report.ok, report.conversations, report.messages, report.notice) == (
        True, 1, 1, None,
    )  # fmt: skip


def test_check_reports_damage_and_what_was_done(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    populate(path)
    garbage_in_a_page(path, message_text(3, 4))
    with HistoryStore(path) as store:
        report = store.check()
    assert not report.ok and report.problems
    assert report.notice is not None and "were saved into a fresh history" in report.notice
    assert report.conversations == CONVERSATIONS
    assert 0 < CONVERSATIONS * PER_CONVERSATION - report.messages < PER_CONVERSATION
    assert len(damaged_copies(path)) == 1


def test_a_store_already_open_elsewhere_carries_on_in_the_repaired_file(tmp_path: Path) -> None:
    """The window holds the file open while `ask` finds it damaged: the window's next writes go
    to the repaired file, never into the copy."""
    path = tmp_path / "history.sqlite3"
    populate(path)
    with HistoryStore(path) as window:
        assert len(window.list_conversations()) == CONVERSATIONS
        garbage_in_a_page(path, message_text(11, 20))
        with HistoryStore(path) as ask:
            asked = ask.create_conversation(title="from ask")
            assert ask.recovery_notice is not None
        (copy,) = damaged_copies(path)
        damaged = digest(copy)
        mine = window.create_conversation(title="from the window")
        window.add_message(mine, "user", "still saved")
        assert {asked, mine} <= {c.id for c in window.list_conversations()}
    assert digest(copy) == damaged
    with HistoryStore(path) as again:
        assert again.check().ok and again.recovery_notice is None
        assert [m.content for m in again.messages(mine)] == ["still saved"]
        assert again.get_conversation(asked).title == "from ask"
    assert damaged_copies(path) == [copy]
