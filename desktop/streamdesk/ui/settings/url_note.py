"""The note under a URL field of the Providers form, and the helpers the form's other notes
share: the theme's error colour, and wrapped text that keeps its height in the dialog."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from streamdesk.core.provider_urls import UrlAdvice
from streamdesk.ui.plain_text import plain_label
from streamdesk.ui.theme import colors

URL_NOTE_WIDTH = 440  # the narrowest a note under a field is laid out (the dialog's least)


def error_color(widget: QWidget) -> str:
    """The theme's colour for a problem, as `widget`'s palette is light or dark."""
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return colors(dark)["error"]


def hold_lines(label: QLabel, width: int) -> None:
    """Keep the height of a wrapped label's lines at `width`: the dialog's layout does not ask
    wrapped text for its height, and would squeeze the rows around it instead."""
    label.setMinimumHeight(0)  # heightForWidth would answer at least the height held before
    label.setMinimumHeight(label.heightForWidth(width) if label.text() else 0)


class UrlNote(QWidget):
    """The lines under a URL field as it is typed: what stops the URL from working (in the
    theme's error colour, the field outlined), else where its requests go; and a button that
    puts in the URL it most likely means."""

    def __init__(
        self, edit: QLineEdit, advise: Callable[[str], UrlAdvice], parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.edit = edit
        self.advise = advise
        self.problem: str | None = None
        self.fix = ""
        self.text = plain_label("", self)  # quotes what was typed
        self.text.setWordWrap(True)
        self.fix_button = QPushButton("Use suggested URL", self)
        self.fix_button.clicked.connect(self.apply_fix)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.text, 1)
        row.addWidget(self.fix_button, 0, Qt.AlignmentFlag.AlignTop)
        edit.textChanged.connect(self.refresh)
        self.hide()  # until there is something to say

    def refresh(self) -> None:
        advice = self.advise(self.edit.text())
        self.problem = advice.problem
        self.fix = advice.fix or ""
        words = f"Cannot be used: {advice.problem}." if advice.problem else advice.hint
        if self.fix:
            words += f"{'' if advice.problem else '.'} Suggested: {self.fix}"
        self.fix_button.setVisible(bool(self.fix))
        self.show_words(words, error=advice.problem is not None)

    def show_words(self, words: str, *, error: bool) -> None:
        """`words` under the field; an `error` in the theme's error colour, the field outlined."""
        self.text.setText(words)
        if error:
            red = error_color(self)
            self.text.setForegroundRole(QPalette.ColorRole.WindowText)  # the sheet's colour
            self.text.setStyleSheet(f"color: {red};")
            self.edit.setStyleSheet(f"QLineEdit {{ border: 1px solid {red}; }}")
        else:
            self.text.setStyleSheet("")
            self.text.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # quiet
            self.edit.setStyleSheet("")
        self._hold_lines(max(self.edit.width(), URL_NOTE_WIDTH))
        self.setVisible(bool(words))

    def _hold_lines(self, width: int) -> None:
        """The text's lines at `width` for the note, the button's beside them."""
        button = self.fix_button.sizeHint().width() + 6 if self.fix else 0
        hold_lines(self.text, width - button)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._hold_lines(event.size().width())

    def apply_fix(self) -> None:
        if self.fix:
            self.edit.setText(self.fix)
            self.edit.setFocus()
