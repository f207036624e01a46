"""What start-up leaves for later stays correct: the Debug menu fills when it opens, and every
icon the window names is a symbol file in the package."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from streamdesk.mock.scenarios import SCENARIOS
from streamdesk.ui.theme import colors
from streamdesk.ui.window import icons
from streamdesk.ui.window.menus import Menus
from streamdesk.ui.window.symbols import symbol_path

PACKAGE = Path(icons.__file__).resolve().parents[2]


def test_the_debug_menu_gets_its_scenarios_when_it_opens(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    menus = Menus(window.menuBar(), window)
    menus.enable_scenarios(True)
    menus.check_scenario("cut")  # chosen (from the palette, a test) before the menu opened
    assert menus.debug_menu.actions() == []
    menus.debug_menu.aboutToShow.emit()
    assert [a.text() for a in menus.debug_menu.actions()] == list(SCENARIOS)
    assert [a.text() for a in menus.debug_menu.actions() if a.isChecked()] == ["cut"]
    menus.debug_menu.aboutToShow.emit()  # opened again: nothing added twice
    assert len(menus.debug_menu.actions()) == len(SCENARIOS)


def test_the_palette_lists_the_scenarios_the_menu_has_not_shown_yet(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    menus = Menus(window.menuBar(), window)
    assert not any(name.startswith("Mock fault") for name, _ in menus.commands())
    menus.enable_scenarios(True)
    names = [name for name, _ in menus.commands() if name.startswith("Mock fault ▸ ")]
    assert names == [f"Mock fault ▸ {scenario}" for scenario in SCENARIOS]


def test_every_icon_the_window_names_is_a_symbol_in_the_package() -> None:
    named = {
        match
        for source in PACKAGE.rglob("*.py")
        for match in re.findall(r'"(mdi6\.[a-z0-9-]+)"', source.read_text(encoding="utf-8"))
    }
    assert "mdi6.arrow-up" in named and "mdi6.tools" in named
    assert [name for name in sorted(named) if not symbol_path(name).is_file()] == []


def test_a_symbol_is_drawn_in_its_role_colour_and_the_disabled_one(qtbot: QtBot) -> None:
    icons.set_dark(False)
    palette = colors(False)
    drawn = icons.icon("mdi6.stop", role="accent")  # a filled square: its centre is the colour
    normal = drawn.pixmap(24, 24).toImage()
    disabled = drawn.pixmap(24, 24, QIcon.Mode.Disabled).toImage()
    assert normal.pixelColor(12, 12).name() == QColor(palette["highlight"]).name()
    assert disabled.pixelColor(12, 12).name() == QColor(palette["border"]).name()
    assert normal.pixelColor(0, 0).alpha() == 0  # the box around the symbol stays clear
    sharp = drawn.pixmap(QSize(24, 24), 2.0)  # a HiDPI screen: drawn at twice the pixels
    assert (sharp.width(), sharp.devicePixelRatio()) == (48, 2.0)
    assert icons.icon("mdi6.no-such-symbol").isNull()
