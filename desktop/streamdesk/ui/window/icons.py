"""The window's one icon set: Material Design Icons 6 from SVG files in the package, tinted for
the theme.

An icon is one symbol (ui/window/symbols.py) painted in one colour, so a theme switch has to
set it again: `bind` remembers where each icon went and `set_dark` repaints them all. This
module imports only QtGui's QIcon: the first frame imports it, the icons come after.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QColor, QIcon

from streamdesk.ui.theme import colors

ROLES = {"text": "muted", "accent": "highlight", "strong": "text", "on-accent": ""}
_state = {"dark": False}
_bound: list[tuple[Callable[[QIcon], object], str, str]] = []


def icon(name: str, *, role: str = "text") -> QIcon:
    """The icon `name` ("mdi6.arrow-up") in the colour of `role` for the current theme."""
    from streamdesk.ui.window.symbols import SymbolEngine, symbol

    palette = colors(_state["dark"])
    key = ROLES[role]
    colour = QColor(palette[key] if key else "#ffffff")
    return QIcon(SymbolEngine(symbol(name), colour, QColor(palette["border"])))


def bind(setter: Callable[[QIcon], object], name: str, *, role: str = "text") -> None:
    """Call `setter` with the icon now and again after every theme switch."""
    setter(icon(name, role=role))
    _bound.append((setter, name, role))


def set_dark(dark: bool) -> None:
    """Repaint every bound icon for the theme; icons of deleted widgets are forgotten."""
    if _state["dark"] == dark:
        return
    _state["dark"] = dark
    alive = []
    for setter, name, role in _bound:
        try:
            setter(icon(name, role=role))
        except RuntimeError:  # the widget is gone
            continue
        alive.append((setter, name, role))
    _bound[:] = alive
