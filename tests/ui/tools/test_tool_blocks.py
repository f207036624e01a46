"""Tool-call blocks in the transcript: live while a call streams, settled in place, text after
them, opened and closed by their Details link, and every tool or model string shown as plain
text (no HTML, no Markdown, no links of its own)."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from streamdesk.core.events import ToolCall, ToolCallDelta, ToolResult
from streamdesk.ui.tools.blocks import SHOWN_CHARS
from streamdesk.ui.tools.state import RUNNING, RoundState
from streamdesk.ui.transcript.view import TranscriptView


def anchors(view: TranscriptView) -> list[str]:
    """Every link target in the document."""
    found: list[str] = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isAnchor():
                found.append(fmt.anchorHref())
            it += 1
        block = block.next()
    return found


def test_a_call_streams_live_then_settles_between_the_texts(qtbot: QtBot) -> None:
    view = TranscriptView()
    qtbot.addWidget(view)
    reply = view.begin_assistant(1)
    reply.append_text("Let me add them.")
    found = reply.tool_round()
    found.apply_delta(ToolCallDelta(0, "call_1", "add", '{"a": 2'))
    reply.tools_changed()
    reply.draw_tools_now()
    shown = view.toPlainText()
    assert "Let me add them." in shown and "Writing the call…" in shown and '{"a": 2' in shown
    assert shown.index("Let me add them.") < shown.index("add", shown.index("them.") + 1)
    found.apply_delta(ToolCallDelta(0, arguments=', "b": 3}'))
    call = found.apply_call(ToolCall(0, "call_1", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}'))
    call.server, call.state = "notes", RUNNING
    reply.draw_tools_now()
    assert "Running…" in view.toPlainText() and '"b": 3' in view.toPlainText()
    found.apply_result(ToolResult("call_1", "add", "notes", "5", "ok", 0.012))
    reply.tools_changed()
    reply.append_text("The sum is 5.")
    reply.finish("complete")
    shown = view.toPlainText()
    assert "Done · 12 ms" in shown and "→  5" in shown
    assert shown.index("→  5") < shown.index("The sum is 5.")
    assert reply.text == "Let me add them.The sum is 5."


def test_details_open_and_close_in_place(qtbot: QtBot) -> None:
    view = TranscriptView()
    qtbot.addWidget(view)
    found = RoundState(6)
    call = found.apply_call(ToolCall(0, "c1", "read_note", {"name": "motto"}, ""))
    found.apply_result(ToolResult("c1", "read_note", "notes", "streams never lie", "ok", 0.2))
    view.add_assistant_message("Hello world", key=1, tool_rounds=[found])
    view.add_user_message("and after", ("user", 2))
    [link] = [a for a in anchors(view) if "tool-toggle" in a]
    view.anchorClicked.emit(view.document().baseUrl().resolved(link))  # a click
    shown = view.toPlainText()
    assert call.expanded and "Arguments" in shown and "Result" in shown
    assert '"name": "motto"' in shown and "Hide details" in shown
    assert shown.index("Hello") < shown.index("Arguments") < shown.index("world")
    assert shown.rstrip().endswith("and after")
    view.anchorClicked.emit(view.document().baseUrl().resolved(link))
    assert not call.expanded and "Arguments" not in view.toPlainText()


def test_tool_and_model_text_is_shown_as_plain_text(qtbot: QtBot) -> None:
    view = TranscriptView()
    qtbot.addWidget(view)
    hostile = '<b>bold</b> <img src="file:///etc/passwd"> [x](javascript:alert(1)) **strong**'
    found = RoundState(0)
    call = found.apply_call(ToolCall(0, "c1", "<i>tool</i>", {"q": hostile}, ""))
    found.apply_result(ToolResult("c1", "<i>tool</i>", "<u>srv</u>", hostile + "x" * 9000, "ok"))
    call.expanded = True
    view.add_assistant_message("", key=1, tool_rounds=[found])
    shown = view.toPlainText()
    assert "<b>bold</b>" in shown and "<i>tool</i>" in shown and "<u>srv</u>" in shown
    assert "**strong**" in shown and "[x](javascript:alert(1))" in shown
    assert f"… {len(hostile) + 9000 - SHOWN_CHARS} more characters" in shown
    assert all(a.startswith("sd-action:") for a in anchors(view))
    assert view.document().refused == []  # nothing was loaded
    cursor = QTextCursor(view.document())
    cursor.movePosition(QTextCursor.MoveOperation.End)
    assert not cursor.charFormat().isImageFormat()


def test_a_theme_switch_draws_the_calls_again(qtbot: QtBot) -> None:
    view = TranscriptView()
    qtbot.addWidget(view)
    reply = view.begin_assistant(1)
    reply.append_text("Checking.")
    found = reply.tool_round()
    found.apply_call(ToolCall(0, "c1", "add", {"a": 1, "b": 2}, ""))
    found.apply_result(ToolResult("c1", "add", "notes", "3", "ok", 0.01))
    reply.tools_changed()
    reply.append_text(" It is 3.")
    live = view.begin_assistant(2)  # a second reply, still streaming, waiting on a call
    live.tool_round().apply_call(ToolCall(0, "c2", "read_note", {"name": "motto"}, ""))
    live.tools_changed()
    reply.finish("complete")
    view.set_dark(True)
    shown = view.toPlainText()
    assert shown.index("Checking.") < shown.index("→  3") < shown.index("It is 3.")
    assert "read_note" in shown and "Asked for" in shown
