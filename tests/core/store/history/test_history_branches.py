"""Edit-and-resend keeps what it replaces: the old prompt's branch is hidden, never deleted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from streamdesk.core.store.history import HistoryStore, schema


def _contents(store: HistoryStore, cid: int) -> list[str]:
    return [m.content for m in store.messages(cid)]


def _two_turns(store: HistoryStore) -> tuple[int, list[int]]:
    cid = store.create_conversation(title="t")
    ids = [
        store.add_message(cid, role, text)
        for role, text in (("user", "u1"), ("assistant", "a1"), ("user", "u2"), ("assistant", "a2"))
    ]
    return cid, ids


def test_v1_database_migrates_to_the_branch_column(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    conn = schema.connect(path)
    assert schema.migrate(conn, target=1) == 1
    conn.execute("INSERT INTO conversations (title, created, updated) VALUES ('old', 1, 1)")
    for i, (role, text) in enumerate((("user", "q"), ("assistant", "a")), start=1):
        conn.execute(
            "INSERT INTO messages (conversation_id, group_id, role, content, created)"
            " VALUES (1, ?, ?, ?, 1)",
            (i, role, text),
        )
    conn.close()
    with HistoryStore(path) as s:
        conn = sqlite3.connect(path)
        assert schema.schema_version(conn) == schema.LATEST_VERSION >= 4
        cols = [r[1] for r in conn.execute("PRAGMA table_info(messages)")]
        assert "superseded_by" in cols
        assert [(m.content, m.superseded_by) for m in s.messages(1)] == [("q", None), ("a", None)]
        reply = s.add_message(1, "user", "q edited", alternative_of=1)
        assert _contents(s, 1) == ["q edited"]
        s.set_active_alternative(1)
        assert _contents(s, 1) == ["q", "a"] and s.get_message(reply).active is False


def test_editing_a_prompt_hides_what_followed_and_flipping_back_restores_it(
    store: HistoryStore,
) -> None:
    cid, (u1, a1, u2, a2) = _two_turns(store)
    a2b = store.add_message(cid, "assistant", "a2 regenerated", alternative_of=a2)
    u1b = store.add_message(cid, "user", "u1 edited", alternative_of=u1)
    a1b = store.add_message(cid, "assistant", "a1 new")
    assert _contents(store, cid) == ["u1 edited", "a1 new"]
    hidden = store.hidden_messages(cid)
    assert [(m.id, m.superseded_by) for m in hidden] == [(a1, u1), (u2, u1), (a2b, u1)]
    assert store.count_messages(cid) == 2 and store.alternative_position(u1b) == (1, 2)
    assert len(store.messages(cid, active_only=False)) == 7  # nothing deleted

    store.set_active_alternative(u1)
    assert _contents(store, cid) == ["u1", "a1", "u2", "a2 regenerated"]
    assert [(m.id, m.superseded_by) for m in store.hidden_messages(cid)] == [(a1b, u1b)]
    assert not store.get_message(a2).active  # the inactive alternative stays inactive

    store.set_active_alternative(u1)  # already shown: nothing moves
    assert _contents(store, cid) == ["u1", "a1", "u2", "a2 regenerated"]
    store.set_active_alternative(u1b)
    assert _contents(store, cid) == ["u1 edited", "a1 new"]


def test_an_edit_inside_an_edited_branch_comes_back_with_that_branch(store: HistoryStore) -> None:
    cid, (u1, _a1, u2, _a2) = _two_turns(store)
    u2b = store.add_message(cid, "user", "u2 edited", alternative_of=u2)
    store.add_message(cid, "assistant", "a2 new")
    u1b = store.add_message(cid, "user", "u1 edited", alternative_of=u1)
    assert _contents(store, cid) == ["u1 edited"]
    store.set_active_alternative(u1)
    assert _contents(store, cid) == ["u1", "a1", "u2 edited", "a2 new"]
    store.set_active_alternative(u2)
    assert _contents(store, cid) == ["u1", "a1", "u2", "a2"]
    store.set_active_alternative(u1b)
    store.set_active_alternative(u1)
    assert _contents(store, cid) == ["u1", "a1", "u2", "a2"]
    assert store.alternative_position(u2b) == (1, 2)


def test_hidden_branches_survive_export_import_and_undo(store: HistoryStore) -> None:
    cid, (u1, *_rest) = _two_turns(store)
    store.add_message(cid, "user", "u1 edited", alternative_of=u1)
    data = store.export_json(cid)
    assert sum(m["superseded_by"] == u1 for m in data["messages"]) == 3
    new = store.import_json(data)
    assert _contents(store, new) == ["u1 edited"]
    first = store.messages(new, active_only=False)[0]
    assert first.content == "u1" and not first.active
    store.set_active_alternative(first.id)
    assert _contents(store, new) == ["u1", "a1", "u2", "a2"]
    store.restore_conversation(store.delete_conversation(cid))
    store.set_active_alternative(u1)
    assert _contents(store, cid) == ["u1", "a1", "u2", "a2"]


def test_reveal_flips_to_the_branch_and_alternative_holding_a_message(store: HistoryStore) -> None:
    cid, (u1, a1, u2, a2) = _two_turns(store)
    u2b = store.add_message(cid, "user", "u2 edited", alternative_of=u2)
    a2b = store.add_message(cid, "assistant", "a2 new")
    store.add_message(cid, "assistant", "a2 regenerated", alternative_of=a2b)
    store.add_message(cid, "user", "u1 edited", alternative_of=u1)
    assert _contents(store, cid) == ["u1 edited"]
    assert store.reveal(a2)  # under u2, itself under u1: two levels
    assert _contents(store, cid) == ["u1", "a1", "u2", "a2"]
    assert store.reveal(a2b)  # an older alternative of a reply in the u2 edited branch
    assert _contents(store, cid) == ["u1", "a1", "u2 edited", "a2 new"]
    assert store.reveal(u2b) and store.reveal(a1)
    assert _contents(store, cid) == ["u1", "a1", "u2 edited", "a2 new"]
