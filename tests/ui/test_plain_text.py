"""Someone else's words in a label or tooltip are shown as they are: `plain_tooltip` escapes
them line by line, `make_plain` / `plain_label` keep a label from reading them as HTML. The
first test shows what happens without them: Qt draws a local image named in the text."""

from __future__ import annotations

from pathlib import Path

from plain_checks import (
    assert_plain_label,
    assert_plain_tooltip,
    hostile,
    red_pixels,
    red_png,
    shown_text,
    tooltip_red_pixels,
)
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from streamdesk.ui.plain_text import make_plain, plain_label, plain_tooltip


def test_without_them_qt_draws_the_local_image_a_title_names(qtbot: QtBot, tmp_path: Path) -> None:
    """The checks below can see the harm: a label and a tooltip in Qt's automatic format."""
    words = hostile(red_png(tmp_path))
    label = QLabel(words)
    qtbot.addWidget(label)
    label.resize(label.sizeHint())
    assert red_pixels(label.grab().toImage()) > 0
    assert shown_text(words) != words  # the tags are gone: read as HTML
    assert tooltip_red_pixels(words) > 0


def test_a_plain_tooltip_shows_the_words_as_they_are(qtbot: QtBot, tmp_path: Path) -> None:
    words = hostile(red_png(tmp_path))
    assert_plain_tooltip(plain_tooltip(words), words)
    assert_plain_tooltip(plain_tooltip("<b>x</b>"), "<b>x</b>")
    assert_plain_tooltip(plain_tooltip("a & b &lt; c"), "a & b &lt; c")
    assert_plain_tooltip(plain_tooltip("first\n<b>second</b>"), "first\n<b>second</b>")
    assert plain_tooltip("") == ""  # no empty tooltip box


def test_plain_labels_show_the_words_as_they_are(qtbot: QtBot, tmp_path: Path) -> None:
    words = hostile(red_png(tmp_path))
    made = make_plain(QLabel())
    qtbot.addWidget(made)
    made.setText(words)
    assert_plain_label(made, words)
    built = plain_label(words)
    qtbot.addWidget(built)
    assert_plain_label(built, words)
    bold = plain_label("<b>x</b>")
    qtbot.addWidget(bold)
    assert_plain_label(bold, "<b>x</b>")
