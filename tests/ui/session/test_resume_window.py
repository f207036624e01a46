"""The window recovers a cut reply by itself: the text ends whole, with a quiet mark where it
broke, and Stop works during the wait."""

from __future__ import annotations

import asyncio

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, open_window, wait_reply, wait_text

from streamdesk.core.netstats import trace_stats
from streamdesk.core.providers import ModelInfo
from streamdesk.core.store.settings import ProviderSettings, Settings
from streamdesk.mock import MockServer, reply_for
from streamdesk.mock.scenarios import FAULT_AFTER
from streamdesk.ui.inspector.models import COLUMNS
from streamdesk.ui.window.main_window import MainWindow


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_a_cut_reply_is_continued_and_marked(qtbot: QtBot, protocol: str) -> None:
    async with open_window(qtbot) as window:  # the demo: its mock continues a prefix
        window.header.set_protocol(protocol)
        window.set_next_scenario("cut-once")
        session = window.current_session()
        prompt = f"heal over {protocol}"
        session.send(prompt)
        turn = await wait_reply(session)
        whole = "".join(reply_for(prompt))
        assert turn.reply.status.value == "complete" and turn.reply.text == whole
        assert session.views[turn.key].text == whole
        shown = session.view.toPlainText()
        assert f"Resumed after a cut at token {FAULT_AFTER}" in shown
        assert "Connection cut" not in shown, shown[-300:]
        assert window.history.store is not None and turn.reply_id is not None
        assert window.history.store.get_message(turn.reply_id).content == whole
        assert session.trace is not None  # the inspector lists where it broke and went on
        resumed = dict(COLUMNS)["Resumed"]
        assert resumed is not None
        assert resumed(trace_stats(session.trace)) == f"cut_mid_stream @{FAULT_AFTER} → continue"


@pytest.mark.asyncio
async def test_a_restarting_provider_shows_the_new_version_and_keeps_the_old(
    qtbot: QtBot,
) -> None:
    async with MockServer(**FAST) as server:
        profile = ProviderSettings(
            id="restarter",
            name="Restarter",
            base_url=server.sse_base_url,
            needs_key=False,
            models=[ModelInfo("gpt-4.1#cut-once")],
            default_model="gpt-4.1#cut-once",
            resume="restart",
        )
        window = MainWindow(
            Settings(active_provider="restarter", providers=[profile]), save_on_close=False
        )
        qtbot.addWidget(window)
        window.show()
        try:
            await window.start()
            session = window.current_session()
            session.send("start over")
            turn = await wait_reply(session)
            whole = "".join(reply_for("start over"))
            assert turn.reply.text == whole == session.views[turn.key].text
            assert turn.alt_count == 2 and turn.alt_index == 1, "‹2/2›: the cut one is kept"
            assert "Restarted after a cut at token" in session.view.toPlainText()
        finally:
            await window.shutdown()


@pytest.mark.asyncio
async def test_stop_during_the_wait_keeps_the_partial_reply(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.set_next_scenario("cut")  # always cut: a resume is always pending
        session = window.current_session()
        waiting = asyncio.get_running_loop().create_future()

        def on_notice(_key: object, text: str) -> None:
            if "resuming in" in text and not waiting.done():
                waiting.set_result(text)

        session.noticeChanged.connect(on_notice)
        session.send("stop me while I wait")
        await wait_text(session)
        assert "Connection cut after" in await asyncio.wait_for(waiting, 10)
        session.stop()
        turn = await wait_reply(session)
        assert turn.reply.status.value == "stopped" and turn.reply.text
        assert "".join(reply_for("stop me while I wait")).startswith(turn.reply.text)


@pytest.mark.asyncio
async def test_a_reply_cut_again_after_resuming_counts_its_tokens_one_way(
    qtbot: QtBot,
) -> None:
    """Cut, continued, cut again: the title counts the whole reply and says how much came
    since it last carried on; the sentence under it names no other count."""
    async with open_window(qtbot) as window:
        window.set_next_scenario("cut")  # every attempt is cut after FAULT_AFTER tokens
        session = window.current_session()
        session.send("cut me twice")
        turn = await wait_reply(session)
        assert turn.reply.status.value == "partial"
        tokens = turn.reply.completion_tokens
        assert tokens > FAULT_AFTER, "it carried on at least once"
        shown = " ".join(session.view.toPlainText().split())
        assert f"Connection cut after {tokens} tokens ({FAULT_AFTER} since it resumed)" in shown
        assert f"after {FAULT_AFTER} tokens" not in shown.replace(
            f"({FAULT_AFTER} since it resumed)", ""
        ), shown[-400:]
