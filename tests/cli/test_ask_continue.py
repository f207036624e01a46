"""`ask --continue ID`: with no PROMPT the unfinished last reply is continued in place (sent as
the assistant's prefix, appended to, marked complete); with a PROMPT a new turn is added."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tests.cli.conftest import INSTANT_TOKENS

from streamdesk.cli.sinks import EXIT_CODES
from streamdesk.core.events import FailureKind
from streamdesk.core.store.history import HistoryStore
from streamdesk.mock import MockServer, reply_for

KEY = "sk-continue-test-abcdef123456"
TOKENS = INSTANT_TOKENS
QUESTION = "How do sockets close?"
FULL = "".join(reply_for(QUESTION, TOKENS))
CUT = FULL[:37]


def ask(mock: MockServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "streamdesk",
            "ask",
            "--base-url",
            mock.sse_base_url,
            "--model",
            "gpt-4.1",
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "STREAMDESK_API_KEY": KEY},
        timeout=60,
        check=False,
    )


def history_show(cid: int) -> str:
    cmd = [sys.executable, "-m", "streamdesk", "history", "show", str(cid)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout


def cut_conversation(status: str = "partial") -> tuple[int, int]:
    with HistoryStore() as store:
        cid = store.create_conversation(title="cut")
        store.add_message(cid, "user", QUESTION)
        mid = store.add_message(
            cid, "assistant", CUT, status=status, failure_kind="cut_mid_stream",
            failure_message="The connection was closed after 9 tokens.",
        )  # fmt: skip
    return cid, mid


def sent_messages(mock: MockServer) -> list[dict[str, str]]:
    return list(json.loads(mock.requests[-1].body)["messages"])


@pytest.mark.parametrize("status", ["partial", "stopped"])
def test_continue_without_a_prompt_extends_the_partial_reply_in_place(
    mock: MockServer, status: str
) -> None:
    cid, mid = cut_conversation(status)
    done = ask(mock, "--continue", str(cid))
    assert done.returncode == 0, done.stderr
    assert sent_messages(mock) == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": CUT},  # the prefix is the last message
    ]
    assert done.stdout == FULL[len(CUT) :] + "\n"
    with HistoryStore() as store:
        msgs = store.messages(cid)
        reply = store.get_message(mid)
    assert [m.id for m in msgs][-1] == mid and len(msgs) == 2
    assert reply.content == FULL and reply.status == "complete"
    assert reply.failure_kind is None and reply.failure_message is None
    assert "[cut_mid_stream" not in history_show(cid) and "partial" not in history_show(cid)


def test_continue_with_a_prompt_adds_a_new_turn_and_keeps_the_partial_marked(
    mock: MockServer,
) -> None:
    cid, mid = cut_conversation()
    done = ask(mock, "--continue", str(cid), "And TCP half-close?")
    assert done.returncode == 0, done.stderr
    assert sent_messages(mock) == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": CUT},
        {"role": "user", "content": "And TCP half-close?"},
    ]
    new_reply = "".join(reply_for("And TCP half-close?", TOKENS))
    with HistoryStore() as store:
        msgs = store.messages(cid)
    assert [(m.role, m.content, m.status) for m in msgs] == [
        ("user", QUESTION, "complete"),
        ("assistant", CUT, "partial"),
        ("user", "And TCP half-close?", "complete"),
        ("assistant", new_reply, "complete"),
    ]
    assert msgs[1].id == mid and msgs[1].failure_kind == "cut_mid_stream"
    shown = history_show(cid)
    assert "And TCP half-close?" in shown and shown.index(CUT) < shown.index(new_reply)


def test_prompt_is_optional_only_with_continue_and_only_for_an_unfinished_reply(
    mock: MockServer,
) -> None:
    missing = ask(mock)
    assert missing.returncode == 2 and "PROMPT is required" in missing.stderr
    assert ask(mock, "").returncode == 2  # an empty prompt stays a usage error
    first = ask(mock, "A finished question")
    assert first.returncode == 0, first.stderr
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
    finished = ask(mock, "--continue", str(conv.id))
    assert finished.returncode == 2 and "no unfinished last reply" in finished.stderr
    unknown = ask(mock, "--continue", "999")  # not_found, as `history show 999` exits
    assert unknown.returncode == EXIT_CODES[FailureKind.NOT_FOUND] == 5
    assert unknown.stderr.endswith("no conversation with id 999; see `streamdesk history list`\n")


def test_help_explains_both_ways_to_continue() -> None:
    cmd = [sys.executable, "-m", "streamdesk", "ask", "--help"]
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "ask --continue ID " in text and 'ask --continue ID "PROMPT"' in text
    assert "assistant's prefix" in text and "[PROMPT]" in text


def test_the_system_prompt_is_stored_and_sent_again_by_continue(mock: MockServer) -> None:
    first = ask(mock, "--system", "Be terse.", "First question")
    assert first.returncode == 0, first.stderr
    with HistoryStore() as store:
        (conv,) = store.list_conversations()
    again = ask(mock, "--continue", str(conv.id), "Second question")
    assert again.returncode == 0, again.stderr
    sent = sent_messages(mock)
    assert sent[0] == {"role": "system", "content": "Be terse."}
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
