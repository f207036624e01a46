"""The menu bar reports commands as signals; the Debug menu follows the mock."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QMenu
from pytestqt.qtbot import QtBot

from streamdesk.ui.window.menus import Menus


def test_the_first_frame_has_titles_only_and_fill_adds_the_commands(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    menus = Menus(window.menuBar(), window)
    assert menus.file_menu.actions() == [] and not menus.debug_menu.menuAction().isEnabled()
    menus.fill("dark")
    titles = [a.text() for a in menus.file_menu.actions() if a.text()]
    assert titles == ["&New chat", "&Import…", "&Settings…", "&Quit"]
    themes = next(a.menu() for a in menus.view_menu.actions() if a.text() == "&Theme")
    assert isinstance(themes, QMenu)
    assert [a.text() for a in themes.actions() if a.isChecked()] == ["Dark"]
    with qtbot.waitSignal(menus.themeChosen) as chosen:
        next(a for a in themes.actions() if a.text() == "Light").trigger()
    assert chosen.args == ["light"]
    with qtbot.waitSignal(menus.settingsRequested):
        menus.file_menu.actions()[2].trigger()


def test_scenarios_are_chosen_and_checked_one_at_a_time(qtbot: QtBot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    menus = Menus(window.menuBar(), window)
    menus.add_scenarios()
    menus.enable_scenarios(True)
    assert menus.debug_menu.menuAction().isEnabled()
    with qtbot.waitSignal(menus.scenarioChosen) as chosen:
        menus.scenario_actions["http-500"].trigger()
    assert chosen.args == ["http-500"]
    menus.check_scenario("cut")
    assert [n for n, a in menus.scenario_actions.items() if a.isChecked()] == ["cut"]
    menus.check_scenario(None)
    assert not any(a.isChecked() for a in menus.scenario_actions.values())
