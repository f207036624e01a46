"""`ask --api`: the same reply over each provider's own API (OpenAI Responses, Anthropic
Messages, Gemini) from the mock, with the same JSON events and the same failure kinds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from streamdesk.cli.sinks import EXIT_CODES
from streamdesk.core.events import FailureKind
from streamdesk.mock import MockServer, reply_for

PROMPT = "Which API carries this?"
TOKENS = 30  # the module mock's reply length (tests/cli/conftest.py)
APIS = ["chat", "responses", "anthropic", "gemini"]


def ask(mock: MockServer, api: str, *args: str) -> subprocess.CompletedProcess[str]:
    base = mock.sse_base_url + ("beta" if api == "gemini" else "")  # Gemini lives at /v1beta
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", PROMPT, "--base-url", base, "--api", api,
         "--model", "gpt-4.1", "--no-save", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize("api", APIS)
def test_every_api_streams_the_same_reply(mock: MockServer, api: str) -> None:
    done = ask(mock, api)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "".join(reply_for(PROMPT, tokens=TOKENS)) + "\n"


@pytest.mark.parametrize("api", APIS)
def test_json_events_have_the_same_shape_whatever_the_api(mock: MockServer, api: str) -> None:
    done = ask(mock, api, "--json")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [r["type"] for r in records]
    assert set(kinds) == {"text", "usage", "done"} and kinds[-1] == "done"
    (usage,) = [r for r in records if r["type"] == "usage"]
    assert usage["completion_tokens"] == TOKENS and usage["prompt_tokens"] > 0


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("scenario", "kind"),
    [("cut", FailureKind.CUT_MID_STREAM), ("http-429", FailureKind.RATE_LIMITED)],
)
def test_faults_give_our_failure_kinds_over_every_api(
    mock: MockServer, api: str, scenario: str, kind: FailureKind
) -> None:
    done = ask(mock, api, "--scenario", scenario, "--resume", "off", "--max-retries", "0")
    assert done.returncode == EXIT_CODES[kind], done.stderr
    assert f"streamdesk: {kind.value}:" in done.stderr


def test_websocket_is_for_chat_completions_only(mock: MockServer) -> None:
    done = ask(mock, "anthropic", "--protocol", "ws")
    assert done.returncode == 2 and "streams over SSE only" in done.stderr


@pytest.mark.parametrize("api", ["responses", "anthropic", "gemini"])
def test_reasoning_asks_each_api_for_the_models_thinking(mock: MockServer, api: str) -> None:
    plain = ask(mock, api)
    assert "[reasoning]" not in plain.stderr, "not asked: not sent"
    asked = ask(mock, api, "--reasoning")
    assert asked.returncode == 0, asked.stderr
    assert "[reasoning]" in asked.stderr
    body = json.loads(mock.requests[-1].body)
    assert (
        body.get("thinking")
        or body.get("reasoning")
        or body["generationConfig"]["thinkingConfig"]["includeThoughts"]
    )
