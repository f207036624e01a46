"""Where `ask` sends a request: a conversation keeps its host, a missing key sends nothing,
and only a provider that says so (or --sign) signs."""

from __future__ import annotations

import os
import subprocess
import sys

from streamdesk.cli.sinks import EXIT_CODES
from streamdesk.core.events import FailureKind
from streamdesk.core.store.history import HistoryStore
from streamdesk.mock import MockServer, run_mock_in_thread

PROMPT = "Where does this go?"


def ask(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    if key is not None:
        env["STREAMDESK_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def chat_requests(mock: MockServer) -> list[str]:
    return [r.path for r in mock.requests if r.path.endswith("/chat/completions")]


def test_a_conversation_started_with_a_base_url_is_continued_at_the_same_url(
    mock: MockServer,
) -> None:
    other, stop = run_mock_in_thread(tokens_per_second=0, first_token_delay=0, reply_tokens=5)
    try:
        before = len(chat_requests(mock))
        first = ask(PROMPT, "--base-url", mock.sse_base_url, "--model", "gpt-4.1")
        assert first.returncode == 0, first.stderr
        with HistoryStore() as store:
            (conv,) = store.list_conversations()
            stored = store.get_conversation(conv.id)
        assert stored.base_url == mock.sse_base_url.rstrip("/") and stored.provider == "custom"
        # A key for the default relay now exists: a forgetful client would go there (or to
        # the offline mock without one). The conversation must go back to its own server.
        again = ask("--continue", str(conv.id), "and then?", key="sk-relay-key")
        assert again.returncode == 0, again.stderr
        assert len(chat_requests(mock)) == before + 2
        assert chat_requests(other) == []
        last = mock.requests[-1]
        assert "authorization" not in last.headers or "sk-relay-key" in last.headers.get(
            "authorization", ""
        )
        assert "x-signature" not in last.headers, "a bare base URL is never signed"
        with HistoryStore() as store:
            roles = [m.role for m in store.messages(conv.id)]
        assert roles == ["user", "assistant", "user", "assistant"]
        # switched on purpose: the conversation goes to the other server from now on
        moved = ask("--continue", str(conv.id), "elsewhere", "--base-url", other.sse_base_url)
        assert moved.returncode == 0, moved.stderr
        after = ask("--continue", str(conv.id), "and still there?")
        assert after.returncode == 0, after.stderr
        assert len(chat_requests(other)) == 2 and len(chat_requests(mock)) == before + 2
    finally:
        stop()


def test_a_provider_without_a_key_exits_3_and_sends_nothing(mock: MockServer) -> None:
    before = len(mock.requests)
    result = ask(PROMPT, "--provider", "openai", "--base-url", mock.sse_base_url, "--no-save")
    assert result.returncode == EXIT_CODES[FailureKind.AUTHENTICATION] == 3, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "No API key is set for OpenAI" in line
    assert "`streamdesk keys set openai`" in line
    assert "offline mock" not in result.stderr
    assert len(mock.requests) == before, "nothing may reach any server"


def test_the_default_relay_without_a_key_is_an_error_once_anything_is_configured(
    mock: MockServer, tmp_path: object
) -> None:
    home = os.environ["STREAMDESK_HOME"]
    path = os.path.join(home, "config", "settings.toml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write('active_provider = "openai"\n')
    try:
        result = ask(PROMPT, "--no-save")
        assert result.returncode == 3, result.stderr
        assert "offline mock" not in result.stderr and result.stdout == ""
    finally:
        os.remove(path)


def test_signing_only_when_the_profile_says_so_or_with_sign(mock: MockServer) -> None:
    plain = ask(
        PROMPT, "--base-url", mock.sse_base_url, "--model", "gpt-4.1", "--no-save", key="k1"
    )
    assert plain.returncode == 0, plain.stderr
    assert "x-signature" not in mock.requests[-1].headers
    signed = ask(
        PROMPT, "--base-url", mock.sse_base_url, "--model", "gpt-4.1", "--no-save", "--sign",
        key="k1",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert "x-signature" in mock.requests[-1].headers
    relay = ask(PROMPT, "--provider", "holysheep", "--base-url", mock.sse_base_url, key="k1")
    assert relay.returncode == 0, relay.stderr
    assert "x-signature" in mock.requests[-1].headers, "the relay's profile signs"


def test_a_bare_base_url_uses_the_servers_only_model() -> None:
    single, stop = run_mock_in_thread(
        tokens_per_second=0, first_token_delay=0, reply_tokens=5, models=("one.gguf",)
    )
    try:
        done = ask(PROMPT, "--base-url", single.sse_base_url, "--no-save")
        assert done.returncode == 0, done.stderr
        (chat,) = [r for r in single.requests if r.path.endswith("/chat/completions")]
        assert b'"model": "one.gguf"' in chat.body or b'"model":"one.gguf"' in chat.body
    finally:
        stop()


def test_an_empty_reply_that_ends_normally_is_marked() -> None:
    empty, stop = run_mock_in_thread(tokens_per_second=0, first_token_delay=0, reply_tokens=0)
    try:
        done = ask(PROMPT, "--base-url", empty.sse_base_url, "--model", "gpt-4.1", "--no-save")
    finally:
        stop()
    assert done.returncode == 0 and done.stdout.strip() == ""
    assert "empty reply: the server ended the reply normally but sent no text" in done.stderr


def test_a_timeout_flag_that_is_not_a_number_of_seconds_is_a_usage_error() -> None:
    for value in ("nan", "inf", "-1", "0"):
        done = ask(PROMPT, "--first-token-timeout", value, "--no-save")
        assert done.returncode == 2 and "--first-token-timeout must be" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_rejected_key_that_was_sent_is_not_called_unsent() -> None:
    guarded, stop = run_mock_in_thread(tokens_per_second=0, first_token_delay=0, api_key="right")
    try:
        wrong = ask(PROMPT, "--base-url", guarded.sse_base_url, "--model", "m", key="wrong")
        none = ask(PROMPT, "--base-url", guarded.sse_base_url, "--model", "m", "--no-save")
    finally:
        stop()
    assert wrong.returncode == none.returncode == 3
    assert "No key was sent" not in wrong.stderr and "keys set custom" in wrong.stderr
    assert "No key was sent" in none.stderr
