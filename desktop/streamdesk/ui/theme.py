"""Light and dark themes: follow the system colour scheme unless the user overrides it.

Fusion plus an explicit palette looks the same on every desktop and under Xvfb, where the
platform theme would otherwise give a washed-out default. The transcript draws its own colours
and is told the mode through `TranscriptView.set_dark`.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEME_CHOICES = ("system", "light", "dark")

_LIGHT = {
    "window": "#f6f7f9",
    "base": "#ffffff",
    "alt": "#eef0f3",
    "text": "#1d2026",
    "muted": "#6a7180",
    "button": "#eceef2",
    "highlight": "#2f6fde",
    "border": "#d5d9e0",
    "badge": "#c2410c",
}
_DARK = {
    "window": "#1e2127",
    "base": "#16181d",
    "alt": "#262a31",
    "text": "#e4e6eb",
    "muted": "#9aa1ad",
    "button": "#2b3038",
    "highlight": "#4c8dff",
    "border": "#363b44",
    "badge": "#f59e0b",
}


def system_is_dark(*, quick: bool = False) -> bool:
    """What the desktop asks for (Qt ≥ 6.5 reports it through QStyleHints). `quick` guesses
    from the platform palette instead: reading the scheme builds Qt's Python enum namespace
    (~45 ms), too slow before the first paint; the window checks again after it."""
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
    """Set the Fusion style, a full palette and the few style rules the window's widgets use."""
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
    app.setStyleSheet(
        f"""
        QFrame#header {{ background: {c["alt"]}; border-bottom: 1px solid {c["border"]}; }}
        QLabel#offlineBadge {{ color: #ffffff; background: {c["badge"]}; border-radius: 9px;
                               padding: 2px 9px; font-weight: 600; }}
        QLabel#appTitle {{ font-weight: 700; font-size: 15px; }}
        QFrame#sidebar {{ background: {c["alt"]}; border-right: 1px solid {c["border"]}; }}
        QListWidget#conversationList {{ background: transparent; border: none; }}
        QListWidget#conversationList::item {{ padding: 6px 8px; border-radius: 6px; }}
        QListWidget#conversationList::item:selected {{ background: {c["highlight"]};
                                                       color: #ffffff; }}
        QFrame#header QToolButton {{ padding: 3px 10px; border: 1px solid {c["border"]};
                                     border-radius: 5px; background: {c["button"]}; }}
        QFrame#header QToolButton:checked {{ background: {c["highlight"]}; color: #ffffff;
                                             border-color: {c["highlight"]}; }}
        QFrame#header QToolButton:disabled {{ color: {c["muted"]}; }}
        QFrame#composer {{ border-top: 1px solid {c["border"]}; }}
        PromptBox {{ border: 1px solid {c["border"]}; border-radius: 8px; padding: 4px 6px;
                     background: {c["base"]}; }}
        QPushButton#sendButton {{ background: {c["highlight"]}; color: #ffffff; border: none;
                                  border-radius: 6px; padding: 6px 16px; font-weight: 600; }}
        QPushButton#sendButton:disabled {{ background: {c["border"]}; color: {c["muted"]}; }}
        QStatusBar QLabel {{ color: {c["muted"]}; padding: 0 6px; }}
        """
    )
