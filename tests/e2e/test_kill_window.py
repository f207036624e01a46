"""Kill -9 the window mid-reply: the reopened history holds the reply so far, marked partial."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from streamdesk.core.store.history import HistoryStore, default_path
from streamdesk.mock.replies import reply_for

PROMPT = "Kill me softly"


def _stored(db: Path) -> str:
    if not db.exists():
        return ""
    con = sqlite3.connect(db, timeout=5)
    try:
        row = con.execute("SELECT content FROM messages WHERE role = 'assistant'").fetchone()
    except sqlite3.OperationalError:
        return ""
    finally:
        con.close()
    return row[0] if row else ""


def test_kill_9_of_the_window_mid_stream_reopens_partial() -> None:
    # The "stall" scenario streams 5 tokens then keeps the connection silent: the window is
    # killed while the reply is still streaming, after its first batch reached the database.
    env = {**os.environ, "STREAMDESK_AUTOSEND": PROMPT, "STREAMDESK_AUTOSEND_SCENARIO": "stall"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamdesk"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    db = default_path()
    try:
        for _ in range(2000):  # bounded wait on a condition: the first batch is in the DB
            if _stored(db):
                break
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"the window exited early ({proc.returncode})")
        else:
            raise AssertionError("nothing was stored")
    finally:
        proc.kill()
        proc.wait()
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
        user, reply = store.messages(conv.id)
    assert user.content == PROMPT and conv.title == PROMPT
    assert reply.status == "partial"
    tokens = reply_for(PROMPT)
    assert reply.content == "".join(tokens[:5]), "all 5 tokens before the stall were stored"
