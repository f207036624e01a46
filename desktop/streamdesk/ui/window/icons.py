"""The window's one icon set: Material Design Icons through qtawesome, tinted for the theme.

qtawesome draws glyphs from a font, so the icons are sharp at any device pixel ratio. An icon is
painted in one colour, so a theme switch has to set it again: `bind` remembers where each icon
went and `set_dark` repaints them all.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QIcon

from streamdesk.ui.theme import colors

ROLES = {"text": "muted", "accent": "highlight", "strong": "text", "on-accent": ""}
_state = {"dark": False}
_bound: list[tuple[Callable[[QIcon], object], str, str]] = []


def icon(name: str, *, role: str = "text") -> QIcon:
    """The icon `name` ("mdi6.send") in the colour of `role` for the current theme."""
    import qtawesome  # type: ignore[import-untyped]  # no stubs

    palette = colors(_state["dark"])
    key = ROLES[role]
    colour = palette[key] if key else "#ffffff"
    made: QIcon = qtawesome.icon(name, color=colour, color_disabled=palette["border"])
    return made


def bind(setter: Callable[[QIcon], object], name: str, *, role: str = "text") -> None:
    """Call `setter` with the icon now and again after every theme switch."""
    setter(icon(name, role=role))
    _bound.append((setter, name, role))


def set_dark(dark: bool) -> None:
    """Repaint every bound icon for the theme; icons of deleted widgets are forgotten."""
    if _state["dark"] == dark:
        return
    _state["dark"] = dark  # nothing drawn yet: no qtawesome import
    alive = []
    for setter, name, role in _bound:
        try:
            setter(icon(name, role=role))
        except RuntimeError:  # the widget is gone
            continue
        alive.append((setter, name, role))
    _bound[:] = alive
