"""Attaching in the window as a user does it: the paperclip's picker, a file dropped and an image
pasted onto the prompt box, Enter; a model without vision told in the banner, nothing sent; and
a chat switched to such a model sending its text without the earlier image, and saying so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot
from tests.core.attachment_files import png
from ui_helpers import open_window, wait_reply

from streamdesk.core.store.history import HistoryStore


def dropped(*paths: Path) -> QMimeData:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return data


def pasted(width: int, height: int) -> QMimeData:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkCyan)
    data = QMimeData()
    data.setImageData(image)
    return data


@pytest.mark.asyncio
async def test_dropped_and_pasted_files_go_with_the_prompt(qtbot: QtBot, tmp_path: Path) -> None:
    photo, notes = tmp_path / "photo.png", tmp_path / "notes.md"
    photo.write_bytes(png(64, 64))
    notes.write_text("- eggs\n", encoding="utf-8")
    async with open_window(qtbot) as window:
        tray, box = window.composer.attachments, window.prompt
        assert tray is not None and box.canInsertFromMimeData(dropped(photo))
        box.insertFromMimeData(dropped(photo, notes))  # what a drop on the box does
        box.insertFromMimeData(pasted(30, 20))  # what Ctrl+V of a screenshot does
        assert [item.name for item in tray.items] == ["photo.png", "notes.md", "pasted image.png"]
        assert box.toPlainText() == ""  # no path was typed in
        qtbot.keyClicks(box, "Shopping list?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        turn = await wait_reply(window.current_session())
        assert turn.reply.text.startswith("I received 2 images: 64×64 PNG, 30×20 PNG.")
        assert turn.prompt == "Shopping list?\n\nnotes.md\n```markdown\n- eggs\n```"
        assert tray.items == () and tray.isHidden()
    with HistoryStore() as store:
        (conversation,) = store.list_conversations()
        prompt = store.messages(conversation.id)[0]
        assert [a.name for a in prompt.attachments] == ["photo.png", "pasted image.png"]


@pytest.mark.asyncio
async def test_the_paperclip_opens_a_picker_whose_files_become_chips(
    qtbot: QtBot, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(8, 8))
    async with open_window(qtbot) as window:
        qtbot.mouseClick(window.composer.attach_button, Qt.MouseButton.LeftButton)
        (dialog,) = window.composer.findChildren(QFileDialog)
        dialog.filesSelected.emit([str(photo)])
        dialog.reject()
        tray = window.composer.attachments
        assert tray is not None and [item.name for item in tray.items] == ["photo.png"]


@pytest.mark.asyncio
async def test_a_model_without_vision_is_told_in_the_banner(qtbot: QtBot, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(8, 8))
    async with open_window(qtbot) as window:
        assert window.mock is not None
        window.header.choose("mock", "deepseek-v3.2")
        box, banner = window.prompt, window.settings_ui.banner
        box.insertFromMimeData(dropped(photo))
        before = len(window.mock.requests)
        qtbot.keyClicks(box, "What is it?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert banner.isVisible()
        assert banner.label.text().startswith("deepseek-v3.2 cannot read images")
        assert box.toPlainText() == "What is it?"  # the prompt is back, the file still waits
        assert window.composer.attachments is not None
        assert len(window.composer.attachments.items) == 1
        assert len(window.mock.requests) == before and not window.current_session().turns


@pytest.mark.asyncio
async def test_a_file_too_large_is_told_in_the_banner(qtbot: QtBot, tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.write(png(8, 8))
        f.truncate(50 * 1024 * 1024)
    async with open_window(qtbot) as window:
        window.prompt.insertFromMimeData(dropped(huge))
        banner = window.settings_ui.banner
        assert banner.label.text().startswith("huge.png is 50.0 MB; files up to 20.0 MB")


@pytest.mark.asyncio
async def test_a_chat_switched_to_a_model_without_vision_sends_its_text_and_says_so(
    qtbot: QtBot, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(64, 64))
    async with open_window(qtbot) as window:
        assert window.mock is not None
        session, box = window.current_session(), window.prompt
        box.insertFromMimeData(dropped(photo))
        qtbot.keyClicks(box, "What is it?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        await wait_reply(session)
        window.header.choose("mock", "deepseek-v3.2")  # switched on purpose, mid-chat
        notices: list[str] = []
        session.noticeChanged.connect(lambda _key, text: notices.append(text))
        qtbot.keyClicks(box, "And now?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        turn = await wait_reply(session)
        assert turn.reply.failure is None and turn.reply.has_text
        said = (
            "1 image of this chat left out of the request (deepseek-v3.2 cannot read images);"
            " the text was sent."
        )
        assert notices == [said]
        assert said in session.view.toPlainText()  # the quiet mark under the reply
        body = json.loads(window.mock.requests[-1].body)
        assert body["messages"][0] == {"role": "user", "content": "What is it?"}
        assert session.turns[0].attachments[0].data == photo.read_bytes()
