"""The usage dialog reads a seeded history off the GUI thread and draws it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from plain_checks import assert_plain_label, hostile, red_png
from PySide6.QtGui import QColor, QImage, QPalette
from pytestqt.qtbot import QtBot
from tests.core.store.history.usage_history import COUNTED, DEMO, seed
from tests.ui.ui_helpers import open_window

from streamdesk.core.store.history import HistoryError, HistoryStore
from streamdesk.core.store.history.usage import UsageRow
from streamdesk.core.wording import money
from streamdesk.ui.theme import colors
from streamdesk.ui.usage.chart import UsageChart, day_bars, nice_step
from streamdesk.ui.usage.dialog import UsageDialog

TODAY = dt.date(2026, 11, 30)
IN_30_DAYS = tuple(r for r in COUNTED if r.days_ago < 30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    seed(tmp_path / "h.sqlite3", TODAY)
    with HistoryStore(tmp_path / "h.sqlite3") as opened:
        yield opened


@pytest_asyncio.fixture
async def dialog(qtbot: QtBot, store: HistoryStore) -> AsyncIterator[UsageDialog]:
    shown = UsageDialog(store, today=lambda: TODAY)
    qtbot.addWidget(shown)
    shown.show()
    await shown.reload()
    yield shown
    shown.close()


def _pixels(image: QImage, colour: str) -> int:
    """How many pixels of `image` are exactly `colour`."""
    wanted = QColor(colour).rgb()
    return sum(
        1
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
        if image.pixel(x, y) == wanted
    )


@pytest.mark.asyncio
async def test_the_dialog_shows_the_last_30_days_totals(dialog: UsageDialog) -> None:
    snapshot = dialog.snapshot
    assert snapshot is not None
    assert snapshot.first == TODAY - dt.timedelta(days=29) and snapshot.last == TODAY
    totals = snapshot.reports.days.totals
    assert totals.replies == len(IN_30_DAYS)  # the 40-day-old reply is outside
    exact = sum(r.cost or 0.0 for r in IN_30_DAYS if not r.estimated)
    assert totals.cost_exact == pytest.approx(exact)
    assert dialog.tiles.values["Exact cost"].text() == money(exact)
    assert dialog.tiles.values["Replies"].text() == str(len(IN_30_DAYS))
    assert dialog.tiles.values["Estimated cost"].text().startswith("≈$")


@pytest.mark.asyncio
async def test_the_chart_draws_one_bar_per_day_exact_and_estimated(dialog: UsageDialog) -> None:
    chart = dialog.chart
    assert len(chart.bars) == 30 and chart.bars[-1].day == TODAY
    today = chart.bars[-1]
    assert today.exact == pytest.approx(0.0048 + 0.00464)  # the reply and its regeneration
    assert today.estimated == pytest.approx(0.0028)
    image = chart.grab().toImage()
    assert _pixels(image, colors(False)["highlight"]) > 50  # exact bars drawn
    dialog.set_measure("tokens")
    assert chart.measure == "tokens"
    assert dialog.measure_button["tokens"].isChecked()
    assert today.row.tokens == chart.bars[-1].exact + chart.bars[-1].estimated


@pytest.mark.asyncio
async def test_tables_per_provider_and_model_end_with_the_totals(dialog: UsageDialog) -> None:
    providers = dialog.providers.cell_texts()
    names = [row[0] for row in providers]
    assert names == ["anthropic", "openai", "openrouter", "Total"]  # ollama: 40 days ago
    assert providers[-1][1] == str(len(IN_30_DAYS))
    models = [row[0] for row in dialog.models.cell_texts()]
    assert "mock-fast" not in models and models[-1] == "Total"
    assert f"The offline demo's {len(DEMO)} replies are not counted" in dialog.note.text()
    assert "no known price" in dialog.note.text()


@pytest.mark.asyncio
async def test_a_shorter_range_reads_again(dialog: UsageDialog) -> None:
    dialog.range_box.setCurrentIndex(dialog.range_box.findData(7))
    task = dialog.reload()
    await task
    assert dialog.snapshot is not None
    assert len(dialog.chart.bars) == 7
    assert dialog.snapshot.reports.days.totals.replies == sum(1 for r in COUNTED if r.days_ago < 7)


@pytest.mark.asyncio
async def test_an_empty_history_draws_no_bars(qtbot: QtBot, tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "empty.sqlite3") as empty:
        shown = UsageDialog(empty, today=lambda: TODAY)
        qtbot.addWidget(shown)
        shown.show()
        await shown.reload()
        assert shown.providers.rowCount() == 0
        assert "No replies in this range" in shown.note.text()
        assert _pixels(shown.chart.grab().toImage(), colors(False)["highlight"]) < 50
        shown.close()


def test_days_without_replies_get_empty_bars() -> None:
    rows = [UsageRow("2026-11-29", replies=1, cost_exact=0.5, prompt_tokens=10)]
    bars = day_bars(rows, dt.date(2026, 11, 28), TODAY, "cost")
    assert [b.total for b in bars] == [0.0, 0.5, 0.0]
    tokens = day_bars(rows, dt.date(2026, 11, 28), TODAY, "tokens")
    assert [b.exact for b in tokens] == [0, 10, 0]


def test_axis_steps_read_well(qtbot: QtBot) -> None:
    assert nice_step(0.13) == pytest.approx(0.05)
    assert nice_step(51_000) == 20_000
    chart = UsageChart()
    qtbot.addWidget(chart)
    assert chart.axis_label(0.1, 0.05) == "$0.10"
    chart.set_measure("tokens")
    assert chart.axis_label(40_000, 20_000) == "40k"


def test_hovering_a_bar_describes_its_day(qtbot: QtBot) -> None:
    chart = UsageChart()
    qtbot.addWidget(chart)
    chart.resize(600, 260)
    row = UsageRow("2026-11-30", replies=2, prompt_tokens=10, completion_tokens=5,
                   estimated_replies=1, cost_exact=0.02, cost_estimated=0.01)  # fmt: skip
    chart.set_days([row], dt.date(2026, 11, 29), TODAY)
    plot = chart.plot_rect()
    assert chart.bar_at(plot.right() - 1) == 1 and chart.bar_at(plot.left() + 1) == 0
    text = chart.describe(1)
    assert "Mon 30 Nov 2026" in text and "exact $0.02" in text and "estimated ≈$0.01 (" in text
    assert chart.describe(0).endswith("no replies")


@pytest.mark.asyncio
async def test_view_usage_is_a_menu_and_palette_command_that_opens_the_dialog(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        commands = dict(window.menus.commands())
        assert "Usage" in commands
        assert any(entry.title == "Usage" for entry in window.palette_entries())
        commands["Usage"].trigger()
        dialog = window.findChild(UsageDialog)
        assert isinstance(dialog, UsageDialog) and dialog.isVisible()
        await dialog.reload()
        assert dialog.snapshot is not None and len(dialog.chart.bars) == 30
        dialog.close()


def test_the_chart_draws_in_the_dark_theme_colours_of_a_dark_palette(qtbot: QtBot) -> None:
    chart = UsageChart()
    qtbot.addWidget(chart)
    chart.resize(600, 260)
    row = UsageRow("2026-11-30", replies=1, cost_exact=0.02)
    chart.set_days([row], dt.date(2026, 11, 29), TODAY)
    dark = QPalette(chart.palette())
    dark.setColor(QPalette.ColorRole.Window, QColor(colors(True)["window"]))
    chart.setPalette(dark)
    image = chart.grab().toImage()
    assert _pixels(image, colors(True)["highlight"]) > 50
    assert _pixels(image, colors(False)["highlight"]) == 0


@pytest.mark.asyncio
async def test_a_history_that_cannot_be_read_is_quoted_as_it_is(
    dialog: UsageDialog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error names the history's file: its words are shown, never read as HTML."""
    words = hostile(red_png(tmp_path))

    def unreadable(*_args: object) -> None:
        raise HistoryError(words)

    monkeypatch.setattr("streamdesk.ui.usage.dialog.read_usage", unreadable)
    await dialog.reload()
    assert_plain_label(dialog.note, f"The history could not be read ({words}).")
