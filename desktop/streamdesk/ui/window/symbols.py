"""The window's symbols: Material Design Icons 6 as SVG files in the package, drawn in one colour.

Each symbol is one 24 x 24 path in `resources/icons/symbols/NAME.svg`, named as on
pictogrammers.com (callers write "mdi6.NAME", as icon fonts do). `SymbolEngine` renders it at
whatever size and device pixel ratio is asked for, so it stays sharp, and fills it with one
colour (another in the Disabled mode). Fifteen small files and QtSvg cost a few milliseconds;
an icon font library loads and hashes every font it ships first.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QIcon, QIconEngine, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

SYMBOL_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons" / "symbols"
PREFIX = "mdi6."
_parsed: dict[str, QSvgRenderer] = {}


def symbol_path(name: str) -> Path:
    """The SVG file of symbol `name` ("mdi6.arrow-up" or "arrow-up")."""
    return SYMBOL_DIR / f"{name.removeprefix(PREFIX)}.svg"


def symbol(name: str) -> QSvgRenderer:
    """Symbol `name`, parsed once; a missing file gives an invalid renderer (a null icon)."""
    found = _parsed.get(name)
    if found is None:
        path = symbol_path(name)
        found = QSvgRenderer(str(path)) if path.is_file() else QSvgRenderer()
        _parsed[name] = found
    return found


class SymbolEngine(QIconEngine):
    """One symbol in one colour (`disabled` in the Disabled mode), drawn at any size."""

    def __init__(self, renderer: QSvgRenderer, colour: QColor, disabled: QColor) -> None:
        super().__init__()
        self._renderer = renderer
        self._colour = colour
        self._disabled = disabled
        self._drawn: dict[tuple[int, int, float, QIcon.Mode], QPixmap] = {}

    def _draw(self, size: QSize, mode: QIcon.Mode, scale: float) -> QPixmap:
        key = (size.width(), size.height(), scale, mode)
        found = self._drawn.get(key)
        if found is not None:
            return found
        image = QImage(size * scale, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)  # transparent
        painter = QPainter(image)
        side = min(image.width(), image.height())  # square and centred, as a glyph in its box
        box = QRect((image.width() - side) // 2, (image.height() - side) // 2, side, side)
        self._renderer.render(painter, box)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        disabled = mode == QIcon.Mode.Disabled
        painter.fillRect(image.rect(), self._disabled if disabled else self._colour)
        painter.end()
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(scale)
        self._drawn[key] = pixmap
        return pixmap

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        device = painter.device()
        scale = device.devicePixelRatioF() if device is not None else 1.0
        painter.drawPixmap(rect, self._draw(rect.size(), mode, scale))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self._draw(size, mode, 1.0)

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        return self._draw(size, mode, scale)

    def isNull(self) -> bool:
        return not self._renderer.isValid()

    def clone(self) -> QIconEngine:
        return SymbolEngine(self._renderer, self._colour, self._disabled)
