"""Words that are not ours, shown as they are in labels and tooltips.

Qt draws a QLabel's text, and every tooltip, as HTML when `Qt.mightBeRichText` guesses so (a
known tag in the first line). Conversation titles, a server's error page, model, file, tool and
assistant names come from prompts, servers and imported files: `<img src="/home/me/x.png">`
among them would be drawn as a picture, and Qt loads the local image file it names. Every label
that shows such text is made plain with `make_plain` (or built with `plain_label`), and every
tooltip that holds it goes through `plain_tooltip`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

# Qt.TextFormat.PlainText as a number: reaching QtCore.Qt builds every Qt enum's Python type,
# and some of these labels are made before the window's first paint.
_PLAIN_TEXT = 0


def plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` as it is, line by line: escaped inside `<qt>`, so Qt takes
    it for rich text whose only markup is ours ("" stays "": no empty tooltip)."""
    if not text:
        return ""
    import html  # not before the first frame: no tooltip is shown then

    return (
        "<qt>" + "<br>".join(html.escape(line, quote=False) for line in text.splitlines()) + "</qt>"
    )


def make_plain(label: QLabel) -> QLabel:
    """`label` shows its text as it is, never as HTML; returned for building in one line."""
    label.setProperty("textFormat", _PLAIN_TEXT)
    return label


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A QLabel showing `text` as it is."""
    label = make_plain(QLabel(parent))
    label.setText(text)
    return label
