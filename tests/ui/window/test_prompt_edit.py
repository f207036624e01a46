"""Editing a sent prompt as a user does it: Edit on the prompt, a bar above the prompt box and
an outline on the prompt while editing, Esc or Cancel gives the draft back, a resend ends it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.transcript.layout import EDIT_OUTLINE, chrome_kind
from streamdesk.ui.transcript.view import TranscriptView
from streamdesk.ui.window.main_window import MainWindow


def link_point(view: TranscriptView, text: str) -> QPoint:
    """Scroll the first link that reads `text` into sight; where it is on the viewport."""
    doc = view.document()
    found = doc.find(text)
    while not found.isNull() and not found.charFormat().isAnchor():
        found = doc.find(text, found.selectionEnd())
    assert not found.isNull(), f"no link {text!r}"
    cursor = QTextCursor(doc)
    cursor.setPosition(found.selectionStart() + 1)
    view.setTextCursor(cursor)
    view.ensureCursorVisible()
    return view.cursorRect().center()


def click_link(qtbot: QtBot, view: TranscriptView, text: str) -> None:
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=link_point(view, text))


async def chat_with_reply(window: MainWindow, prompt: str = "a prompt to edit") -> ChatSession:
    """The window's chat after `prompt` was sent and answered."""
    session = window.current_session()
    session.send(prompt)
    await wait_reply(session)
    return session


def prompt_borders(view: TranscriptView) -> list[float]:
    """The border width of each prompt's block, top to bottom."""
    root = view.document().rootFrame()
    headers = [f for f in root.childFrames() if chrome_kind(f.frameFormat()) == "header"]
    return [f.frameFormat().border() for f in headers if f.frameFormat().padding() > 0]


def bar_text(window: MainWindow) -> str:
    bar = window.composer.edit_bar
    words = [label.text() for label in bar.findChildren(QLabel)]
    return " ".join([*words, window.composer.cancel_edit_button.text()])


def editing(window: MainWindow) -> bool:
    return window.composer.edit_bar.isVisible() and window.prompt.editing


@pytest.mark.asyncio
async def test_edit_marks_the_box_and_the_prompt_and_esc_gives_the_draft_back(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        session = await chat_with_reply(window)
        turn = session.turns[-1]
        view = session.view
        window.prompt.setFocus()
        qtbot.keyClicks(window.prompt, "half a thought")
        assert not window.composer.edit_bar.isVisible()
        click_link(qtbot, view, "Edit")
        assert editing(window)
        assert window.prompt.toPlainText() == "a prompt to edit"
        assert bar_text(window) == "Editing your message · Cancel (Esc)"
        assert view.editing_key() == ("user", turn.key)
        assert prompt_borders(view) == [EDIT_OUTLINE]
        window.prompt.setFocus()
        qtbot.keyClick(window.prompt, Qt.Key.Key_Escape)
        assert not editing(window) and window.history.actions.editing is None
        assert window.prompt.toPlainText() == "half a thought", "the draft comes back"
        assert prompt_borders(view) == [0] and view.editing_key() is None
        assert not session.busy and "Editing" not in window.status.text()


@pytest.mark.asyncio
async def test_cancel_on_the_bar_leaves_editing_and_a_resend_ends_it(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = await chat_with_reply(window)
        view = session.view
        window.prompt.setPlainText("my draft")
        click_link(qtbot, view, "Edit")
        assert editing(window)
        qtbot.mouseClick(window.composer.cancel_edit_button, Qt.MouseButton.LeftButton)
        assert not editing(window) and window.prompt.toPlainText() == "my draft"
        assert [t.prompt for t in session.turns] == ["a prompt to edit"]

        click_link(qtbot, view, "Edit")
        window.prompt.setPlainText("the edited prompt")
        window.prompt.setFocus()
        qtbot.keyClick(window.prompt, Qt.Key.Key_Return)
        assert not editing(window), "the resend ends the edit"
        assert window.prompt.toPlainText() == "my draft", "what was typed before is back"
        await wait_reply(session)
        assert [t.prompt for t in session.turns] == ["the edited prompt"]
        assert prompt_borders(view) == [0]
        window.prompt.clear()
        qtbot.keyClick(window.prompt, Qt.Key.Key_Escape)  # not editing: Esc is Stop again
        assert window.prompt.toPlainText() == ""


@pytest.mark.asyncio
async def test_switching_chats_while_editing_cancels_the_edit(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        first = await chat_with_reply(window)
        window.prompt.setPlainText("draft")
        click_link(qtbot, first.view, "Edit")
        assert editing(window)
        window.open_new_chat()
        assert not editing(window) and window.prompt.toPlainText() == "draft"
        assert first.view.editing_key() is None and window.history.actions.editing is None


@pytest.mark.asyncio
async def test_the_outline_survives_a_theme_switch_while_editing(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = await chat_with_reply(window)
        click_link(qtbot, session.view, "Edit")
        window.set_theme("light" if window.dark else "dark")
        assert prompt_borders(session.view) == [EDIT_OUTLINE]
        window.cancel_edit()
        assert prompt_borders(session.view) == [0]
