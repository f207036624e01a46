"""The assistant picker: chosen on a new chat's welcome page, switched in the header of an open
chat; the request the mock receives carries its system prompt and parameters, and the history
keeps them with the conversation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.core.assistants import ASSISTANT, BUILTIN_ASSISTANTS, Assistant
from streamdesk.ui.window.main_window import MainWindow

POET = Assistant("Poet", "Answers in verse", "Answer in rhyming verse.", temperature=1.1)
REVIEWER = BUILTIN_ASSISTANTS[1]


def last_body(window: MainWindow) -> dict[str, Any]:
    assert window.mock is not None
    body: dict[str, Any] = json.loads(window.mock.requests[-1].body)
    return body


def stored(window: MainWindow) -> tuple[str, Mapping[str, Any]]:
    store = window.history.store
    assert store is not None
    conv = store.get_conversation(store.list_conversations()[0].id)
    return conv.system_prompt, conv.params


@pytest.mark.asyncio
async def test_choosing_an_assistant_on_the_welcome_page_sends_its_prompt_and_stores_it(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        window.settings.assistants = [POET]
        window.assistants.refresh()
        assert window.content.currentWidget() is window.welcome
        assert [c.name for c in window.welcome.chips][-1] == "Poet"
        assert window.assistants.button.full_text() == "Assistant: General"
        chip = next(c for c in window.welcome.chips if c.name == "Poet")
        applied: list[str] = []
        window.assistants.applied.connect(applied.append)
        QTest.mouseClick(chip, Qt.MouseButton.LeftButton)
        assert applied == ["Poet"]
        assert chip.isChecked() and window.assistants.button.full_text() == "Assistant: Poet"
        session = window.current_session()
        session.send("Tell me about streams")
        await wait_reply(session)
        body = last_body(window)
        assert body["messages"][0] == {"role": "system", "content": POET.system_prompt}
        assert body["temperature"] == 1.1
        prompt, params = stored(window)
        assert prompt == POET.system_prompt and params[ASSISTANT] == "Poet"


@pytest.mark.asyncio
async def test_switching_in_an_open_chat_applies_to_the_next_request_and_is_stored(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        session = window.current_session()
        session.send("First question")
        await wait_reply(session)
        assert last_body(window)["messages"][0]["role"] == "user"
        action = next(
            a for a in window.assistants.button.choices.actions() if a.text() == REVIEWER.name
        )
        action.trigger()
        assert window.assistants.button.full_text() == f"Assistant: {REVIEWER.name}"
        prompt, params = stored(window)  # stored at once, before any request
        assert prompt == REVIEWER.system_prompt and params[ASSISTANT] == REVIEWER.name
        session.send("Second question")
        await wait_reply(session)
        body = last_body(window)
        assert body["messages"][0] == {"role": "system", "content": REVIEWER.system_prompt}
        assert body["temperature"] == REVIEWER.temperature
        window.assistants.choose("General")
        session.send("Third question")
        await wait_reply(session)
        body = last_body(window)
        assert body["messages"][0]["role"] == "user" and "temperature" not in body


@pytest.mark.asyncio
async def test_each_chat_shows_its_own_assistant(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        first = window.current_key()
        window.assistants.choose("Translator")
        window.current_session().send("Hello")
        await wait_reply(window.current_session())
        second = window.new_chat()
        assert second is window.current_session()
        assert window.assistants.button.full_text() == "Assistant: General"
        window.conversations.select(first)
        assert window.assistants.button.full_text() == "Assistant: Translator"


@pytest.mark.asyncio
async def test_an_assistants_model_is_what_the_next_request_asks_for(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.settings.assistants = [Assistant("Small", model="small-model")]
        window.assistants.refresh()
        assert window.assistants.choose("Small")
        assert window.header.model() == "small-model"
        session = window.current_session()
        session.send("Which model?")
        await wait_reply(session)
        assert last_body(window)["model"] == "small-model"


@pytest.mark.asyncio
async def test_the_palette_lists_every_assistant_and_applies_one_as_the_picker_does(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        poet = Assistant("Poet", "Answers in verse", "Answer in rhyming verse.", model="verse-1")
        window.settings.assistants = [poet]
        window.assistants.refresh()
        window.open_palette()
        palette = window.palette_popup
        listed = [e for e in palette.shown() if e.kind == "Assistant"]
        assert [e.title for e in listed] == [a.name for a in window.assistants.assistants()]
        assert listed[-1].detail == "verse-1", "the model it switches to"
        applied: list[str] = []
        window.assistants.applied.connect(applied.append)
        qtbot.keyClicks(palette.field, "assistant poet")
        qtbot.keyClick(palette.field, Qt.Key.Key_Return)
        assert applied == ["Poet"] and not palette.isVisible()
        assert window.assistants.button.full_text() == "Assistant: Poet"
        assert window.header.model() == "verse-1"
        session = window.current_session()
        session.send("Tell me about streams")
        await wait_reply(session)
        body = last_body(window)
        assert body["messages"][0] == {"role": "system", "content": poet.system_prompt}
        assert stored(window)[1][ASSISTANT] == "Poet"
