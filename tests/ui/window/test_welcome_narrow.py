"""A half-screen window (640 px wide) and one at its minimum: the welcome page wraps its text,
its cards and chips take fewer columns, nothing scrolls sideways, and the header's texts are
short rather than cut."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QAbstractButton, QLabel, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, until

from streamdesk.ui.window.header import BADGE_TEXTS, WS_TEXTS, Header
from streamdesk.ui.window.main_window import MainWindow


def _label_problem(label: QLabel) -> str:
    """Why `label` does not show its whole text ("" when it does)."""
    if label.wordWrap():
        if label.heightForWidth(label.width()) > label.height():
            return f"{label.objectName()!r} wraps taller than it is: {label.text()!r}"
        return ""
    needs = label.fontMetrics().horizontalAdvance(label.text())
    if needs > label.contentsRect().width():
        return f"{label.objectName()!r} is cut: {label.text()!r} ({needs} > {label.width()} px)"
    return ""


def _outside(widget: QWidget, area: QWidget) -> bool:
    left = widget.mapTo(area, QPoint(0, 0)).x()
    return left < 0 or left + widget.width() > area.width()


def _problems(window: MainWindow) -> list[str]:
    """What is cut, scrolls sideways or runs off the page in `window`'s welcome page and
    header."""
    welcome = window.welcome
    viewport = welcome.viewport()
    found = []
    if welcome.horizontalScrollBar().isVisible():
        found.append("the welcome page scrolls sideways")
    page = welcome.widget()
    assert page is not None
    if page.width() > viewport.width():
        found.append(f"the page is {page.width()} px in {viewport.width()}")
    labels = [*welcome.findChildren(QLabel), window.header.offline_badge]
    shown = [label for label in labels if label.isVisible() and label.objectName() != "chipText"]
    found += [p for label in shown if (p := _label_problem(label))]  # a chip's text elides
    found += [
        f"a card runs off the page: {card.heading.text()!r}"
        for card in [*welcome.cards, *welcome.chips]
        if _outside(card, viewport)
    ]
    buttons: list[QAbstractButton] = [
        window.header.sse_button,
        window.header.ws_button,
        window.header.sidebar_button,
        window.header.palette_button,
    ]
    found += [
        f"the header's {b.text()!r} is squeezed: {b.width()} < {b.sizeHint().width()} px"
        for b in buttons
        if b.width() < b.sizeHint().width() and b.text()
    ]
    return found


def _per_row(cards: Sequence[QWidget]) -> int:
    """How many of `cards` share the first one's row."""
    return sum(card.y() == cards[0].y() for card in cards)


async def _at_width(window: MainWindow, width: int) -> None:
    """`window` `width` px wide, 560 high, laid out: until it fits or 2 s have passed."""
    await until(lambda: (window.resize(width, 560), window.width() == width)[1])
    with contextlib.suppress(TimeoutError):
        await until(lambda: not _problems(window), 2.0)


@pytest.mark.asyncio
async def test_the_welcome_page_and_header_fit_a_half_screen_window(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        welcome, header = window.welcome, window.header
        await _at_width(window, 1280)
        assert _problems(window) == []
        assert header.ws_button.text() == WS_TEXTS[0]
        assert header.offline_badge.text() == BADGE_TEXTS[0]
        assert (_per_row(welcome.cards), _per_row(welcome.chips)) == (2, 3)
        await _at_width(window, 640)
        assert window.minimumSizeHint().width() <= 640
        assert _problems(window) == []
        assert not welcome.horizontalScrollBar().isVisible()
        assert (_per_row(welcome.cards), _per_row(welcome.chips)) == (1, 2)
        assert header.ws_button.text() == WS_TEXTS[1] and "WebSocket" in header.ws_button.toolTip()
        assert header.ws_button.accessibleName() == "WebSocket"
        assert header.offline_badge.text() == BADGE_TEXTS[1]
        await _at_width(window, window.minimumSizeHint().width())
        assert _problems(window) == []
        await _at_width(window, 1280)
        assert header.ws_button.text() == WS_TEXTS[0], "the full texts come back"
        assert (_per_row(welcome.cards), _per_row(welcome.chips)) == (2, 3), "as they were"


@pytest.mark.asyncio
async def test_a_tall_narrow_welcome_page_wraps_the_cards_texts(qtbot: QtBot) -> None:
    """Tall enough for the cards' texts: they wrap within the one column."""
    async with open_window(qtbot) as window:
        await until(lambda: (window.resize(640, 900), window.width() == 640)[1])
        with contextlib.suppress(TimeoutError):
            await until(lambda: not _problems(window), 2.0)
        assert all(card.body.isVisible() for card in window.welcome.cards)
        assert _problems(window) == []


def test_the_header_shortens_its_texts_only_when_they_do_not_fit(qtbot: QtBot) -> None:
    frame = QWidget()  # a top-level header would be held to its layout's minimum
    qtbot.addWidget(frame)
    header = Header(frame)
    QVBoxLayout(frame).addWidget(header)
    header.set_offline(True, "No API key configured.")
    frame.resize(1400, 60)
    frame.show()
    qtbot.waitUntil(lambda: header.ws_button.text() == WS_TEXTS[0])
    least = header.minimumSizeHint().width()
    assert header.title.isVisible() and least < header.sizeHint().width()
    frame.resize(least + 40, 60)
    qtbot.waitUntil(lambda: header.ws_button.text() == WS_TEXTS[1])
    assert header.offline_badge.text() == BADGE_TEXTS[1]
    assert header.offline_badge.toolTip(), "the badge's tooltip says why"
    assert header.minimumSizeHint().width() == least, "the same least width, short or full"
    frame.resize(1400, 60)
    qtbot.waitUntil(lambda: header.offline_badge.text() == BADGE_TEXTS[0])
