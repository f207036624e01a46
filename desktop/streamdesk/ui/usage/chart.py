"""The usage chart: one bar per day, exact below and estimated stacked above, drawn with QPainter.

Cost or tokens (`set_measure`). Colours come from the theme table for the palette in use, so a
theme switch (the application's palette changes) repaints it in the new colours. Hovering a bar
shows that day's figures.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from streamdesk.core.store.history.usage import UsageRow
from streamdesk.core.wording import money
from streamdesk.ui.theme import colors

Measure = Literal["cost", "tokens"]
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 30, 26  # px around the plot: axis labels, legend, days
ESTIMATED_ALPHA = 150


@dataclass(frozen=True, slots=True)
class DayBar:
    """One day's bar: what was measured exactly and what was estimated (stacked on top)."""

    day: dt.date
    exact: float
    estimated: float
    row: UsageRow

    @property
    def total(self) -> float:
        return self.exact + self.estimated


def count(tokens: float) -> str:
    """12,345 as 12.3k; 1,234,567 as 1.23M."""
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.3g}M"
    if tokens >= 1_000:
        return f"{tokens / 1_000:.3g}k"
    return f"{tokens:.0f}"


def nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that covers `top` in about `ticks` steps."""
    raw = top / ticks
    power: float = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def day_bars(
    rows: Sequence[UsageRow], first: dt.date, last: dt.date, measure: Measure
) -> list[DayBar]:
    """One bar per day from `first` to `last`, days without replies included (empty)."""
    by_day = {row.key: row for row in rows}
    bars = []
    day = first
    while day <= last:
        row = by_day.get(day.isoformat(), UsageRow(day.isoformat()))
        if measure == "cost":
            bars.append(DayBar(day, row.cost_exact, row.cost_estimated, row))
        else:
            exact = row.tokens - row.estimated_tokens
            bars.append(DayBar(day, exact, row.estimated_tokens, row))
        day += dt.timedelta(days=1)
    return bars


class UsageChart(QWidget):
    """Bars per day; `set_days` gives the rows (a by-day report's) and the span to show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(480, 220)
        self.setMouseTracking(True)
        self.measure: Measure = "cost"
        self._rows: tuple[UsageRow, ...] = ()
        self._first = self._last = dt.date.today()
        self.bars: list[DayBar] = []
        self.hovered: int | None = None

    def set_days(self, rows: Sequence[UsageRow], first: dt.date, last: dt.date) -> None:
        self._rows, self._first, self._last = tuple(rows), first, last
        self._rebuild()

    def set_measure(self, measure: Measure) -> None:
        self.measure = measure
        self._rebuild()

    def _rebuild(self) -> None:
        self.bars = day_bars(self._rows, self._first, self._last, self.measure)
        self.update()

    def axis_label(self, value: float, step: float) -> str:
        """A tick's value with as many decimals as its step needs ($0.05, $0.10, 20k)."""
        if self.measure == "tokens":
            return count(value)
        if value == 0:
            return "$0"
        decimals = min(6, max(0, -math.floor(math.log10(step))))
        return f"${value:,.{decimals}f}"

    # Geometry

    def plot_rect(self) -> QRectF:
        return QRectF(
            LEFT, TOP, max(1, self.width() - LEFT - RIGHT), max(1, self.height() - TOP - BOTTOM)
        )

    def slot_width(self) -> float:
        return self.plot_rect().width() / max(1, len(self.bars))

    def bar_at(self, x: float) -> int | None:
        plot = self.plot_rect()
        if not self.bars or not plot.left() <= x < plot.right():
            return None
        return min(len(self.bars) - 1, int((x - plot.left()) / self.slot_width()))

    def scale_top(self) -> tuple[float, float]:
        """(axis top, step): the tallest bar rounded up to a whole number of round steps."""
        tallest = max((bar.total for bar in self.bars), default=0.0)
        if tallest <= 0:
            return (0.01, 0.0025) if self.measure == "cost" else (100.0, 25.0)
        step = nice_step(tallest)
        return math.ceil(tallest / step) * step, step

    # Painting

    def paintEvent(self, event: QPaintEvent) -> None:
        c = colors(self.palette().color(QPalette.ColorRole.Window).lightness() < 128)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self.plot_rect()
        top, step = self.scale_top()
        metrics = QFontMetrics(self.font())
        text, muted, grid = QColor(c["text"]), QColor(c["muted"]), QColor(c["border"])
        # Horizontal grid and its labels
        p.setPen(QPen(muted))
        ticks = round(top / step)
        for i in range(ticks + 1):
            y = plot.bottom() - i / ticks * plot.height()
            p.setPen(QPen(grid, 1, Qt.PenStyle.SolidLine if i == 0 else Qt.PenStyle.DotLine))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(QPen(muted))
            p.drawText(
                QRectF(0, y - 9, LEFT - 8, 18),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                self.axis_label(i * step, step),
            )
        self._draw_bars(p, plot, top, QColor(c["highlight"]), QColor(c["warning"]))
        self._draw_days(p, plot, metrics, muted)
        self._draw_legend(p, QColor(c["highlight"]), QColor(c["warning"]), text)
        if not any(bar.total for bar in self.bars):
            p.setPen(QPen(muted))
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No replies on these days")
        p.end()

    def _draw_bars(
        self, p: QPainter, plot: QRectF, top: float, exact: QColor, estimated: QColor
    ) -> None:
        slot = self.slot_width()
        width = max(2.0, slot * 0.7)
        estimated.setAlpha(ESTIMATED_ALPHA)
        for i, bar in enumerate(self.bars):
            x = plot.left() + i * slot + (slot - width) / 2
            low = bar.exact / top * plot.height()
            high = bar.estimated / top * plot.height()
            if i == self.hovered:
                shade = QColor(exact)
                shade.setAlpha(30)
                p.fillRect(QRectF(plot.left() + i * slot, plot.top(), slot, plot.height()), shade)
            if low > 0:
                p.fillRect(QRectF(x, plot.bottom() - low, width, low), exact)
            if high > 0:
                p.fillRect(QRectF(x, plot.bottom() - low - high, width, high), estimated)

    def _draw_days(self, p: QPainter, plot: QRectF, metrics: QFontMetrics, pen: QColor) -> None:
        """A date under every few bars, as many as fit without touching."""
        slot = self.slot_width()
        label_width = metrics.horizontalAdvance("Nov 30") + 12
        every = max(1, math.ceil(label_width / slot))
        p.setPen(QPen(pen))
        last = len(self.bars) - 1
        for i, bar in enumerate(self.bars):
            if (last - i) % every:  # counted from today, so today is always labelled
                continue
            centre = plot.left() + (i + 0.5) * slot
            p.drawText(
                QRectF(centre - label_width / 2, plot.bottom() + 4, label_width, BOTTOM - 4),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                f"{bar.day:%b} {bar.day.day}",
            )

    def _draw_legend(self, p: QPainter, exact: QColor, estimated: QColor, text: QColor) -> None:
        metrics = QFontMetrics(self.font())
        x = self.width() - RIGHT
        estimated.setAlpha(ESTIMATED_ALPHA)
        for name, colour in (("estimated", estimated), ("exact", exact)):
            x -= metrics.horizontalAdvance(name)
            p.setPen(QPen(text))
            p.drawText(QRectF(x, 6, metrics.horizontalAdvance(name) + 2, 18), name)
            x -= 16
            p.fillRect(QRectF(x, 10, 10, 10), colour)
            x -= 14
        p.setPen(QPen(text))
        title = "Cost per day" if self.measure == "cost" else "Tokens per day"
        p.drawText(QRectF(LEFT, 6, x - LEFT, 18), title)

    # Hover

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.bar_at(event.position().x())
        if index != self.hovered:
            self.hovered = index
            self.update()
        if index is None:
            QToolTip.hideText()
            return
        QToolTip.showText(event.globalPosition().toPoint(), self.describe(index), self)

    def leaveEvent(self, event: QEvent) -> None:
        self.hovered = None
        self.update()
        super().leaveEvent(event)

    def describe(self, index: int) -> str:
        """The hovered day's figures, as its tooltip says them."""
        bar = self.bars[index]
        row = bar.row
        lines = [f"{bar.day:%a %d %b %Y}"]
        if not row.replies:
            return lines[0] + "\nno replies"
        lines.append(f"{row.replies:,} replies · {row.prompt_tokens:,} in · "
                     f"{row.completion_tokens:,} out")  # fmt: skip
        lines.append(f"exact {money(row.cost_exact)}")
        if row.estimated_replies:
            estimated = money(row.cost_estimated, estimated=True)
            lines.append(
                f"estimated {estimated} ({row.estimated_replies:,} replies "
                "without usage from the server)"
            )
        if row.unpriced_replies:
            lines.append(f"{row.unpriced_replies:,} replies with no known price")
        return "\n".join(lines)
