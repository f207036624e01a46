"""Files the window cannot attach or send, as the user meets them: a drop's refused files said
together in the banner (all of them in its tooltip), an image whose pixels cannot be decoded
marked in the tray and said, and each refusal gone from the banner once its file is removed or
the prompt is sent, while another message in the banner stays."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolButton, QToolTip, QWidget
from pytestqt.qtbot import QtBot
from tests.core.attachment_files import png
from tests.ui.window.test_attach_window import dropped
from tests.ui.window.test_attachment_tray import bad_files
from ui_helpers import open_window, wait_reply

from streamdesk.ui.window.attachment_chip import AttachmentChip
from streamdesk.ui.window.attachment_tray import AttachmentTray


def tooltip_of(widget: QWidget) -> str:
    """The tooltip Qt shows when the pointer rests on `widget` (as text)."""
    event = QHelpEvent(QEvent.Type.ToolTip, QPoint(5, 5), widget.mapToGlobal(QPoint(5, 5)))
    QApplication.sendEvent(widget, event)
    return QToolTip.text()


def next_refusal(tray: AttachmentTray) -> asyncio.Future[str]:
    """What the tray says next of the files it refuses."""
    said: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def take(text: str) -> None:
        tray.refused.disconnect(take)
        said.set_result(text)

    tray.refused.connect(take)
    return said


@pytest.mark.asyncio
async def test_a_drop_says_every_file_it_refuses_and_the_sent_prompt_takes_that_back(
    qtbot: QtBot, tmp_path: Path
) -> None:
    fake = tmp_path / "fake.gif"
    fake.write_bytes(b"GIF89a not really")
    paths = [Path(p) for p in bad_files(tmp_path)] + [fake]
    async with open_window(qtbot) as window:
        box, banner, tray = window.prompt, window.settings_ui.banner, window.composer.attachments
        assert tray is not None
        box.insertFromMimeData(dropped(*paths))
        assert [item.name for item in tray.items] == ["cat.png", "notes.md"]
        assert banner.isVisible() and banner.label.text() == (
            "5 files were not attached: blob.bin (not UTF-8 text or an image), "
            "latin1.txt (not UTF-8 text or an image), missing.txt (not found) and 2 more."
        )
        listed = tooltip_of(banner.label)
        assert f"{tmp_path / 'folder'} cannot be read: Is a directory." in listed
        assert "fake.gif could not be decoded as a GIF image." in listed
        assert listed.count("<br>") == 4, "one line a file"
        qtbot.keyClicks(box, "Shopping list?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        turn = await wait_reply(window.current_session())
        assert turn.reply.failure is None and not banner.isVisible()
        assert tray.notice() == ("", ""), "no list is left for the banner's tooltip"


@pytest.mark.asyncio
async def test_an_image_that_cannot_be_decoded_is_marked_and_its_removal_takes_it_back(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Its header reads and its pixels do not (found while its thumbnail is made): the chip
    is marked, the banner says why, Enter sends nothing; removed, the banner's line goes and
    Enter sends the prompt."""
    cut = tmp_path / "cut.png"
    cut.write_bytes(png(3200, 2400)[:100])  # its own: a thumbnail not kept from another test
    reason = "cut.png could not be decoded as a PNG image."
    async with open_window(qtbot) as window:
        box, banner, tray = window.prompt, window.settings_ui.banner, window.composer.attachments
        session = window.current_session()
        assert tray is not None
        refusal = next_refusal(tray)
        box.insertFromMimeData(dropped(cut))
        assert await refusal == reason and banner.label.text() == reason
        (chip,) = tray.findChildren(AttachmentChip, "attachmentChip")
        assert chip.warning.isVisibleTo(chip) and reason in chip.toolTip()
        qtbot.keyClicks(box, "What is it?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert session.task is None and box.toPlainText() == "What is it?"
        banner.show_message("Another message")  # the banner taken since: it stays
        (cross,) = chip.findChildren(QToolButton, "attachmentRemove")
        qtbot.mouseClick(cross, Qt.MouseButton.LeftButton)
        assert banner.isVisible() and banner.label.text() == "Another message"
        cut_again = next_refusal(tray)
        box.insertFromMimeData(dropped(cut))
        assert await cut_again == reason, "refused at once: its pixels are known not to decode"
        assert tray.items == () and banner.label.text() == reason
        (tmp_path / "cat.png").write_bytes(png(64, 64))
        box.insertFromMimeData(dropped(tmp_path / "cat.png"))
        assert not banner.isVisible(), "a drop that attaches takes back the refusal before"
        qtbot.keyClick(box, Qt.Key.Key_Return)
        turn = await wait_reply(session)
        assert turn.prompt == "What is it?" and [a.name for a in turn.attachments] == ["cat.png"]
