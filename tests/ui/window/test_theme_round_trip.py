"""A theme switch there and back leaves the window as it was: a switch repolishes every widget,
so a size or font that only held until the first repolish shows up as a window that changes."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, open_window, until

from streamdesk.ui.window.main_window import MainWindow

Look = tuple[str, str, tuple[int, int], tuple[int, int], str]


def _looks(window: MainWindow) -> list[Look]:
    """Each shown widget's class, name, size, size hint and font."""
    QApplication.sendPostedEvents()  # the layout requests a switch posted
    return [
        (
            type(w).__name__,
            w.objectName(),
            w.size().toTuple(),
            w.sizeHint().toTuple(),
            w.font().toString(),
        )
        for w in window.findChildren(QWidget)
        if w.isVisible()
    ]


async def _settled_looks(window: MainWindow) -> list[Look]:
    """`_looks` once two turns of the loop agree: wrapped labels (the welcome page's cards)
    take their height over a few turns."""
    seen: list[list[Look]] = [[]]

    def unchanged() -> bool:
        seen.append(_looks(window))
        return seen[-1] == seen[-2]

    await until(unchanged)
    return seen[-1]


async def _round_trip_changes_nothing(window: MainWindow) -> None:
    prompt, model_box = window.prompt, window.header.model_box
    placeholder_font = prompt.viewport().font()  # QPlainTextEdit draws it in this one
    model_width, model_hint = model_box.width(), model_box.sizeHint()
    before = await _settled_looks(window)
    choice = window.settings.theme
    window.set_theme("light" if window.dark else "dark")
    window.set_theme(choice)
    assert placeholder_font.pointSize() == prompt.font().pointSize(), (
        "the placeholder reads in the size of what is typed over it"
    )
    assert prompt.viewport().font() == placeholder_font
    assert model_box.sizeHint() == model_hint
    assert await _settled_looks(window) == before
    assert model_box.width() == model_width


@pytest.mark.asyncio
async def test_a_theme_switch_and_back_leaves_every_size_and_font_as_it_was(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        await _round_trip_changes_nothing(window)


@pytest.mark.asyncio
async def test_so_it_does_in_a_window_shown_before_it_was_built(qtbot: QtBot) -> None:
    """As the app opens it: the frame is polished before the header's models and the prompt's
    size arrive."""
    window = MainWindow(deferred=True, save_on_close=False, mock_options=FAST)
    qtbot.addWidget(window)
    window.show()
    try:
        await window.start()
        await _round_trip_changes_nothing(window)
    finally:
        await window.shutdown()


@pytest.mark.asyncio
async def test_a_theme_switch_restyles_the_window_alone(qtbot: QtBot) -> None:
    """The rules are the window's own: an application-wide sheet would repolish every widget
    on each switch, then the window's again, a stall a user sees."""
    async with open_window(qtbot) as window:
        window.set_theme("light" if window.dark else "dark")
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        assert app.styleSheet() == ""
        assert "compareTable" in window.styleSheet(), "the compare window's rules come along"
