"""Light and dark themes: follow the system colour scheme unless the user overrides it.

Fusion plus an explicit palette looks the same on every desktop and under Xvfb, where the
platform theme would otherwise give a washed-out default. The transcript draws its own colours
and is told the mode through `TranscriptView.set_dark`.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEME_CHOICES = ("system", "light", "dark")

# One accent ("highlight"); text in three greys (text, muted, faint). The transcript's own
# colours (page, prompt block, code, failure stripes) are here too, so a theme switch repaints
# every surface from one table.
_LIGHT = {
    "window": "#f6f7f9",
    "base": "#ffffff",
    "alt": "#eef0f3",
    "text": "#1f2328",
    "muted": "#656d76",
    "faint": "#8c959f",
    "button": "#eceef2",
    "highlight": "#2f6fde",
    "border": "#d5d9e0",
    "badge": "#c2410c",
    "page": "#ffffff",
    "prompt": "#f0f3f8",
    "code_bg": "#f6f8fa",
    "code_border": "#e3e7ec",
    "inline_code_bg": "#eff1f3",
    "error": "#cf222e",
    "warning": "#bf8700",
    "failure_bg": "#fbf6f6",
}
_DARK = {
    "window": "#27292d",
    "base": "#1e1f22",
    "alt": "#2b2d31",
    "text": "#e6e6e6",
    "muted": "#a0a4ab",
    "faint": "#7d828a",
    "button": "#33363b",
    "highlight": "#4c8dff",
    "border": "#3a3d43",
    "badge": "#f59e0b",
    "page": "#1e1f22",
    "prompt": "#2b2e35",
    "code_bg": "#161b22",
    "code_border": "#30363d",
    "inline_code_bg": "#2d3139",
    "error": "#f85149",
    "warning": "#d29922",
    "failure_bg": "#262326",
}


def system_is_dark(*, quick: bool = False) -> bool:
    """What the desktop asks for (Qt ≥ 6.5 reports it through QStyleHints). `quick` guesses
    from the platform palette instead: reading the scheme builds Qt's Python enum namespace,
    too slow before the first paint; the window checks again after it."""
    if quick:
        window = QGuiApplication.palette().color(QPalette.ColorRole.Window)
        return window.lightness() < 128
    from PySide6.QtCore import Qt

    hints = QGuiApplication.styleHints()
    return bool(hints.colorScheme() == Qt.ColorScheme.Dark)


def resolve_dark(choice: str, *, quick: bool = False) -> bool:
    """`choice` is a settings value: "system", "light" or "dark"."""
    if choice == "dark":
        return True
    if choice == "light":
        return False
    return system_is_dark(quick=quick)


def colors(dark: bool) -> dict[str, str]:
    return dict(_DARK if dark else _LIGHT)


def apply_theme(app: QApplication, dark: bool) -> None:
    """Set the Fusion style and a full palette. The style rules are the main window's own
    (window/chrome.py): an application-wide sheet would repolish every widget on each switch,
    the window's tree a second time."""
    c = _DARK if dark else _LIGHT
    if not app.property("streamdeskFusion"):  # ui/app.py make_app starts Qt with Fusion
        app.setStyle("Fusion")
    pal = QPalette()
    role = QPalette.ColorRole
    for r, key in (
        (role.Window, "window"),
        (role.Base, "base"),
        (role.AlternateBase, "alt"),
        (role.Text, "text"),
        (role.WindowText, "text"),
        (role.ButtonText, "text"),
        (role.ToolTipText, "text"),
        (role.ToolTipBase, "alt"),
        (role.Button, "button"),
        (role.Highlight, "highlight"),
        (role.Link, "highlight"),
        (role.PlaceholderText, "muted"),
        (role.Mid, "border"),
    ):
        pal.setColor(r, QColor(c[key]))
    pal.setColor(role.HighlightedText, QColor("#ffffff"))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.Text, role.WindowText, role.ButtonText):
        pal.setColor(disabled, r, QColor(c["muted"]))
    app.setPalette(pal)
    # A combo box draws its arrow on the Button colour: on the field's colour instead, an
    # editable one's arrow no longer sits in a lighter square (dark) or grey box (light).
    combo = QPalette(pal)
    combo.setColor(role.Button, QColor(c["base"]))
    app.setPalette(combo, "QComboBox")  # type: ignore[arg-type]  # stubs say bytes; Qt wants str
