"""HistoryStore on real SQLite files: conversations, messages, alternatives, search, recovery."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from streamdesk.core.events import Usage
from streamdesk.core.store.history import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    ConversationNotFound,
    HistoryStore,
    MessageNotFound,
    default_path,
    plain_snippet,
)


def _sql(store: HistoryStore) -> sqlite3.Connection:
    """A second connection to the store's file, for what the store's API does not show."""
    return sqlite3.connect(store.path, isolation_level=None)


def test_default_path_is_under_streamdesk_home(streamdesk_home: Path) -> None:
    with HistoryStore() as s:
        s.create_conversation(title="x")
    assert default_path() == streamdesk_home / "data" / "history.sqlite3"
    assert default_path().exists()


def test_list_is_pinned_first_then_newest(store: HistoryStore) -> None:
    a = store.create_conversation(title="a")
    b = store.create_conversation(title="b")
    c = store.create_conversation(title="c")
    store.add_message(a, "user", "bump a")  # a is now the newest
    store.set_pinned(b, True)
    assert [x.id for x in store.list_conversations()] == [b, a, c]
    summary = store.list_conversations()[1]
    assert (summary.title, summary.message_count, summary.pinned) == ("a", 1, False)
    assert [x.id for x in store.list_conversations(limit=1, offset=1)] == [a]


def test_conversation_fields_update_and_unknown_id(store: HistoryStore) -> None:
    cid = store.create_conversation(provider="openai", model="m1", params={"temperature": 0.2})
    store.rename(cid, "Renamed")
    store.update_conversation(cid, system_prompt="Be brief.", params={"max_tokens": 64})
    conv = store.get_conversation(cid)
    assert (conv.title, conv.system_prompt, conv.model) == ("Renamed", "Be brief.", "m1")
    assert conv.params == {"max_tokens": 64}
    with pytest.raises(ConversationNotFound):
        store.get_conversation(999)
    with pytest.raises(ConversationNotFound):
        store.rename(999, "x")
    with pytest.raises(ConversationNotFound):
        store.add_message(999, "user", "x")


def test_auto_title_is_short_and_keeps_a_user_title(store: HistoryStore) -> None:
    cid = store.create_conversation()
    title = store.auto_title(
        cid, "## How do I\n\nreverse a list in Python without copying it twice?"
    )
    assert title == "How do I"
    cid2 = store.create_conversation()
    long = store.auto_title(cid2, "Explain " + "the history of the Roman empire " * 5)
    assert long.endswith("…") and len(long) <= 48
    store.rename(cid2, "Mine")
    assert store.auto_title(cid2, "something else") == "Mine"


def test_lazy_pages_newest_first(store: HistoryStore) -> None:
    cid = store.create_conversation()
    ids = [store.add_message(cid, "user" if i % 2 else "assistant", f"m{i}") for i in range(120)]
    last = store.messages(cid, limit=50)
    assert [m.id for m in last] == ids[70:]
    page2 = store.messages(cid, limit=50, before_id=last[0].id)
    assert [m.id for m in page2] == ids[20:70]
    assert [m.id for m in store.messages(cid, limit=50, before_id=page2[0].id)] == ids[:20]
    assert store.count_messages(cid) == 120


def test_regenerate_keeps_alternatives_and_flips(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", "q")
    first = store.add_message(cid, "assistant", "answer one")
    follow = store.add_message(cid, "user", "next")
    second = store.add_message(cid, "assistant", "answer two", alternative_of=first)
    shown = store.messages(cid)
    assert [m.content for m in shown] == ["q", "answer two", "next"]  # keeps its position
    assert (shown[1].alt_index, shown[1].alt_count) == (1, 2)
    assert [m.id for m in store.alternatives(first)] == [first, second]
    store.set_active_alternative(first)
    assert [m.content for m in store.messages(cid)] == ["q", "answer one", "next"]
    assert len(store.messages(cid, active_only=False)) == 4
    store.delete_message(first)  # the active one: the other alternative shows again
    assert [m.id for m in store.messages(cid)][1:] == [second, follow]
    with pytest.raises(MessageNotFound):
        store.alternatives(first)


def test_update_message_fields(store: HistoryStore) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "x", status="partial")
    store.update_message(
        mid, status="complete", usage=Usage(10, 20), timings={"ttft": 0.5}, cost=0.01,
        protocol="sse", model="m", failure_kind=None,
    )  # fmt: skip
    m = store.messages(cid)[0]
    assert (m.status, m.usage, m.timings, m.cost, m.protocol) == (
        "complete", Usage(10, 20), {"ttft": 0.5}, 0.01, "sse",
    )  # fmt: skip
    with pytest.raises(TypeError):
        store.update_message(mid, api_key="nope")
    with pytest.raises(ValueError):
        store.update_message(mid, status="weird")
    with pytest.raises(MessageNotFound):
        store.update_message(12345, content="x")


def test_search_highlights_and_follows_edits_and_deletes(store: HistoryStore) -> None:
    cid = store.create_conversation(title="Chem")
    mid = store.add_message(cid, "user", "What is the boiling point of ethanol?")
    store.add_message(cid, "assistant", 'Ethanol boils at 78 °C. Say "NEAR" AND * (')
    hits = store.search("ethanol")
    assert {h.message_id for h in hits} == {mid, mid + 1}
    assert all(h.conversation_title == "Chem" for h in hits)
    assert f"{HIGHLIGHT_START}ethanol{HIGHLIGHT_END}" in next(
        h.snippet for h in hits if h.message_id == mid
    )
    assert [h.message_id for h in store.search('"NEAR" AND * (')] == [mid + 1]  # syntax is literal
    assert store.search("   ") == [] and store.search("*") == []
    store.update_message(mid, content="What is the melting point of gold?")
    assert [h.message_id for h in store.search("ethanol")] == [mid + 1]
    assert [h.message_id for h in store.search("gold")] == [mid]
    store.delete_message(mid + 1)
    assert store.search("ethanol") == []


def test_streaming_rows_are_indexed_once_finished(store: HistoryStore) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "assistant", "", status="streaming")
    store.append_to_message(mid, "zebras are ")
    store.append_to_message(mid, "striped")
    assert store.search("zebras") == []
    store.update_message(mid, status="complete")
    assert [h.message_id for h in store.search("zebras striped")] == [mid]
    _sql(store).execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")


def test_delete_and_undo_restores_same_ids(store: HistoryStore) -> None:
    cid = store.create_conversation(title="keep me", params={"temperature": 1})
    a = store.add_message(cid, "user", "hello unicorn")
    b = store.add_message(cid, "assistant", "hi")
    store.add_message(cid, "assistant", "hi again", alternative_of=b)
    before = store.export_json(cid)
    snapshot = store.delete_conversation(cid)
    assert store.list_conversations() == [] and store.search("unicorn") == []
    assert _sql(store).execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0  # cascade
    assert store.restore_conversation(snapshot) == cid
    assert store.export_json(cid) == before
    assert [h.message_id for h in store.search("unicorn")] == [a]


def test_streaming_rows_of_dead_writers_reopen_as_partial(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    with HistoryStore(path) as s:
        cid = s.create_conversation()
        mine = s.add_message(cid, "assistant", "live", status="streaming")
        orphan = s.add_message(cid, "assistant", "cut", status="streaming")
        _sql(s).execute("UPDATE messages SET writer_pid = ? WHERE id = ?",
                        (int(dead.stdout), orphan))  # fmt: skip
        with HistoryStore(path) as other:  # e.g. the CLI while the window streams
            status = {m.id: m.status for m in other.messages(cid)}
        assert status == {mine: "streaming", orphan: "partial"}
        assert [h.message_id for h in s.search("cut")] == [orphan]


def test_search_snippet_for_display_has_no_markdown_markers(store: HistoryStore) -> None:
    cid = store.create_conversation(title="md")
    store.add_message(
        cid, "assistant", "## 🚀 Fast streaming\n\n- **Bold** `code` [docs](https://x.y)"
    )
    (hit,) = store.search("streaming")
    shown = plain_snippet(hit.snippet)
    assert shown.startswith("🚀 Fast " + HIGHLIGHT_START + "streaming")
    assert "Bold code docs" in shown
    assert not any(mark in shown for mark in ("#", "**", "`", "](", "- "))
