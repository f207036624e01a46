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


def _streamed(db: Path) -> str:
    """The reply text the window has flushed so far, while it is still streaming.

    A streaming reply's batches are rows of `message_chunks` (folded into `messages` only when
    the reply ends), so this reads the chunks of a 'streaming' row: polling `messages.content`
    alone would only see text once the stall ran into the read timeout (~30 s) and ended it.
    """
    if not db.exists():
        return ""
    con = sqlite3.connect(db, timeout=5)
    try:
        row = con.execute(
            "SELECT group_concat(c.content, '') FROM messages m JOIN message_chunks c"
            " ON c.message_id = m.id WHERE m.role = 'assistant' AND m.status = 'streaming'"
        ).fetchone()
    except sqlite3.OperationalError:
        return ""
    finally:
        con.close()
    return (row[0] or "") if row else ""


def test_kill_9_of_the_window_mid_stream_reopens_partial() -> None:
    # The "stall" scenario streams 5 tokens then keeps the connection silent: the window is
    # killed while the reply is still streaming (status 'streaming' in the DB), once those
    # tokens reached the database; reopening the store turns the row into a partial reply.
    env = {**os.environ, "STREAMDESK_AUTOSEND": PROMPT, "STREAMDESK_AUTOSEND_SCENARIO": "stall"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamdesk"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    db = default_path()
    try:
        want = "".join(reply_for(PROMPT)[:5])
        for _ in range(600):  # bounded wait on a condition: every token before the stall is in
            if _streamed(db) == want:
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
    if sys.platform != "win32":
        assert proc.returncode == -9, "the window was killed, it did not exit on its own"
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
        user, reply = store.messages(conv.id)
    assert user.content == PROMPT and conv.title == PROMPT
    assert reply.status == "partial"
    assert reply.content == want, "all 5 tokens before the stall were stored"
