"""`ask --continue ID PROMPT` on a stored chat longer than its model reads (DeepSeek's 128,000
tokens, served by the mock): the request holds the newest messages and the prompt, and stderr
says how many of the oldest were not sent and why; the tools `--mcp` offers count too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from streamdesk.core.chat.context import FILL_PERCENT, REPLY_ALLOWANCE, estimated_tokens
from streamdesk.core.request import Message
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.wording import history_left_out
from streamdesk.mock import MockServer

KEY = "sk-context-window-test-0123456789"
MESSAGES = 40
LONG = " " + "w" * 20_000  # about 5,000 tokens a message: 40 of them are 200,000
TOOLS_SERVER = str(Path(__file__).resolve().parents[1] / "tools_server.py")


def long_chat() -> int:
    with HistoryStore() as store:
        cid = store.create_conversation(title="long", provider="deepseek", model="deepseek-chat")
        for i in range(MESSAGES):
            store.add_message(cid, "user" if i % 2 == 0 else "assistant", f"message {i}.{LONG}")
    return cid


def ask_deepseek(mock: MockServer, cid: int, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "streamdesk", "ask", "--continue", str(cid),
            "--provider", "deepseek", "--base-url", mock.sse_base_url,
            "--model", "deepseek-chat", *more, "and now?",
        ],
        capture_output=True, text=True, env={**os.environ, "STREAMDESK_API_KEY": KEY},
        timeout=60, check=False,
    )  # fmt: skip


def test_a_continued_chat_longer_than_the_model_reads_sends_the_newest_and_says_so(
    mock: MockServer,
) -> None:
    cid = long_chat()
    done = ask_deepseek(mock, cid)
    assert done.returncode == 0, done.stderr
    sent = json.loads(mock.requests[-1].body)["messages"]
    assert sent[-1] == {"role": "user", "content": "and now?"}
    history = [m["content"].split(".")[0] for m in sent[:-1]]
    kept = len(history)
    assert 0 < kept < MESSAGES
    assert history == [f"message {i}" for i in range(MESSAGES - kept, MESSAGES)]
    assert history_left_out(MESSAGES - kept, "deepseek-chat", 128_000) in done.stderr


def sized(text: str, tokens: int) -> str:
    """`text` padded with letters to a message the estimate counts as `tokens`."""

    def estimate(content: str) -> int:
        return estimated_tokens(Message("user", content))

    content = text + "w" * round((tokens - estimate(text)) / 0.3)
    while estimate(content) > tokens:
        content = content[:-1]
    while estimate(content) < tokens:
        content += "w"
    assert estimate(content) == tokens
    return content


def just_fitting_chat(room_to_spare: int) -> int:
    """A stored DeepSeek chat of 20 messages whose estimate fits the window (with the prompt
    "and now?" and the reply's reserve) with `room_to_spare` tokens left."""
    fill = (128_000 - REPLY_ALLOWANCE) * FILL_PERCENT // 100
    room = fill - estimated_tokens(Message("user", "and now?"))
    sizes = [room - room_to_spare - 19 * 5_000] + [5_000] * 19
    with HistoryStore() as store:
        cid = store.create_conversation(title="fits", provider="deepseek", model="deepseek-chat")
        for i, size in enumerate(sizes):
            role = "user" if i % 2 == 0 else "assistant"
            store.add_message(cid, role, sized(f"message {i}.", size))
    return cid


def test_the_tools_offered_count_so_a_chat_that_just_fits_leaves_its_oldest_turn_out(
    mock: MockServer, tmp_path: Path
) -> None:
    """The chat fits DeepSeek's window with 100 tokens to spare; the test server's six tools
    take more than that (their framing alone), so with them the oldest turn stays out."""
    without = ask_deepseek(mock, just_fitting_chat(100))
    assert without.returncode == 0, without.stderr
    assert len(json.loads(mock.requests[-1].body)["messages"]) == 21
    assert "not sent" not in without.stderr
    servers = tmp_path / "servers.json"
    entry = {"command": sys.executable, "args": [TOOLS_SERVER]}
    servers.write_text(json.dumps({"mcpServers": {"notes": entry}}), encoding="utf-8")
    with_tools = ask_deepseek(mock, just_fitting_chat(100), "--mcp", str(servers))
    assert with_tools.returncode == 0, with_tools.stderr
    body = json.loads(mock.requests[-1].body)
    assert len(body["tools"]) == 6
    assert len(body["messages"]) == 19
    assert body["messages"][0]["content"].startswith("message 2.")
    assert history_left_out(2, "deepseek-chat", 128_000) in with_tools.stderr


def test_a_request_the_server_refuses_as_too_long_is_sent_once_more_shorter_and_said(
    mock: MockServer,
) -> None:
    """The estimate fit; the server refused the request as too long (the mock's
    too-long-once): it goes once more without the oldest turns, the reply is printed, and
    stderr says what was left out (--json: a trimmed record)."""
    with HistoryStore() as store:
        cid = store.create_conversation(title="short", provider="deepseek", model="deepseek-chat")
        for i in range(6):
            store.add_message(cid, "user" if i % 2 == 0 else "assistant", f"message {i}.")
    done = ask_deepseek(mock, cid, "--scenario", "too-long-once", "--json")
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(r.body)["messages"] for r in mock.requests[-2:])
    assert len(second) < len(first) == 7
    records = [json.loads(line) for line in done.stdout.splitlines()]
    trimmed = [r for r in records if r["type"] == "trimmed"]
    assert trimmed and "not sent" in trimmed[-1]["message"]
    assert records[-1]["type"] == "done"
