"""The prompt box: Enter sends, Shift+Enter breaks the line, Esc stops, Up recalls, it grows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from streamdesk.ui.window.prompt_box import PromptBox

SHIFT = Qt.KeyboardModifier.ShiftModifier


def _box(qtbot: QtBot) -> PromptBox:
    box = PromptBox()
    qtbot.addWidget(box)
    box.show()
    box.setFocus()
    return box


def test_enter_sends_the_text_and_clears_the_box(qtbot: QtBot) -> None:
    box = _box(qtbot)
    qtbot.keyClicks(box, "hello there")
    with qtbot.waitSignal(box.submitted) as sent:
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert sent.args == ["hello there"]
    assert box.toPlainText() == ""


def test_shift_enter_adds_a_line_instead_of_sending(qtbot: QtBot) -> None:
    box = _box(qtbot)
    sent: list[str] = []
    box.submitted.connect(sent.append)
    qtbot.keyClicks(box, "one")
    qtbot.keyClick(box, Qt.Key.Key_Return, SHIFT)
    qtbot.keyClicks(box, "two")
    assert box.toPlainText() == "one\ntwo" and sent == []
    qtbot.keyClick(box, Qt.Key.Key_Enter)  # keypad Enter sends too
    assert sent == ["one\ntwo"]


def test_enter_on_an_empty_box_sends_nothing(qtbot: QtBot) -> None:
    box = _box(qtbot)
    sent: list[str] = []
    box.submitted.connect(sent.append)
    qtbot.keyClicks(box, "   ")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert sent == []


def test_enter_while_a_reply_streams_keeps_the_text(qtbot: QtBot) -> None:
    box = _box(qtbot)
    box.can_submit = lambda: False
    sent: list[str] = []
    box.submitted.connect(sent.append)
    qtbot.keyClicks(box, "next question")
    with qtbot.waitSignal(box.blocked):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert sent == [] and box.toPlainText() == "next question"


def test_escape_asks_to_stop(qtbot: QtBot) -> None:
    box = _box(qtbot)
    with qtbot.waitSignal(box.stopRequested):
        qtbot.keyClick(box, Qt.Key.Key_Escape)


def test_up_in_an_empty_box_recalls_the_last_prompts(qtbot: QtBot) -> None:
    box = _box(qtbot)
    for prompt in ("first", "second"):
        qtbot.keyClicks(box, prompt)
        qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert box.toPlainText() == "second"
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert box.toPlainText() == "first"
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert box.toPlainText() == "second"
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert box.toPlainText() == ""


def test_up_in_a_box_with_text_moves_the_cursor_and_recalls_nothing(qtbot: QtBot) -> None:
    box = _box(qtbot)
    qtbot.keyClicks(box, "sent")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.keyClicks(box, "draft")
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert box.toPlainText() == "draft"


def test_the_box_grows_with_its_content_up_to_a_maximum(qtbot: QtBot) -> None:
    box = _box(qtbot)
    small = box.height()
    box.setPlainText("\n".join(["line"] * 5))
    grown = box.height()
    box.setPlainText("\n".join(["line"] * 100))
    capped = box.height()
    assert small < grown < capped
    box.setPlainText("\n".join(["line"] * 200))
    assert box.height() == capped
