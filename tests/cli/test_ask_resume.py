"""`ask` resumes a reply cut mid-stream by itself: the same text as an uncut reply, no repeat on
stdout without a marker, each attempt in the history."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from streamdesk.cli.sinks import EXIT_CODES
from streamdesk.core.events import FailureKind
from streamdesk.core.store.history import HistoryStore
from streamdesk.mock import MockServer, reply_for
from streamdesk.mock.scenarios import FAULT_AFTER

TOKENS = 30  # the module mock's reply length (tests/cli/conftest.py)


def ask(mock: MockServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    url = ["--base-url", mock.sse_base_url, "--ws-url", mock.ws_url, "--model", "gpt-4.1"]
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", *args, *url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("protocol", ["sse", "ws"])
def test_continue_joins_the_rest_to_the_cut_text_on_stdout(mock: MockServer, protocol: str) -> None:
    prompt = f"resume me by continuing over {protocol}"
    done = ask(
        mock, prompt, "--protocol", protocol, "--scenario", "cut-once", "--resume", "continue"
    )
    assert done.returncode == 0, done.stderr
    whole = "".join(reply_for(prompt, tokens=TOKENS))
    assert done.stdout == whole + "\n"
    (line,) = [x for x in done.stderr.splitlines() if "continuing" in x]
    assert f"connection cut after {FAULT_AFTER} tokens; continuing in" in line
    assert "(attempt 2 of 3)" in line
    with HistoryStore() as store:
        conv = store.list_conversations()[0]
        reply = store.messages(conv.id)[-1]
    assert reply.status == "complete" and reply.content == whole
    assert reply.timings is not None and reply.timings["attempts"][0]["tokens"] == FAULT_AFTER


@pytest.mark.parametrize("protocol", ["sse", "ws"])
def test_restart_says_so_and_starts_the_new_attempt_on_a_new_line(
    mock: MockServer, protocol: str
) -> None:
    prompt = f"resume me by restarting over {protocol}"
    done = ask(
        mock, prompt, "--protocol", protocol, "--scenario", "cut-once", "--resume", "restart"
    )
    assert done.returncode == 0, done.stderr
    whole = "".join(reply_for(prompt, tokens=TOKENS))
    cut = "".join(reply_for(prompt, tokens=TOKENS)[:FAULT_AFTER])
    assert done.stdout == f"{cut}\n{whole}\n"
    assert "restarting on a new line" in done.stderr
    with HistoryStore() as store:
        conv = store.list_conversations()[0]
        reply = store.messages(conv.id)[-1]
        versions = store.alternatives(reply.id)
    assert reply.content == whole and [v.status for v in versions] == ["partial", "complete"]


def test_json_records_carry_the_attempt(mock: MockServer) -> None:
    done = ask(
        mock, "number my attempts", "--scenario", "cut-once", "--resume", "continue", "--json"
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [(r["type"], r["attempt"]) for r in records if r["type"] != "text"]
    assert ("resuming", 2) in kinds and kinds[-1] == ("done", 2)
    texts = [r for r in records if r["type"] == "text"]
    assert {r["attempt"] for r in texts[:FAULT_AFTER]} == {1}
    assert {r["attempt"] for r in texts[FAULT_AFTER:]} == {2}


def test_a_reply_that_cannot_be_recovered_ends_as_before(mock: MockServer) -> None:
    done = ask(mock, "never whole", "--scenario", "cut", "--resume", "continue", "--no-save")
    assert done.returncode == EXIT_CODES[FailureKind.CUT_MID_STREAM]
    lines = done.stderr.splitlines()
    first, second = [x for x in lines if "continuing in" in x]
    assert f"connection cut after {FAULT_AFTER} tokens; continuing" in first
    assert f"cut after {2 * FAULT_AFTER} tokens ({FAULT_AFTER} since it resumed); " in second
    assert (
        lines[-1].startswith("streamdesk: cut_mid_stream:")
        and "(not saved: --no-save)" in lines[-1]
    )
    # the reply's count, once: the transport's own (5) is not said as if it were the reply's
    assert f" {3 * FAULT_AFTER} tokens ({FAULT_AFTER} since it resumed) arrived. " in lines[-1]
    assert lines[-1].count(" token") == 1, lines[-1]
    whole = "".join(reply_for("never whole", tokens=TOKENS))
    assert whole.startswith(done.stdout.rstrip("\n")) and len(done.stdout) > 1
