"""A stored chat longer than its model reads, continued in the window on the real mock: the
request the mock receives holds the newest messages and the new prompt, not the oldest, and the
reply says under it how many messages were not sent and why. The tools the chat offers (a real
MCP server, tests/tools_server.py) count too."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, open_window, wait_reply

from streamdesk.core.chat import ToolRunner
from streamdesk.core.chat.conversation import estimated_tokens
from streamdesk.core.providers import MOCK_PROVIDER_ID, Provider
from streamdesk.core.request import Message
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.tools import McpServerConfig
from streamdesk.core.wording import history_left_out

MESSAGES = 200
WINDOW = 20_000  # tokens: about 28 of these messages, once the reply's reserve is kept
LONG = " " + "w" * 2_000  # about 500 tokens a message


TOOLS_SERVER = str(Path(__file__).resolve().parents[2] / "tools_server.py")


def seed(contents: list[str] | None = None, title: str = "too long") -> None:
    """One conversation held with the offline demo, of `contents` (default: "message 0. www…"
    … "message 199. www…")."""
    if contents is None:
        contents = [f"message {i}.{LONG}" for i in range(MESSAGES)]
    with HistoryStore() as store:
        cid = store.create_conversation(title=title, provider=MOCK_PROVIDER_ID)
        data = store.export_json(cid)
        data["messages"] = [
            {"role": "user" if i % 2 == 0 else "assistant", "content": content}
            for i, content in enumerate(contents)
        ]
        store.delete_conversation(cid)
        store.import_json(data)


@pytest.mark.asyncio
async def test_a_chat_longer_than_the_model_reads_sends_its_newest_messages_and_says_so(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Provider, "context_window", lambda _self, _model: WINDOW)
    seed()
    async with open_window(qtbot, **FAST) as window:
        listed = window.conversations.keys()  # a list, not a dict
        key = next(k for k in listed if window.conversations.title(k) == "too long")
        window.conversations.select(key)
        session = window.sessions[key]
        notices: list[str] = []
        session.noticeChanged.connect(lambda _key, text: notices.append(text))
        session.send("and now?")
        turn = await wait_reply(session)
        assert turn.reply.failure is None and turn.reply.has_text
        assert window.mock is not None
        sent = json.loads(window.mock.requests[-1].body)["messages"]
        assert sent[-1] == {"role": "user", "content": "and now?"}
        history = [m["content"].split(".")[0] for m in sent[:-1]]
        kept = len(history)
        assert 0 < kept < MESSAGES
        assert history == [f"message {i}" for i in range(MESSAGES - kept, MESSAGES)]
        said = history_left_out(MESSAGES - kept, "gpt-4.1", WINDOW)
        assert said.startswith(f"The oldest {MESSAGES - kept} messages were not sent")
        assert notices[0] == said
        assert said in session.view.document().toPlainText()  # the mark under the reply


@pytest.mark.asyncio
async def test_the_tools_a_chat_offers_count_so_one_that_just_fits_leaves_its_oldest_turn_out(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat fits the window with 100 tokens to spare; the test server's six tools take more
    than that (their framing alone), so the oldest turn stays out and the reply says so."""
    monkeypatch.setattr(Provider, "context_window", lambda _self, _model: WINDOW)
    room = WINDOW - WINDOW // 4 - estimated_tokens(Message("user", "and now?"))
    sizes = [room - 100 - 9 * 1_000] + [1_000] * 9
    seed([f"message {i}.".ljust(4 * (size - 4), "w") for i, size in enumerate(sizes)], "fits")
    async with open_window(qtbot, **FAST) as window:
        window.settings.mcp_servers = [
            McpServerConfig("notes", command=sys.executable, args=(TOOLS_SERVER,))
        ]
        listed = window.conversations.keys()  # a list, not a dict
        key = next(k for k in listed if window.conversations.title(k) == "fits")
        window.conversations.select(key)
        window.tools.set_enabled("notes", True)
        session = window.sessions[key]
        assert not session.system_prompt.strip()  # the estimate above holds no system prompt
        notices: list[str] = []
        session.noticeChanged.connect(lambda _key, text: notices.append(text))
        session.send("and now?")
        turn = await wait_reply(session, 30)
        assert turn.reply.failure is None and turn.reply.has_text
        assert window.mock is not None
        body = json.loads(window.mock.requests[-1].body)
        assert len(body["tools"]) == 6
        assert [m["content"].split(".")[0] for m in body["messages"][:-1]] == [
            f"message {i}" for i in range(2, 10)
        ]
        assert notices[0] == history_left_out(2, "gpt-4.1", WINDOW)


@pytest.mark.asyncio
async def test_tools_that_cannot_be_listed_fail_the_reply_saying_why(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listed before the request is built, they fail it as the engine would (not a silent stop)."""

    async def broken(_self: ToolRunner) -> None:
        raise RuntimeError("the catalog broke")

    monkeypatch.setattr(ToolRunner, "prepare", broken)
    async with open_window(qtbot, **FAST) as window:
        window.settings.mcp_servers = [
            McpServerConfig("notes", command=sys.executable, args=(TOOLS_SERVER,))
        ]
        window.tools.set_enabled("notes", True)
        session = window.current_session()
        session.send("and now?")
        turn = await wait_reply(session)
        assert turn.reply.failure is not None
        assert turn.reply.failure.message == "Unexpected error: the catalog broke"


@pytest.mark.asyncio
async def test_a_request_the_server_refuses_as_too_long_goes_once_more_shorter_and_says_so(
    qtbot: QtBot,
) -> None:
    """The estimate fit, the server disagreed (HTTP 400 context_length_exceeded, the mock's
    too-long-once): the reply is asked again at once without the oldest turns, and what was
    left out is said under it instead of a failure."""
    seed([f"message {i}.{LONG}" for i in range(12)], "refused")
    async with open_window(qtbot, **FAST) as window:
        listed = window.conversations.keys()  # a list, not a dict
        key = next(k for k in listed if window.conversations.title(k) == "refused")
        window.conversations.select(key)
        session = window.sessions[key]
        notices: list[str] = []
        session.noticeChanged.connect(lambda _key, text: notices.append(text))
        window.set_next_scenario("too-long-once")
        session.send("and now?")
        turn = await wait_reply(session)
        assert turn.reply.failure is None and turn.reply.has_text
        assert window.mock is not None
        first, second = (json.loads(r.body)["messages"] for r in window.mock.requests[-2:])
        assert len(second) < len(first) == 13 and second[-1]["content"] == "and now?"
        left_out = 13 - len(second)
        said = [n for n in notices if "not sent" in n]
        assert said and said[-1].startswith(f"The oldest {left_out} messages were not sent")
        assert said[-1] in " ".join(session.view.document().toPlainText().split())
