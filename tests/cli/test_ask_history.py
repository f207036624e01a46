"""`streamdesk ask` stores every exchange; kill -9 mid-stream leaves the printed prefix partial."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.store.history import HistoryStore, default_path
from streamdesk.core.wording import money
from streamdesk.mock.replies import reply_for
from streamdesk.mock.server import MockServer, run_mock_in_thread

PROMPT = "Tell me a long story about sockets"


@pytest.fixture
def slow_mock() -> Iterator[MockServer]:
    server, stop = run_mock_in_thread(tokens_per_second=20.0, first_token_delay=0.0)
    try:
        yield server
    finally:
        stop()


def _ask(mock: MockServer, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "streamdesk",
        "ask",
        "--base-url",
        mock.sse_base_url,
        "--model",
        "gpt-4.1",
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _stored_reply(db: Path) -> str:
    if not db.exists():
        return ""
    con = sqlite3.connect(db, timeout=5)
    try:
        row = con.execute("SELECT content FROM messages WHERE role = 'assistant'").fetchone()
    finally:
        con.close()
    return row[0] if row else ""


def test_kill_9_mid_stream_leaves_the_printed_prefix_stored_as_partial(
    slow_mock: MockServer,
) -> None:
    proc = _ask(slow_mock, PROMPT)
    assert proc.stdout is not None
    printed = b""
    while len(printed) < 40:  # some text reached the terminal
        chunk = os.read(proc.stdout.fileno(), 4096)
        assert chunk, "ask ended before printing"
        printed += chunk
    db = default_path()
    for _ in range(200):  # bounded: wait on the condition "a batch reached the DB"
        if _stored_reply(db):
            break
        printed += os.read(proc.stdout.fileno(), 4096)
    proc.send_signal(signal.SIGKILL)
    printed += proc.stdout.read()
    proc.wait()
    text = printed.decode()
    full = "".join(reply_for(PROMPT))
    assert full.startswith(text) and text != full, "killed mid-stream"
    with HistoryStore() as store:  # opening it recovers the dead writer's row
        (conv,) = store.list_conversations()
        user, reply = store.messages(conv.id)
    assert user.content == PROMPT and reply.status == "partial"
    assert reply.content and text.startswith(reply.content)
    # At most the last batch (≤ 250 ms of a 20 tokens/s stream = 5 tokens, plus scheduling
    # slack) is missing: everything printed more than ~10 tokens before the kill is stored.
    tokens = reply_for(PROMPT)
    stored_tokens = len("".join(tokens)[: len(reply.content)].split(" "))
    printed_tokens = len(text.split(" "))
    assert printed_tokens - stored_tokens <= 10, (printed_tokens, stored_tokens)


def test_no_save_stores_nothing_and_continue_extends_a_partial_reply(
    slow_mock: MockServer,
) -> None:
    env_run = [sys.executable, "-m", "streamdesk", "ask", "--model", "gpt-4.1"]
    env_run += ["--base-url", slow_mock.sse_base_url]
    done = subprocess.run(
        [*env_run, "--no-save", "--max-tokens", "5", "hi"], capture_output=True, timeout=120
    )
    assert done.returncode == 0 and not _stored_reply(default_path())
    with HistoryStore() as store:
        cid = store.create_conversation(title="cut")
        store.add_message(cid, "user", "q")
        mid = store.add_message(cid, "assistant", "The beginning", status="partial")
    fast = [*env_run[:-1], slow_mock.sse_base_url]
    done = subprocess.run(
        [*fast, "--continue", str(cid), "--max-tokens", "5"],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with HistoryStore() as store:
        msgs = store.messages(cid)
        reply = store.get_message(mid)
    assert len(msgs) == 2 and reply.status == "complete"
    assert reply.content.startswith("The beginning") and reply.content != "The beginning"
    assert reply.content.endswith(done.stdout.decode().rstrip("\n"))


def test_the_cost_is_stored_from_usage_and_prices_and_shown(slow_mock: MockServer) -> None:
    from streamdesk.core.providers import builtin

    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    relay_at_mock = ["--provider", "holysheep", "--base-url", slow_mock.sse_base_url]
    for args, key in ((relay_at_mock, {"STREAMDESK_API_KEY": "sk-test"}), ([], {})):
        # the default provider's prices at another host; the offline demo (nothing configured)
        cmd = [sys.executable, "-m", "streamdesk", "ask", "What does it cost?", *args]
        done = subprocess.run(
            [*cmd, "--max-tokens", "4"], capture_output=True, env={**env, **key}, timeout=60
        )
        assert done.returncode == 0, done.stderr
    with HistoryStore() as store:
        replies = [store.messages(c.id)[1] for c in store.list_conversations()]
    for reply in replies:
        assert reply.model == "gpt-4.1" and reply.usage is not None
        usage = reply.usage
        expected = builtin("holysheep").cost(
            "gpt-4.1", usage.prompt_tokens, usage.completion_tokens
        )
        assert expected and reply.cost == pytest.approx(expected)
    providers = set()
    for reply in replies:  # the offline demo's reply costs no money: its cost reads "demo"
        with HistoryStore() as store:
            provider = store.get_conversation(reply.conversation_id).provider
        providers.add(provider)
        cid = str(reply.conversation_id)
        cmd = [sys.executable, "-m", "streamdesk", "history", "show", cid]
        shown = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
        cost = "demo" if provider == MOCK_PROVIDER_ID else money(reply.cost)
        assert f"[assistant] (cost {cost})" in shown
    assert providers == {"holysheep", MOCK_PROVIDER_ID}
