"""View ▸ Usage: what the replies in the history cost, per day, provider and model.

The figures come from `HistoryStore.usage`, read on a worker thread (the history may hold
100,000 messages) each time the dialog is shown or its range changes. Exact and estimated costs
stay apart everywhere; the offline demo's replies are only mentioned, never in the dollars.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.store.history import HistoryError, HistoryStore
from streamdesk.core.store.history.usage import UsageReport, UsageReports, UsageRow
from streamdesk.core.wording import money
from streamdesk.ui.plain_text import make_plain
from streamdesk.ui.usage.chart import Measure, UsageChart, count

log = logging.getLogger(__name__)

RANGES = (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90))
DEFAULT_DAYS = 30
COLUMNS = ("Replies", "Tokens in", "Tokens out", "Exact", "Estimated")


@dataclass(frozen=True, slots=True)
class UsageSnapshot:
    """What the dialog shows: the days from `first` to `last`, grouped three ways."""

    first: dt.date
    last: dt.date
    reports: UsageReports


def read_usage(store: HistoryStore, first: dt.date, last: dt.date) -> UsageSnapshot:
    """One range's usage (blocking: call it on a worker thread)."""
    return UsageSnapshot(first, last, store.usage(since=first, until=last))


class UsageDialog(QDialog):
    """Totals, the chart (cost or tokens) and a table per provider and per model.

    `reload()` reads the history again off the GUI thread; `loaded` is emitted once shown.
    """

    loaded = Signal()

    def __init__(
        self,
        store: HistoryStore,
        parent: QWidget | None = None,
        *,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("usageDialog")
        self.setWindowTitle("Usage")
        self.resize(980, 720)
        self.store = store
        self.today = today
        self.snapshot: UsageSnapshot | None = None
        self._task: asyncio.Task[None] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(10)
        layout.addLayout(self._build_controls())
        self.tiles = _Tiles(self)
        layout.addWidget(self.tiles)
        self.chart = UsageChart(self)
        layout.addWidget(self.chart, 3)
        self.note = make_plain(QLabel(self))  # a failure quotes the history's path
        self.note.setObjectName("usageNote")
        self.note.setWordWrap(True)
        self.note.setEnabled(False)  # drawn in the muted colour
        layout.addWidget(self.note)
        tables = QHBoxLayout()
        tables.setSpacing(12)
        self.providers = _UsageTable("Provider", self)
        self.models = _UsageTable("Model", self)
        for title, table in (("By provider", self.providers), ("By model", self.models)):
            column = QVBoxLayout()
            heading = QLabel(f"<b>{title}</b>", self)
            column.addWidget(heading)
            column.addWidget(table)
            tables.addLayout(column, 1)
        layout.addLayout(tables, 2)

    def _build_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.range_box = QComboBox(self)
        for name, days in RANGES:
            self.range_box.addItem(name, days)
        self.range_box.setCurrentIndex(self.range_box.findData(DEFAULT_DAYS))
        self.range_box.currentIndexChanged.connect(lambda _=0: self.reload())
        row.addWidget(self.range_box)
        row.addStretch(1)
        row.addWidget(QLabel("Chart:", self))
        self.measure_buttons = QButtonGroup(self)
        self.measure_button: dict[Measure, QToolButton] = {}
        choices: tuple[tuple[str, Measure], ...] = (("Cost", "cost"), ("Tokens", "tokens"))
        for name, measure in choices:
            button = QToolButton(self)
            button.setText(name)
            button.setCheckable(True)
            button.setChecked(measure == "cost")
            button.setObjectName(f"usage_{measure}")
            button.clicked.connect(lambda _=False, m=measure: self.set_measure(m))
            self.measure_buttons.addButton(button)
            self.measure_button[measure] = button
            row.addWidget(button)
        return row

    def set_measure(self, measure: Measure) -> None:
        """Chart cost or tokens."""
        self.measure_button[measure].setChecked(True)
        self.chart.set_measure(measure)

    @property
    def days(self) -> int:
        return int(self.range_box.currentData())

    def reload(self) -> asyncio.Task[None]:
        """Read the chosen range again (a read still running is cancelled); await the task."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.ensure_future(self._load())
        return self._task

    async def _load(self) -> None:
        last = self.today()
        first = last - dt.timedelta(days=self.days - 1)
        self.note.setText("Reading the history…")
        try:
            snapshot = await asyncio.to_thread(read_usage, self.store, first, last)
        except (sqlite3.Error, HistoryError) as exc:
            log.warning("could not read the usage from the history: %s", exc)
            self.note.setText(f"The history could not be read ({exc}).")
            return
        self.show_usage(snapshot)
        self.loaded.emit()

    def show_usage(self, snapshot: UsageSnapshot) -> None:
        self.snapshot = snapshot
        days, providers, models = (
            snapshot.reports.days,
            snapshot.reports.providers,
            snapshot.reports.models,
        )
        self.tiles.show_totals(days.totals)
        self.chart.set_days(days.rows, snapshot.first, snapshot.last)
        self.providers.show_rows(providers.rows, providers.totals)
        self.models.show_rows(models.rows, models.totals)
        self.note.setText(_note(days))

    def showEvent(self, event: QShowEvent) -> None:
        """Each time it is shown: the history may have grown since."""
        super().showEvent(event)
        self.reload()

    def done(self, result: int) -> None:
        if self._task is not None:
            self._task.cancel()
        super().done(result)


class _Tiles(QWidget):
    """The range's totals in large type: exact cost, estimated cost, tokens, replies."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(28)
        self.values: dict[str, QLabel] = {}
        for column, name in enumerate(("Exact cost", "Estimated cost", "Tokens", "Replies")):
            caption = QLabel(name, self)
            caption.setEnabled(False)
            value = QLabel("–", self)
            font = value.font()
            font.setPointSizeF(font.pointSizeF() * 1.6)
            font.setBold(True)
            value.setFont(font)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(caption, 0, column)
            grid.addWidget(value, 1, column)
            self.values[name] = value
        grid.setColumnStretch(4, 1)

    def show_totals(self, totals: UsageRow) -> None:
        estimated = (
            money(totals.cost_estimated, estimated=True) if totals.estimated_replies else "–"
        )
        self.values["Exact cost"].setText(money(totals.cost_exact))
        self.values["Estimated cost"].setText(estimated)
        tokens = f"{count(totals.prompt_tokens)} in · {count(totals.completion_tokens)} out"
        self.values["Tokens"].setText(tokens)
        self.values["Replies"].setText(f"{totals.replies:,}")


class _UsageTable(QTableWidget):
    """One row per provider (or model) and a totals row, figures right-aligned."""

    def __init__(self, first_column: str, parent: QWidget) -> None:
        super().__init__(0, 1 + len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([first_column, *COLUMNS])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, 1 + len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    def show_rows(self, rows: Sequence[UsageRow], totals: UsageRow) -> None:
        self.setRowCount(0)
        for row in (*rows, totals) if rows else ():
            self._add(row, bold=row is totals)

    def _add(self, row: UsageRow, *, bold: bool) -> None:
        index = self.rowCount()
        self.insertRow(index)
        name = "Total" if bold else (row.key or "(unknown)")
        estimated = money(row.cost_estimated, estimated=True) if row.estimated_replies else "–"
        cells = (
            name,
            f"{row.replies:,}",
            f"{row.prompt_tokens:,}",
            f"{row.completion_tokens:,}",
            money(row.cost_exact),
            estimated,
        )
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if bold:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            if column == 0 and row.unpriced_replies and not bold:
                item.setToolTip(f"{row.unpriced_replies:,} replies with no known price")
            self.setItem(index, column, item)

    def cell_texts(self) -> list[list[str]]:
        """What the table shows, row by row."""
        return [
            [self._text(r, c) for c in range(self.columnCount())] for r in range(self.rowCount())
        ]

    def _text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return "" if item is None else item.text()


def _note(days: UsageReport) -> str:
    """What the dollars leave out, in one line."""
    totals, demo = days.totals, days.demo
    parts = []
    if totals.estimated_replies:
        parts.append(
            f"{totals.estimated_replies:,} of the replies had no usage from the server: their "
            "tokens and cost are estimated from the text."
        )
    if totals.unpriced_replies:
        parts.append(f"{totals.unpriced_replies:,} had tokens but no known price.")
    if demo.replies:
        parts.append(f"The offline demo's {demo.replies:,} replies are not counted.")
    if not totals.replies and not demo.replies:
        parts.append("No replies in this range.")
    return " ".join(parts)


def open_usage(parent: QWidget, store: HistoryStore) -> UsageDialog:
    """Show (creating once) the usage dialog of `parent`; it reads the history as it shows."""
    dialog = parent.findChild(UsageDialog, "usageDialog")
    if dialog is None:
        dialog = UsageDialog(store, parent)
    if dialog.isVisible():
        dialog.reload()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
