"""`ask --continue ID PROMPT` on a stored chat longer than its model reads (DeepSeek's 128,000
tokens, served by the mock): the request holds the newest messages and the prompt, and stderr
says how many of the oldest were not sent and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from streamdesk.core.store.history import HistoryStore
from streamdesk.core.wording import history_left_out
from streamdesk.mock import MockServer

KEY = "sk-context-window-test-0123456789"
MESSAGES = 40
LONG = " " + "w" * 20_000  # about 5,000 tokens a message: 40 of them are 200,000


def long_chat() -> int:
    with HistoryStore() as store:
        cid = store.create_conversation(title="long", provider="deepseek", model="deepseek-chat")
        for i in range(MESSAGES):
            store.add_message(cid, "user" if i % 2 == 0 else "assistant", f"message {i}.{LONG}")
    return cid


def test_a_continued_chat_longer_than_the_model_reads_sends_the_newest_and_says_so(
    mock: MockServer,
) -> None:
    cid = long_chat()
    done = subprocess.run(
        [
            sys.executable, "-m", "streamdesk", "ask", "--continue", str(cid),
            "--provider", "deepseek", "--base-url", mock.sse_base_url,
            "--model", "deepseek-chat", "and now?",
        ],
        capture_output=True, text=True, env={**os.environ, "STREAMDESK_API_KEY": KEY},
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sent = json.loads(mock.requests[-1].body)["messages"]
    assert sent[-1] == {"role": "user", "content": "and now?"}
    history = [m["content"].split(".")[0] for m in sent[:-1]]
    kept = len(history)
    assert 0 < kept < MESSAGES
    assert history == [f"message {i}" for i in range(MESSAGES - kept, MESSAGES)]
    assert history_left_out(MESSAGES - kept, "deepseek-chat", 128_000) in done.stderr
