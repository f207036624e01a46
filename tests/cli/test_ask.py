"""`streamdesk ask` in a subprocess against a real mock server running in this process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
from tests.cli.conftest import INSTANT_TOKENS

from streamdesk.cli.ask import EXIT_CODES
from streamdesk.core.events import FailureKind
from streamdesk.core.store.history import HistoryStore
from streamdesk.mock import MockServer, reply_for, run_mock_in_thread

PROMPT = "What is a token bucket?"
TOKENS = INSTANT_TOKENS
KEY = "sk-cli-test-abcdef123456"


def ask(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "STREAMDESK_API_KEY": KEY, **(env or {})},
        timeout=60,
        check=False,
    )


def at(mock: MockServer, *args: str) -> list[str]:
    return [PROMPT, "--base-url", mock.sse_base_url, "--ws-url", mock.ws_url, *MODEL, *args]


MODEL = ("--model", "gpt-4.1")  # the mock lists several models: a bare --base-url names one
FULL = "".join(reply_for(PROMPT, tokens=TOKENS))
PARTIAL = "".join(reply_for(PROMPT, tokens=5))


@pytest.mark.parametrize("protocol", ["sse", "ws"])
def test_the_reply_goes_to_stdout_the_same_over_both_protocols(
    mock: MockServer, protocol: str
) -> None:
    result = ask(*at(mock, "--protocol", protocol))
    assert result.returncode == 0, result.stderr
    assert result.stdout == FULL + "\n"
    assert result.stderr == ""


def test_the_key_comes_from_the_environment_and_the_request_is_signed(mock: MockServer) -> None:
    before = len(mock.requests)
    result = ask(*at(mock, "--sign", "--system", "Be brief.", "--max-tokens", "7"))
    assert result.returncode == 0, result.stderr
    request = mock.requests[before]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "x-signature" in request.headers and "x-timestamp" in request.headers
    body = json.loads(request.body)
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["max_tokens"] == 7
    assert result.stdout == "".join(reply_for(PROMPT, tokens=7)) + "\n"


FAULTS = [
    # scenario, protocol, extra args, failure kind, partial text kept on stdout
    ("http-401", "sse", [], FailureKind.AUTHENTICATION, ""),
    ("http-403", "ws", [], FailureKind.PERMISSION, ""),
    ("http-404", "sse", [], FailureKind.NOT_FOUND, ""),
    ("http-400", "sse", [], FailureKind.BAD_REQUEST, ""),
    ("http-429", "sse", ["--max-retries", "0"], FailureKind.RATE_LIMITED, ""),
    ("http-500", "ws", ["--max-retries", "0"], FailureKind.SERVER_ERROR, ""),
    ("bad-json", "sse", [], FailureKind.BAD_RESPONSE, PARTIAL),
    ("error-event", "ws", [], FailureKind.SERVER_ERROR, PARTIAL),
    ("cut", "sse", [], FailureKind.CUT_MID_STREAM, PARTIAL),
    ("cut", "ws", [], FailureKind.CUT_MID_STREAM, PARTIAL),
    ("ws-close-1011", "ws", [], FailureKind.WEBSOCKET_CLOSED, PARTIAL),
    ("stall", "sse", ["--stall-timeout", "0.3"], FailureKind.STALLED, PARTIAL),
    ("no-first-token", "ws", ["--first-token-timeout", "0.3"], FailureKind.FIRST_TOKEN_TIMEOUT, ""),
]


@pytest.mark.parametrize(("scenario", "protocol", "extra", "kind", "partial"), FAULTS)
def test_each_fault_has_its_message_exit_code_and_keeps_the_partial_reply(
    mock: MockServer,
    scenario: str,
    protocol: str,
    extra: list[str],
    kind: FailureKind,
    partial: str,
) -> None:
    # --resume off: what a reply that cannot be recovered ends as (test_ask_resume covers resume)
    result = ask(
        *at(mock, "--protocol", protocol, "--scenario", scenario, "--resume", "off", *extra)
    )
    assert result.returncode == EXIT_CODES[kind], result.stderr
    assert result.stdout == (partial + "\n" if partial else "")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"streamdesk: {kind.value}: ")


def test_exit_codes_are_distinct_and_listed_in_help() -> None:
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    result = subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for kind, code in EXIT_CODES.items():
        assert f"{code:<4}{kind.value}" in result.stdout


def test_a_flaky_server_is_retried_and_the_retry_is_reported(mock: MockServer) -> None:
    result = ask(*at(mock, "--scenario", "flaky-503-once"))
    assert result.returncode == 0
    assert result.stdout == FULL + "\n"
    notice = "streamdesk: server error (HTTP 503); retrying in 0.1 s (attempt 2 of 3)\n"
    assert result.stderr == notice


def test_each_retry_is_one_short_line_and_the_failure_one_final_line(mock: MockServer) -> None:
    result = ask(*at(mock, "--scenario", "http-500", "--max-retries", "2"))
    assert result.returncode == EXIT_CODES[FailureKind.SERVER_ERROR]
    lines = result.stderr.splitlines()
    assert len(lines) == 3, result.stderr
    assert lines[0].startswith("streamdesk: server error (HTTP 500); retrying in ")
    assert lines[0].endswith(" s (attempt 2 of 3)") and lines[1].endswith(" s (attempt 3 of 3)")
    assert "Retrying" not in result.stderr and "Try again" not in lines[0] + lines[1]
    assert lines[2].startswith("streamdesk: server_error: HTTP 500 from ")


def test_a_sub_second_retry_after_is_said_as_it_is(mock: MockServer) -> None:
    url = ["--base-url", mock.sse_base_url, *MODEL, "--scenario", "flaky-429-once"]
    retried = ask("a 429 once", *url)
    assert retried.returncode == 0, retried.stderr
    notice = "streamdesk: rate limited (HTTP 429); retrying in 0.1 s (attempt 2 of 3)\n"
    assert retried.stderr == notice
    failed = ask("another 429 once", *url, "--max-retries", "0")
    assert failed.returncode == EXIT_CODES[FailureKind.RATE_LIMITED]
    assert "The server asks to wait 0.1 s." in failed.stderr and "wait 0 s" not in failed.stderr


def test_nothing_listening_is_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = ask(PROMPT, "--base-url", f"http://127.0.0.1:{port}/v1", *MODEL, "--max-retries", "0")
    assert result.returncode == EXIT_CODES[FailureKind.CONNECTION_REFUSED]
    assert f"Nothing is listening at 127.0.0.1:{port}" in result.stderr


def test_json_lines_parse_and_end_with_done(mock: MockServer) -> None:
    result = ask(*at(mock, "--json", "--protocol", "ws"))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert "".join(r["text"] for r in records if r["type"] == "text") == FULL
    assert [r["type"] for r in records][-2:] == ["usage", "done"]
    assert records[-2]["completion_tokens"] == TOKENS
    times = [r["t"] for r in records]
    assert times == sorted(times) and records[-1]["tokens"] == TOKENS


def test_json_failure_line_carries_the_kind(mock: MockServer) -> None:
    result = ask(*at(mock, "--json", "--scenario", "cut"))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["type"] == "failure" and records[-1]["kind"] == "cut_mid_stream"
    assert result.returncode == EXIT_CODES[FailureKind.CUT_MID_STREAM]


def test_prompt_dash_reads_stdin(mock: MockServer) -> None:
    before = len(mock.requests)
    result = ask("-", "--base-url", mock.sse_base_url, *MODEL, stdin=PROMPT)
    assert result.returncode == 0 and result.stdout == FULL + "\n"
    assert json.loads(mock.requests[before].body)["messages"][-1]["content"] == PROMPT


def test_usage_errors_exit_2() -> None:
    assert ask("", "--base-url", "http://127.0.0.1:9/v1").returncode == 2
    assert ask("hi", "--provider", "no-such-provider").returncode == 2


@pytest.mark.parametrize("tokens", ["0", "-3"])
def test_a_max_tokens_under_one_is_a_usage_error_not_ignored(mock: MockServer, tokens: str) -> None:
    before = len(mock.requests)
    result = ask(*at(mock, "--max-tokens", tokens))
    assert result.returncode == 2 and result.stdout == ""
    assert f"argument --max-tokens: must be at least 1, not {tokens}" in result.stderr
    assert len(mock.requests) == before  # nothing was sent


def test_no_key_and_no_url_uses_the_offline_mock() -> None:
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", PROMPT, "--max-tokens", "12"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no API key set; using the built-in offline mock server (http://127.0.0.1:" in (
        result.stderr
    )
    assert result.stdout == "".join(reply_for(PROMPT, tokens=12)) + "\n"


def test_ctrl_c_keeps_the_partial_reply_and_exits_130() -> None:
    server, stop = run_mock_in_thread(tokens_per_second=20, first_token_delay=0)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamdesk",
                "ask",
                PROMPT,
                "--protocol",
                "ws",
                "--base-url",
                server.sse_base_url,
                *MODEL,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "STREAMDESK_API_KEY": KEY},
        )
        assert proc.stdout is not None
        first = proc.stdout.read(1)  # blocks until the first token is out
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        stop()
    assert proc.returncode == 130
    text = (first + out).decode()
    assert text.endswith("\n") and FULL.startswith(text[:-1]) and len(text) > 1
    assert (
        err.decode().strip()
        == "streamdesk: cancelled: Stopped by the user; the partial reply was kept."
    )


def test_a_cut_says_which_command_resumes_it_not_which_button(mock: MockServer) -> None:
    saved = ask(*at(mock, "--scenario", "cut"))
    assert saved.returncode == EXIT_CODES[FailureKind.CUT_MID_STREAM]
    with HistoryStore() as store:
        cid = store.list_conversations()[0].id
    assert f"Run `streamdesk ask --continue {cid}` to resume." in saved.stderr
    stalled = ask(*at(mock, "--scenario", "stall", "--stall-timeout", "0.3", "--no-save"))
    assert stalled.returncode == EXIT_CODES[FailureKind.STALLED]
    assert stalled.stderr.rstrip().endswith("(not saved: --no-save)")
    assert "Press Continue" not in saved.stderr + stalled.stderr
    with HistoryStore() as store:  # the window's wording is what the store keeps
        (_, reply) = store.messages(cid)
    # the history keeps the core's facts; each front end words what to do about them
    assert reply.failure_message and "Press Continue" not in reply.failure_message


def test_an_error_mid_stream_reads_the_same_over_both_protocols(mock: MockServer) -> None:
    lines = {}
    for protocol in ("sse", "ws"):
        result = ask(
            *at(mock, "--protocol", protocol, "--scenario", "error-event", "--resume", "off")
        )
        assert result.returncode == EXIT_CODES[FailureKind.SERVER_ERROR], result.stderr
        lines[protocol] = result.stderr.strip()
    said = "streamdesk: server_error: The server sent an error mid-stream (server_error"
    assert lines["sse"].startswith(said) and lines["ws"].startswith(said)
    assert "HTTP 500" not in lines["ws"]
