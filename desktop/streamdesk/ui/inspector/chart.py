"""The per-reply chart: the gap between tokens over time, and a histogram of the gaps.

pyqtgraph is imported here only, and this module only when the inspector opens, so start-up
does not pay for it. Without pyqtgraph a small QPainter plot draws the same two views.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from streamdesk.core.netstats import gaps_ms, histogram
from streamdesk.core.trace import StreamTrace

BINS = 40
LINE = "#3b82f6"


def make_chart(parent: QWidget | None = None) -> GapChart:
    try:
        import pyqtgraph  # noqa: F401
    except ImportError:
        return PainterChart(parent)
    return PyqtgraphChart(parent)


class GapChart(QWidget):
    """Shows one trace; `refresh()` redraws only when tokens arrived since the last call."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trace: StreamTrace | None = None
        self._drawn = -1

    def set_trace(self, trace: StreamTrace | None) -> None:
        self.trace = trace
        self._drawn = -1
        self.refresh()

    def refresh(self) -> None:
        n = len(self.trace.token_times) if self.trace is not None else 0
        if n == self._drawn:
            return
        self._drawn = n
        self.redraw()

    def series(self) -> tuple[list[float], list[float]]:
        """x: seconds since the first token; y: the gap (ms) that ended at that token."""
        trace = self.trace
        if trace is None or len(trace.token_times) < 2:
            return [], []
        times = trace.token_times
        t0 = times[0]
        return [t - t0 for t in times[1:]], gaps_ms(trace)

    def redraw(self) -> None:
        self.update()


class PyqtgraphChart(GapChart):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg
        from PySide6.QtWidgets import QHBoxLayout

        pg.setConfigOptions(antialias=True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setBackground(None)
        layout.addWidget(self.view)
        self.gap_plot = self.view.addPlot(title="Gap between tokens")
        self.gap_plot.setLabel("bottom", "time since first token", units="s")
        self.gap_plot.setLabel("left", "gap", units="ms")
        self.gap_plot.setClipToView(True)
        self.gap_plot.setDownsampling(auto=True, mode="peak")
        self.gap_curve = self.gap_plot.plot(
            pen=pg.mkPen(LINE, width=1), symbol="o", symbolSize=3, symbolBrush=LINE
        )
        self.hist_plot = self.view.addPlot(title="Gap histogram")
        self.hist_plot.setLabel("bottom", "gap", units="ms")
        self.hist_plot.setLabel("left", "tokens")
        self.hist_curve = self.hist_plot.plot(
            stepMode="center", fillLevel=0, brush=(59, 130, 246, 120), pen=pg.mkPen(LINE)
        )
        self.view.ci.layout.setColumnStretchFactor(0, 3)
        self.view.ci.layout.setColumnStretchFactor(1, 2)

    def redraw(self) -> None:
        xs, ys = self.series()
        self.gap_curve.setData(xs, ys)
        edges, counts = histogram(ys, BINS)
        if counts:
            self.hist_curve.setData(edges, counts)
        else:
            self.hist_curve.setData([], [])


class PainterChart(GapChart):
    """Fallback without pyqtgraph: the same two views, drawn with QPainter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(120)

    def paintEvent(self, event: QPaintEvent) -> None:
        xs, ys = self.series()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        left = QRectF(30, 10, w * 0.6 - 40, h - 30)
        right = QRectF(w * 0.6 + 10, 10, w * 0.4 - 20, h - 30)
        p.setPen(QPen(self.palette().text().color()))
        for r in (left, right):
            p.drawRect(r)
        if not ys:
            p.drawText(left, Qt.AlignmentFlag.AlignCenter, "no tokens yet")
            p.end()
            return
        xmax, ymax = max(xs) or 1.0, max(ys) or 1.0
        points = [
            QPointF(left.left() + x / xmax * left.width(), left.bottom() - y / ymax * left.height())
            for x, y in zip(xs, ys, strict=True)
        ]
        p.setPen(QPen(QColor(LINE), 1))
        p.drawPolyline(QPolygonF(points))
        _, counts = histogram(ys, BINS)
        top = max(counts) or 1
        bar = right.width() / len(counts)
        for i, c in enumerate(counts):
            height = c / top * right.height()
            p.fillRect(
                QRectF(right.left() + i * bar, right.bottom() - height, bar - 1, height),
                QColor(LINE),
            )
        p.setPen(QPen(self.palette().text().color()))
        p.drawText(4, 20, f"{ymax:.0f} ms")
        p.end()


def chart_kind(chart: GapChart) -> str:
    return "pyqtgraph" if isinstance(chart, PyqtgraphChart) else "painter"
