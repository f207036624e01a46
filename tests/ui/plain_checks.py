"""What a label or tooltip holding someone else's words shows: the words as they are, never
HTML, never a local image the words name.

`hostile(path)` is a title (a name, an error) that Qt would take for rich text: an `<img>` of a
small all-red PNG on disk and a `<b>`. A label or tooltip that drew it shows red pixels (the
reviewer's check) and loses the tags from its text."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage, QTextDocument
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QLabel

RED = QColor(255, 0, 0)


def red_png(folder: Path) -> Path:
    """A 40×40 all-red PNG in `folder`."""
    path = folder / "local-secret.png"
    image = QImage(40, 40, QImage.Format.Format_RGB32)
    image.fill(RED)
    assert image.save(str(path))
    return path


def hostile(path: Path) -> str:
    """Words Qt takes for HTML: drawn as such, they show the red image at `path` and a bold x."""
    return f'<img src="{path}"> and <b>x</b>'


def red_pixels(image: QImage) -> int:
    """How many of `image`'s pixels are the red of `red_png` (a drawn copy of it)."""
    return sum(
        1
        for y in range(image.height())
        for x in range(image.width())
        if (c := image.pixelColor(x, y)).red() > 200 and c.green() < 60 and c.blue() < 60
    )


def shown_text(text: str) -> str:
    """What a tooltip (or a label in Qt's automatic format) holding `text` reads: its text, or,
    when Qt takes it for rich text, what that HTML says."""
    if not GuiQt.mightBeRichText(text):  # Qt's own guess, as QLabel and QToolTip make it
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText()


def tooltip_red_pixels(tip: str) -> int:
    """Draw `tip` as QToolTip's label does (a QLabel in Qt's automatic format, wrapped when
    rich) and count the red pixels it draws."""
    label = QLabel()
    label.setWordWrap(GuiQt.mightBeRichText(tip))
    label.setText(tip)
    label.resize(label.sizeHint().expandedTo(QSize(48, 48)))
    try:
        return red_pixels(label.grab().toImage())
    finally:
        label.deleteLater()


def assert_plain_tooltip(tip: str, words: str) -> None:
    """`tip` reads `words` exactly and draws no image."""
    assert shown_text(tip) == words
    assert tooltip_red_pixels(tip) == 0


def assert_plain_label(label: QLabel, words: str | None = None) -> None:
    """`label` shows its text (`words`, when given) as it is: plain text, every tag spelled
    out, no image drawn at any size that would hold one."""
    assert label.textFormat() == Qt.TextFormat.PlainText
    if words is not None:
        assert label.text() == words
    hint = label.sizeHint()
    label.resize(max(label.width(), hint.width()), max(label.height(), hint.height(), 48))
    assert red_pixels(label.grab().toImage()) == 0
