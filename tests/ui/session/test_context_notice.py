"""A stored chat longer than its model reads, continued in the window on the real mock: the
request the mock receives holds the newest messages and the new prompt, not the oldest, and the
reply says under it how many messages were not sent and why."""

from __future__ import annotations

import json

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, open_window, wait_reply

from streamdesk.core.providers import MOCK_PROVIDER_ID, Provider
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.wording import history_left_out

MESSAGES = 200
WINDOW = 20_000  # tokens: about 28 of these messages, once the reply's reserve is kept
LONG = " " + "w" * 2_000  # about 500 tokens a message


def seed() -> None:
    """One conversation held with the offline demo: "message 0. www…" … "message 199. www…"."""
    with HistoryStore() as store:
        cid = store.create_conversation(title="too long", provider=MOCK_PROVIDER_ID)
        data = store.export_json(cid)
        data["messages"] = [
            {"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}.{LONG}"}
            for i in range(MESSAGES)
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
