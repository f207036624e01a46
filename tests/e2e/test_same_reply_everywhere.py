"""The same cut reply, once in the window and once with `streamdesk ask`, is stored with the
same token count and the same (estimated) cost: both go through the one engine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.cli.sinks import EXIT_CODES
from streamdesk.core.events import FailureKind
from streamdesk.core.store.history import HistoryStore, StoredMessage
from streamdesk.mock.scenarios import FAULT_AFTER

PROMPT = "Count the cost of a cut reply"


def cut_replies() -> list[StoredMessage]:
    with HistoryStore() as store:
        return [
            m
            for c in store.list_conversations()
            for m in store.messages(c.id)
            if m.role == "assistant"
        ]


@pytest.mark.asyncio
async def test_the_window_and_ask_store_the_same_cost_and_tokens_for_one_cut_reply(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:  # the offline demo: nothing is configured
        window.resume_override = "off"  # the cut reply as it ends (resuming is tested apart)
        window.set_next_scenario("cut")
        session = window.current_session()
        session.send(PROMPT)
        turn = await wait_reply(session)
        assert turn.reply.status.value == "partial"
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "streamdesk", "ask", PROMPT, "--scenario", "cut", "--resume", "off"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_CODES[FailureKind.CUT_MID_STREAM], done.stderr
    assert "offline mock" in done.stderr
    window_reply, cli_reply = cut_replies()
    for reply in (window_reply, cli_reply):
        assert reply.status == "partial" and reply.failure_kind == "cut_mid_stream"
        assert reply.estimated and reply.cost is not None and reply.cost > 0
    assert window_reply.content == cli_reply.content
    assert window_reply.completion_tokens == cli_reply.completion_tokens == FAULT_AFTER
    assert window_reply.prompt_tokens == cli_reply.prompt_tokens
    assert window_reply.cost == pytest.approx(cli_reply.cost)
