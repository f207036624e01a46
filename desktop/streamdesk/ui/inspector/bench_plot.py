"""The `bench` comparison as a PNG, drawn with QPainter into a QImage.

No window and no pyqtgraph scene: it works headless (`QT_QPA_PLATFORM=offscreen` is set when
no display is there) and the picture is the same on every platform. Four bar panels (TTFT,
gaps, bytes per token, framing overhead) and the distribution of gaps between tokens.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from streamdesk.core.netstats import Summary

if TYPE_CHECKING:  # Qt loads when a plot is drawn, not when `bench` starts
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter

COLORS = {"sse": "#2563eb", "ws": "#ea580c"}
NAMES = {"sse": "SSE", "ws": "WebSocket"}
W, H = 1200, 760


def _app() -> object:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication([])


def save_plot(
    path: str | Path,
    summaries: Mapping[str, Summary],
    gaps: Mapping[str, Sequence[float]],
    *,
    title: str = "",
) -> None:
    _app()
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QImageWriter, QPainter

    image = QImage(W, H, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(20)
    font.setBold(True)
    p.setFont(font)
    p.drawText(
        QRectF(0, 8, W, 32),
        Qt.AlignmentFlag.AlignCenter,
        f"SSE vs WebSocket — {title}" if title else "SSE vs WebSocket",
    )
    font.setPixelSize(13)
    font.setBold(False)
    p.setFont(font)
    protos = list(summaries)
    panels = (
        ("TTFT (ms)", [("p50", "ttft_p50_ms"), ("p95", "ttft_p95_ms")], 1.0),
        ("Gap between tokens (ms)", [("p50", "gap_p50_ms"), ("p99", "gap_p99_ms")], 1.0),
        ("Bytes per token", [("", "bytes_per_token")], 1.0),
        ("Framing overhead (%)", [("", "overhead")], 100.0),
    )
    pw, ph = (W - 50) / 4, 300
    for i, (name, metrics, scale) in enumerate(panels):
        rect = QRectF(20 + i * (pw + 3), 60, pw - 10, ph)
        _bars(p, rect, name, protos, summaries, metrics, scale)
    _cdf(p, QRectF(60, 410, W - 300, H - 470), gaps)
    # legend
    y = 430
    for proto in protos:
        s = summaries[proto]
        p.fillRect(QRectF(W - 220, y, 14, 14), QColor(COLORS.get(proto, "#666")))
        p.setPen(QColor("black"))
        p.drawText(int(W - 200), int(y + 12), f"{NAMES.get(proto, proto)}: {s.runs} runs")
        p.drawText(int(W - 200), int(y + 30), f"{s.failures} failed, {s.tokens} tokens")
        y += 56
    p.end()
    writer = QImageWriter(str(path), b"PNG")  # PNG whatever the file name ends with
    if not writer.write(image):
        raise OSError(f"could not write {path}: {writer.errorString()}")


def _bars(
    p: QPainter,
    rect: QRectF,
    name: str,
    protos: list[str],
    summaries: Mapping[str, Summary],
    metrics: list[tuple[str, str]],
    scale: float,
) -> None:
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor

    p.setPen(QColor("black"))
    p.drawText(
        QRectF(rect.left(), rect.top(), rect.width(), 20), Qt.AlignmentFlag.AlignCenter, name
    )
    plot = QRectF(rect.left() + 10, rect.top() + 40, rect.width() - 20, rect.height() - 80)
    values = [
        [(getattr(summaries[pr], attr) or 0.0) * scale for pr in protos] for _, attr in metrics
    ]
    top = max((v for group in values for v in group), default=0.0) or 1.0
    p.setPen(QColor("#999"))
    p.drawLine(plot.bottomLeft(), plot.bottomRight())
    groups = len(metrics)
    gw = plot.width() / groups
    bw = gw * 0.8 / max(1, len(protos))
    for g, (label, _) in enumerate(metrics):
        for j, proto in enumerate(protos):
            v = values[g][j]
            h = v / top * (plot.height() - 20)
            x = plot.left() + g * gw + gw * 0.1 + j * bw
            bar = QRectF(x, plot.bottom() - h, bw - 4, h)
            p.fillRect(bar, QColor(COLORS.get(proto, "#666")))
            p.setPen(QColor("black"))
            text = f"{v:.1f}" if v < 1000 else f"{v:.0f}"
            p.drawText(
                QRectF(x - 10, bar.top() - 18, bw + 16, 16), Qt.AlignmentFlag.AlignCenter, text
            )
        if label:
            p.drawText(
                QRectF(plot.left() + g * gw, plot.bottom() + 4, gw, 18),
                Qt.AlignmentFlag.AlignCenter,
                label,
            )


def _cdf(p: QPainter, rect: QRectF, gaps: Mapping[str, Sequence[float]]) -> None:
    """Share of gaps at or below x ms, per protocol (x up to the pooled p99)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QPen, QPolygonF

    from streamdesk.core.netstats import percentile

    p.setPen(QColor("black"))
    p.drawText(
        QRectF(rect.left(), rect.top() - 28, rect.width(), 20),
        Qt.AlignmentFlag.AlignCenter,
        "Gap between tokens: cumulative share (x: ms, up to the p99)",
    )
    p.setPen(QColor("#999"))
    p.drawRect(rect)
    pooled = [g for values in gaps.values() for g in values]
    xmax = (percentile(pooled, 99) or 1.0) * 1.05 or 1.0
    for frac in (0.0, 0.5, 1.0):
        y = rect.bottom() - frac * rect.height()
        p.drawText(
            QRectF(rect.left() - 50, y - 8, 45, 16), Qt.AlignmentFlag.AlignRight, f"{frac:.0%}"
        )
    for k in range(5):
        x = rect.left() + k / 4 * rect.width()
        p.drawText(
            QRectF(x - 40, rect.bottom() + 4, 80, 16),
            Qt.AlignmentFlag.AlignCenter,
            f"{xmax * k / 4:.1f}",
        )
    for proto, values in gaps.items():
        ordered = sorted(values)
        if not ordered:
            continue
        step = max(1, len(ordered) // 800)
        n = len(ordered)
        pts = [
            QPointF(
                rect.left() + min(v, xmax) / xmax * rect.width(),
                rect.bottom() - (i + 1) / n * rect.height(),
            )
            for i, v in list(enumerate(ordered))[::step]
        ]
        p.setPen(QPen(QColor(COLORS.get(proto, "#666")), 2))
        p.drawPolyline(QPolygonF(pts))
