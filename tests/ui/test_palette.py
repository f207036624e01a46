"""The command palette lists chats and models by their names, which are anyone's words: a
row's tooltip spells `<img src="LOCALFILE">` out and never draws the local image."""

from __future__ import annotations

from pathlib import Path

from plain_checks import assert_plain_tooltip, hostile, red_png
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from streamdesk.ui.palette import CommandPalette, PaletteEntry


def test_a_chat_s_title_is_shown_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    title = hostile(red_png(tmp_path))
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(800, 600)
    window.show()
    palette = CommandPalette(window)
    palette.open(
        [PaletteEntry("Chat", title, lambda: None), PaletteEntry("Model", "<b>x</b>", print)]
    )
    first, second = (palette.list.item(row) for row in range(2))
    assert first.text() == title  # a row draws plain text
    assert_plain_tooltip(first.toolTip(), title)
    assert_plain_tooltip(second.toolTip(), "<b>x</b>")
