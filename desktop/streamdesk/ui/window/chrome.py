"""The window chrome's style rules: header, sidebar, composer, welcome page and palette.

Set on the main window itself (the app sets none): they reach its child windows (compare,
settings) and follow the theme when the window applies it. The transcript draws its own colours.
"""

from __future__ import annotations

from PySide6.QtGui import QFont

from streamdesk.ui.theme import colors


def reading_column(font: QFont) -> int:
    """Width in px of the transcript's reading column for its body `font` (the transcript's
    own rule), so the welcome page and the prompt box line up with the text."""
    from streamdesk.ui.transcript.layout import column_width_for

    return column_width_for(font)


def _tint(hex_colour: str, alpha: float) -> str:
    """`hex_colour` at `alpha` opacity, as a style-sheet rgba()."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha:.2f})"


def chrome_style(dark: bool) -> str:
    c = colors(dark)
    accent, border, muted = c["highlight"], c["border"], c["muted"]
    soft = _tint(accent, 0.22 if dark else 0.12)
    hover = _tint(c["text"], 0.07)
    badge = c["badge"]
    return f"""
    QFrame#header {{ background: {c["window"]}; border-bottom: 1px solid {border}; }}
    QLabel#appTitle {{ font-weight: 700; font-size: 15px; }}
    QLabel#offlineBadge {{ color: {badge}; background: {_tint(badge, 0.14)};
        border: 1px solid {_tint(badge, 0.45)}; border-radius: 10px; padding: 2px 10px;
        font-weight: 600; }}
    QFrame#header QToolButton {{ padding: 3px 10px; border: 1px solid {border};
        border-radius: 5px; background: {c["button"]}; }}
    QFrame#header QToolButton:checked {{ background: {accent}; color: #ffffff;
        border-color: {accent}; }}
    QFrame#header QToolButton:disabled {{ color: {muted}; }}
    QFrame#header QToolButton#segment {{ padding: 3px 12px; border: 1px solid {border};
        background: {c["base"]}; color: {c["text"]}; margin: 0; }}
    QFrame#header QToolButton#segment[first="true"] {{ border-top-left-radius: 6px;
        border-bottom-left-radius: 6px; border-right: none; }}
    QFrame#header QToolButton#segment[last="true"] {{ border-top-right-radius: 6px;
        border-bottom-right-radius: 6px; }}
    QFrame#header QToolButton#segment:checked {{ background: {soft}; color: {accent};
        border-color: {_tint(accent, 0.6)}; font-weight: 600; }}
    QFrame#header QToolButton#segment:disabled {{ color: {muted}; }}
    QFrame#header QToolButton#headerTool {{ border: none; padding: 4px; border-radius: 6px; }}
    QFrame#header QToolButton#headerTool:hover {{ background: {hover}; }}
    QFrame#sidebar {{ background: {c["window"]}; border: none;
        border-right: 1px solid {border}; }}
    QFrame#sidebar QPushButton#newChat {{ text-align: left; padding: 6px 10px;
        border: 1px solid {border}; border-radius: 8px; background: {c["base"]}; }}
    QFrame#sidebar QPushButton#newChat:hover {{ background: {hover}; }}
    QFrame#sidebar QLineEdit {{ border: 1px solid {border}; border-radius: 8px;
        padding: 4px 8px; background: {c["base"]}; }}
    QListWidget#conversationList {{ background: transparent; border: none; outline: none; }}
    QListWidget#conversationList::item {{ padding: 5px 8px; border-radius: 6px;
        color: {c["text"]}; }}
    QListWidget#conversationList::item:hover {{ background: {hover}; }}
    QListWidget#conversationList::item:selected {{ background: {soft}; color: {c["text"]}; }}
    QListWidget#conversationList::item:disabled {{ color: {muted}; background: transparent;
        padding: 12px 8px 3px 8px; }}
    QFrame#composer {{ background: {c["base"]}; border: none; }}
    PromptBox {{ border: 1px solid {border}; border-radius: 12px; padding: 6px 8px;
        background: {c["base"]}; }}
    PromptBox:focus {{ border-color: {_tint(accent, 0.7)}; }}
    QFrame#editBar {{ background: {soft}; border-radius: 8px; }}
    QLabel#editLabel {{ color: {accent}; font-weight: 600; }}
    QToolButton#editCancel {{ border: none; background: transparent; color: {accent};
        padding: 0 2px; }}
    QToolButton#editCancel:hover, QToolButton#editCancel:focus {{
        text-decoration: underline; }}
    QToolButton#sendButton, QToolButton#stopButton {{ border: none; border-radius: 16px;
        background: {accent}; padding: 6px; }}
    QToolButton#sendButton:disabled {{ background: {border}; }}
    QToolButton#attachButton, QToolButton#toolsButton {{ border: none; border-radius: 6px;
        background: transparent; padding: 3px; }}
    QToolButton#attachButton:hover, QToolButton#toolsButton:hover {{ background: {hover}; }}
    QTableWidget#compareTable QHeaderView::section {{ background: {c["base"]};
        color: {muted}; border: none; border-bottom: 1px solid {border}; padding: 0 8px; }}
    QStatusBar {{ background: {c["window"]}; border-top: 1px solid {border}; }}
    QStatusBar QLabel {{ color: {muted}; padding: 0 6px; }}
    QScrollArea#welcome, QWidget#welcomePage {{ background: {c["base"]}; border: none; }}
    QLabel#welcomeTitle {{ font-size: 26px; font-weight: 600; }}
    QLabel#welcomeAbout {{ font-size: 15px; color: {muted}; }}
    QWidget#welcomeSource {{ background: {c["alt"]}; border: 1px solid {border};
        border-left: 3px solid {badge}; border-radius: 10px; }}
    QLabel#welcomeSourceTitle {{ font-weight: 600; font-size: 14px; color: {badge}; }}
    QLabel#welcomeSourceText {{ font-size: 13px; }}
    QLabel#welcomeKeys {{ font-size: 12px; color: {muted}; }}
    QLabel#welcomeSection {{ font-size: 13px; color: {muted}; font-weight: 600; }}
    QPushButton#promptCard {{ text-align: left; border: 1px solid {border};
        border-radius: 12px; background: {c["base"]}; }}
    QPushButton#promptCard:hover, QPushButton#promptCard:focus {{ border-color: {accent};
        background: {_tint(accent, 0.05)}; }}
    QLabel#cardTitle {{ font-weight: 600; font-size: 14px; }}
    QLabel#cardText {{ color: {muted}; font-size: 13px; }}
    QPushButton#welcomeLink {{ border: none; color: {accent}; font-weight: 600;
        padding: 4px 0; text-align: left; }}
    QPushButton#welcomeLink:hover {{ text-decoration: underline; }}
    QFrame#palette {{ background: {c["base"]}; border: 1px solid {border};
        border-radius: 12px; }}
    QFrame#palette QLineEdit {{ border: none; border-bottom: 1px solid {border};
        padding: 10px 12px; font-size: 15px; background: transparent; }}
    QFrame#palette QListWidget {{ border: none; background: transparent; outline: none; }}
    QFrame#palette QListWidget::item {{ padding: 6px 10px; border-radius: 6px; }}
    QFrame#palette QListWidget::item:selected {{ background: {soft}; color: {c["text"]}; }}
    QFrame#palette QScrollBar:vertical, QFrame#sidebar QScrollBar:vertical,
    QScrollArea#welcome QScrollBar:vertical {{ width: 8px;
        background: transparent; margin: 2px; border: none; }}
    QFrame#palette QScrollBar::handle:vertical, QFrame#sidebar QScrollBar::handle:vertical,
    QScrollArea#welcome QScrollBar::handle:vertical {{
        background: {_tint(c["text"], 0.25)}; border-radius: 3px; min-height: 24px; }}
    QFrame#palette QScrollBar::add-line, QFrame#palette QScrollBar::sub-line,
    QFrame#sidebar QScrollBar::add-line, QFrame#sidebar QScrollBar::sub-line,
    QScrollArea#welcome QScrollBar::add-line, QScrollArea#welcome QScrollBar::sub-line {{
        height: 0; }}
    QFrame#palette QScrollBar::add-page, QFrame#palette QScrollBar::sub-page,
    QFrame#sidebar QScrollBar::add-page, QFrame#sidebar QScrollBar::sub-page,
    QScrollArea#welcome QScrollBar::add-page, QScrollArea#welcome QScrollBar::sub-page {{
        background: transparent; }}
    """
