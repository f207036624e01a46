"""Tool calls in the window against the mock and a real stdio MCP server (tests/tools_server.py,
written with the SDK's server API): approval in the reply, the result, the reply going on;
denial; Stop while the approval waits; a reopened conversation with its calls; the inspector's
timings."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.core.chat import ReplyStatus, Target, base_url_provider
from streamdesk.core.tools import McpServerConfig
from streamdesk.ui.history.params_dialog import ConversationSettingsDialog
from streamdesk.ui.inspector.dock import InspectorDock
from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.tools.approval import ApprovalBar
from streamdesk.ui.tools.state import CallState
from streamdesk.ui.window.main_window import MainWindow

SERVER = str(Path(__file__).resolve().parents[2] / "tools_server.py")
PROMPT = "Use add to add 2 and 3"


def scripted_chat() -> type:
    """tests/core/chat/scripted.py's `ScriptedChat`: a loopback chat server that can keep
    asking for a tool (the mock answers every tool result in text)."""
    path = Path(__file__).resolve().parents[2] / "core" / "chat" / "scripted.py"
    spec = importlib.util.spec_from_file_location("scripted_chat", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    chat: type = module.ScriptedChat
    return chat


@asynccontextmanager
async def tool_window(qtbot: QtBot, **servers: list[str]) -> AsyncIterator[MainWindow]:
    """The offline demo's window with the test server configured as "notes" and enabled for
    the current chat (and any other `servers`: name -> command line)."""
    async with open_window(qtbot) as window:
        configs = [McpServerConfig("notes", command=sys.executable, args=(SERVER,))]
        configs += [McpServerConfig(n, command=c[0], args=tuple(c[1:])) for n, c in servers.items()]
        window.settings.mcp_servers = configs
        window.tools.set_enabled("notes", True)
        yield window


async def approval_bar(session: ChatSession, limit: float = 20.0) -> ApprovalBar:
    """Wait until the reply asks to run a call; returns the bar on screen."""
    assert session.tools is not None
    shown: asyncio.Future[ApprovalBar] = asyncio.get_running_loop().create_future()

    def take(bar: ApprovalBar) -> None:
        if not shown.done():
            shown.set_result(bar)

    session.tools.approvalAsked.connect(take)
    try:
        return await asyncio.wait_for(shown, limit)
    finally:
        session.tools.approvalAsked.disconnect(take)


def gone(bar: ApprovalBar) -> bool:
    """The bar is hidden or already deleted."""
    return not shiboken6.isValid(bar) or not bar.isVisible()


def transcript_text(session: ChatSession) -> str:
    return str(session.view.toPlainText())


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_an_approved_call_runs_and_the_reply_quotes_its_result(
    qtbot: QtBot, protocol: str
) -> None:
    async with tool_window(qtbot) as window:
        window.header.set_protocol(protocol)
        session = window.current_session()
        assert session.send(PROMPT) is not None
        bar = await approval_bar(session)
        assert bar.isVisible() and bar.question.text() == "Run add on notes?"
        shown = transcript_text(session)
        assert "add" in shown and '"a": 2' in shown and "Waiting for your approval" in shown
        assert session.stats.state == "Waiting for approval"  # the status bar
        bar.once.click()
        turn = await wait_reply(session, 30)
        reply = turn.reply
        assert reply.status is ReplyStatus.COMPLETE
        [found] = reply.tool_rounds
        [result] = found.results
        assert (result.outcome, result.content, result.server) == ("ok", "5", "notes")
        assert "5" in reply.text[found.at :]
        shown = transcript_text(session)
        assert "Done" in shown and "→  5" in shown  # the closed block's one-line summary
        assert reply.text[found.at :].strip()[:20] in shown
        assert gone(bar)


@pytest.mark.asyncio
async def test_allow_for_this_chat_runs_later_calls_without_asking_also_when_reopened(
    qtbot: QtBot,
) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        session.send(PROMPT)
        (await approval_bar(session)).chat.click()
        await wait_reply(session, 30)
        cid = session.conversation.conversation_id
        assert cid is not None and session.params["mcp_allowed"] == ["notes/add"]
        assert window.history.store is not None
        assert window.history.store.get_conversation(cid).params["mcp_allowed"] == ["notes/add"]
        for again, prompt, total in ((False, "add 4 and 5", "9"), (True, "add 1 and 6", "7")):
            chat = window.history.open_stored(window.new_key(), cid) if again else session
            asked: list[object] = []
            assert chat.tools is not None
            chat.tools.approvalAsked.connect(asked.append)
            chat.send(f"Use add to {prompt}")
            turn = await wait_reply(chat, 30)
            assert asked == [], "allowed for this chat: not asked again"
            assert turn.reply.tool_rounds[0].results[0].content == total


@pytest.mark.asyncio
async def test_a_reply_stopped_at_the_round_limit_says_so(qtbot: QtBot) -> None:
    async with (
        scripted_chat()({"add": {"a": 1, "b": 1}}, always=True) as chat,
        tool_window(qtbot) as window,
    ):
        session = window.current_session()
        session.target_factory = lambda: Target(base_url_provider(chat.base_url), "scripted", "sse")
        session.send("Use add, again and again")
        (await approval_bar(session)).chat.click()
        turn = await wait_reply(session, 60)
        reply = turn.reply
        assert reply.tool_stop == "round_limit" and len(reply.tool_rounds) == 9
        shown = transcript_text(session)
        assert "Stopped: the limit of tool rounds per reply was reached" in shown
        assert "limit of 8 tool rounds" in shown, "the last call's block says why it did not run"


@pytest.mark.asyncio
async def test_a_denied_call_is_reported_and_the_reply_goes_on(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        session.send(PROMPT)
        (await approval_bar(session)).deny.click()
        turn = await wait_reply(session, 30)
        [found] = turn.reply.tool_rounds
        assert found.results[0].outcome == "denied"
        assert turn.reply.status is ReplyStatus.COMPLETE
        assert "Denied" in transcript_text(session)


@pytest.mark.asyncio
async def test_stop_while_the_approval_waits_ends_the_reply(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        session.send(PROMPT)
        bar = await approval_bar(session)
        window.stop()
        turn = await wait_reply(session, 30)
        assert turn.reply.status is ReplyStatus.STOPPED
        assert turn.reply.tool_rounds[0].results[0].outcome == "cancelled"
        assert not session.busy
        assert gone(bar)
        shown = transcript_text(session)
        assert "Not run" in shown and "Stopped" in shown


@pytest.mark.asyncio
async def test_a_server_that_cannot_start_says_so_in_the_banner(qtbot: QtBot) -> None:
    broken = [sys.executable, SERVER, "--exit-at-start"]
    async with tool_window(qtbot, broken=broken) as window:
        session = window.current_session()
        window.tools.set_enabled("notes", False)
        window.tools.set_enabled("broken", True)
        failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        window.tools.service.serverFailed.connect(
            lambda _name, text: failed.done() or failed.set_result(text)
        )
        text = await asyncio.wait_for(failed, 30)
        assert "broken" in text and "could not start" in text
        assert window.settings_ui.banner.isVisibleTo(window)
        assert window.settings_ui.banner.label.textFormat() == Qt.TextFormat.PlainText
        assert "broken" in window.settings_ui.banner.label.text()
        assert window.settings_ui.banner.action.text() == "Open log"  # it wrote one
        assert session.send("Hello") is not None  # no tools: the reply goes on without them
        turn = await wait_reply(session, 30)
        assert turn.reply.status is ReplyStatus.COMPLETE


@pytest.mark.asyncio
async def test_the_inspector_times_each_call_beside_the_frames(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        window.inspectorRequested.emit()  # Ctrl+I
        dock = window.findChild(InspectorDock)
        assert isinstance(dock, InspectorDock)
        session = window.current_session()
        session.send(PROMPT)
        (await approval_bar(session)).once.click()
        await wait_reply(session, 30)
        dock.refresh()
        tabs = [dock.tabs.tabText(i) for i in range(dock.tabs.count())]
        assert "Tools" in tabs
        [row] = dock.tool_timings.rows
        asked, tool, server, waited, ran, outcome = row
        assert (tool, server, outcome) == ("add", "notes", "Done")
        assert asked.startswith("+") and asked.endswith(" ms")
        assert waited.endswith(("ms", "s")) and ran.endswith(("ms", "s"))


@pytest.mark.asyncio
async def test_a_reopened_conversation_shows_its_calls_and_keeps_its_servers(
    qtbot: QtBot,
) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        session.send(PROMPT)
        (await approval_bar(session)).once.click()
        turn = await wait_reply(session, 30)
        cid = session.conversation.conversation_id
        assert cid is not None
        reopened = window.history.open_stored(window.new_key(), cid)
        assert reopened.tools is not None and reopened.tools.enabled() == ["notes"]
        shown = transcript_text(reopened)
        assert "add" in shown and "on notes" in shown and "→  5" in shown and "Done" in shown
        text_after = turn.reply.text[turn.reply.tool_rounds[0].at :].strip()
        assert shown.index("→  5") < shown.index(text_after[:20])
        dialog = ConversationSettingsDialog(None, "", reopened.params)
        assert dialog.values()[1]["mcp_servers"] == ["notes"]  # editing settings keeps them
        dialog.deleteLater()


@pytest.mark.asyncio
async def test_stop_while_a_tool_runs_cancels_it_and_keeps_the_reply(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        assert session.tools is not None
        started: asyncio.Future[CallState] = asyncio.get_running_loop().create_future()
        session.tools.callStarted.connect(lambda call: started.done() or started.set_result(call))
        session.send("Use slow to wait 30 seconds")
        (await approval_bar(session)).once.click()
        call = await asyncio.wait_for(started, 30)
        assert (call.name, call.state) == ("slow", "running")
        window.stop()
        turn = await wait_reply(session, 10)
        assert turn.reply.status is ReplyStatus.STOPPED
        [result] = turn.reply.tool_rounds[0].results
        assert result.outcome == "cancelled" and "stopped" in result.content
        assert call.state == "cancelled" and "Stopped" in transcript_text(session)


@pytest.mark.asyncio
async def test_the_tools_menu_lists_servers_with_their_tool_counts(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        window.tools.service.serverStarted.connect(
            lambda name: started.done() or started.set_result(name)
        )
        window.tools.set_enabled("notes", False)
        window.tools.set_enabled("notes", True)  # starts it
        assert await asyncio.wait_for(started, 30) == "notes"
        menu = window.tools.menu
        menu.refill()
        [notes] = [a for a in menu.actions() if a.data() == "notes"]
        assert notes.isChecked() and notes.text() == "notes  —  6 tools"
        assert "add: Add two integers." in notes.toolTip()
        assert notes.toolTip().startswith("<qt>")  # escaped: a description is never HTML
        assert window.tools.button.text() == "1"
        notes.setChecked(False)  # a click: this chat no longer offers them
        assert window.current_session().params.get("mcp_servers") is None
        assert window.tools.button.text() == ""


@pytest.mark.asyncio
async def test_the_approval_answers_from_the_keyboard(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        session.send(PROMPT)
        bar = await approval_bar(session)
        assert all(  # Tab reaches each answer
            b.focusPolicy() == Qt.FocusPolicy.StrongFocus for b in (bar.once, bar.chat, bar.deny)
        )
        window.activateWindow()
        window.prompt.setFocus()
        QTest.keyClick(window.prompt, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)  # De&ny
        turn = await wait_reply(session, 30)
        assert turn.reply.tool_rounds[0].results[0].outcome == "denied"
        assert gone(bar)


@pytest.mark.asyncio
async def test_the_menu_opens_settings_on_the_mcp_page(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        window.tools.menu.refill()
        [manage] = [a for a in window.tools.menu.actions() if a.text() == "MCP servers…"]
        manage.trigger()
        dialog = window.settings_ui.dialog
        assert dialog is not None and dialog.tabs.currentWidget() is dialog.mcp
        assert dialog.mcp.name.text() == "notes"
        dialog.close()
        await dialog.wait_idle()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ('Use fail with "disk full"', ("Failed", "disk full")),
        ("Use crash now", ("Failed", "stopped while running crash")),
    ],
)
async def test_a_failing_tool_shows_its_error_and_the_reply_goes_on(
    qtbot: QtBot, prompt: str, words: tuple[str, str]
) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        session.send(prompt)
        bar = await approval_bar(session)
        bar.once.click()
        turn = await wait_reply(session, 30)
        [result] = turn.reply.tool_rounds[0].results
        assert result.outcome == "error" and words[1] in result.content
        assert turn.reply.status is ReplyStatus.COMPLETE
        shown = transcript_text(session)
        assert all(w in shown for w in words)


@pytest.mark.asyncio
async def test_closing_the_window_while_an_approval_waits_ends_cleanly(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        session.send(PROMPT)
        await approval_bar(session)
        window.close()
        await asyncio.wait_for(window.shutdown(), 15)
        assert session.turns[-1].reply.status is ReplyStatus.STOPPED
        assert not session.busy


@pytest.mark.asyncio
async def test_continue_after_a_stop_keeps_the_calls_once(qtbot: QtBot) -> None:
    async with tool_window(qtbot) as window:
        session = window.current_session()
        session.send(PROMPT)
        await approval_bar(session)
        window.stop()
        turn = await wait_reply(session, 30)
        assert session.resume(turn.key) is not None  # the box's Continue
        turn = await wait_reply(session, 30)
        assert turn.reply.status is ReplyStatus.COMPLETE
        assert len(turn.reply.tool_rounds) == 1
        shown = transcript_text(session)
        assert shown.count("on notes") == 1  # the call, drawn once, then the text after it
        assert shown.index("on notes") < shown.index(turn.reply.text.strip()[-20:])


@pytest.mark.asyncio
async def test_a_server_whose_url_cannot_be_used_points_at_its_settings(qtbot: QtBot) -> None:
    """A URL kept as written in settings.toml never started a server: no log to offer, the
    banner's button opens its settings."""
    async with open_window(qtbot) as window:
        window.settings.mcp_servers = [McpServerConfig("typo", url="htps://tools.example/mcp")]
        failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        window.tools.service.serverFailed.connect(
            lambda _name, text: failed.done() or failed.set_result(text)
        )
        window.tools.set_enabled("typo", True)
        text = await asyncio.wait_for(failed, 30)
        assert "htps://tools.example/mcp" in text
        banner = window.settings_ui.banner
        assert banner.action.text() == "Open Settings ▸ MCP servers"
