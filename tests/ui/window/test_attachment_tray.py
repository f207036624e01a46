"""The attachment tray: chips for picked, dropped and pasted files, each checked at once, removed
with their × button, and what a prompt sends with them (text inlined, images for the target)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QToolButton
from pytestqt.qtbot import QtBot
from tests.core.attachment_files import png

from streamdesk.core.attachments import AttachmentRefused
from streamdesk.core.chat import Target
from streamdesk.core.providers import builtin
from streamdesk.ui.window.attachment_tray import AttachmentTray


def tray(qtbot: QtBot) -> AttachmentTray:
    widget = AttachmentTray()
    qtbot.addWidget(widget)
    return widget


def test_files_become_chips_that_the_cross_removes(qtbot: QtBot, tmp_path: Path) -> None:
    widget = tray(qtbot)
    assert widget.isHidden()  # while there is nothing to send
    image, notes = tmp_path / "cat.png", tmp_path / "notes.txt"
    image.write_bytes(png(64, 64))
    notes.write_text("remember the milk", encoding="utf-8")
    assert widget.add_path(str(image)) and widget.add_path(str(notes))
    assert not widget.isHidden()
    names = [label.text() for label in widget.findChildren(QLabel, "attachmentName")]
    assert names == ["cat.png", "notes.txt"]
    crosses = widget.findChildren(QToolButton, "attachmentRemove")
    with qtbot.waitSignal(widget.changed):
        qtbot.mouseClick(crosses[0], Qt.MouseButton.LeftButton)
    assert [item.name for item in widget.items] == ["notes.txt"]


def test_a_50_mb_file_is_refused_with_the_size_message(qtbot: QtBot, tmp_path: Path) -> None:
    widget = tray(qtbot)
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.write(png(8, 8))
        f.truncate(50 * 1024 * 1024)
    with qtbot.waitSignal(widget.refused) as said:
        assert not widget.add_path(str(huge))
    assert said.args == [
        "huge.png is 50.0 MB; files up to 20.0 MB can be attached. "
        "Make it smaller or attach a part of it."
    ]
    assert widget.items == () and widget.isHidden()


def test_a_pasted_image_is_a_png_chip(qtbot: QtBot) -> None:
    widget = tray(qtbot)
    pasted = QImage(30, 20, QImage.Format.Format_RGB32)
    pasted.fill(Qt.GlobalColor.darkCyan)
    assert widget.add_image(pasted)
    (item,) = widget.items
    assert (item.name, getattr(item, "label", "")) == ("pasted image.png", "30×20 PNG")


@pytest.mark.asyncio
async def test_what_a_prompt_sends_with_the_files(qtbot: QtBot, tmp_path: Path) -> None:
    widget = tray(qtbot)
    wide, code = tmp_path / "wide.png", tmp_path / "demo.py"
    wide.write_bytes(png(4000, 1000))
    code.write_text("print(1)\n", encoding="utf-8")
    widget.add_path(str(wide))
    widget.add_path(str(code))
    claude = Target(builtin("anthropic"), "claude-sonnet-4-5")
    assert widget.outgoing_now("Look", claude) is None, "the image must be scaled first"
    text, images = await widget.outgoing("Look", claude)
    assert text == "Look\n\ndemo.py\n```python\nprint(1)\n```"
    assert [(i.width, i.height, i.mime) for i in images] == [(1568, 392, "image/png")]
    assert widget.outgoing_now("Look", claude) == (text, images), "the copy is kept"
    with pytest.raises(AttachmentRefused, match="deepseek-chat cannot read images"):
        widget.outgoing_now("Look", Target(builtin("deepseek"), "deepseek-chat"))
    assert len(widget.items) == 2  # a refusal keeps the files for another model
