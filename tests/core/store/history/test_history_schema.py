"""The history database file: WAL and pragmas, forward migrations, private permissions."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from streamdesk.core.store.history import HistoryStore, schema


def test_new_database_is_wal_with_foreign_keys_and_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    HistoryStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST_VERSION >= 2
    opened = schema.connect(path)  # how the store opens its connection
    assert opened.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert opened.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    impatient = schema.connect(path, busy_timeout=0.25)
    assert impatient.execute("PRAGMA busy_timeout").fetchone()[0] == 250


def test_v1_database_migrates_and_old_messages_become_searchable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = schema.connect(path)
    assert schema.migrate(conn, target=1) == 1
    conn.execute("INSERT INTO conversations (title, created, updated) VALUES ('old', 1, 1)")
    conn.execute(
        "INSERT INTO messages (conversation_id, group_id, role, content, created)"
        " VALUES (1, 1, 'user', 'a question about photosynthesis', 1)"
    )
    assert (
        conn.execute("SELECT name FROM sqlite_master WHERE name='messages_fts'").fetchone() is None
    )
    conn.close()
    with HistoryStore(path) as s:
        assert schema.schema_version(sqlite3.connect(path)) == schema.LATEST_VERSION
        hits = s.search("photosynth")
        assert [(h.conversation_id, h.message_id) for h in hits] == [(1, 1)]
        assert s.messages(1)[0].content == "a question about photosynthesis"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with HistoryStore(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        HistoryStore(path)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_database_and_data_dir_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMDESK_HOME", str(tmp_path / "home"))
    old = os.umask(0o022)
    try:
        store = HistoryStore()
        store.create_conversation(title="secret talk")
        db = store.path
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        for f in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            assert f.exists() and stat.S_IMODE(f.stat().st_mode) == 0o600, f
        store.close()
        db.chmod(0o644)  # an older, wider file is tightened when opened
        HistoryStore(db).close()
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_v5_database_opens_and_its_replies_have_no_tool_rounds(tmp_path: Path) -> None:
    path = tmp_path / "v5.sqlite3"
    conn = schema.connect(path)
    assert schema.migrate(conn, target=5) == 5
    conn.execute("INSERT INTO conversations (title, created, updated) VALUES ('old', 1, 1)")
    conn.execute(
        "INSERT INTO messages (conversation_id, group_id, role, content, created)"
        " VALUES (1, 1, 'assistant', 'before tools existed', 1)"
    )
    conn.close()
    with HistoryStore(path) as s:
        (message,) = s.messages(1)
        assert message.content == "before tools existed" and message.tool_rounds == ()
        rounds = [{"at": 3, "calls": [{"id": "c", "name": "add"}], "results": []}]
        s.update_message(message.id, tool_rounds=rounds)
        assert s.get_message(message.id).tool_rounds == tuple(rounds)
