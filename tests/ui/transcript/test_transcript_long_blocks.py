"""A table or a list longer than the splitter's largest block (`BlockSplitter.max_block`) is one
table, one list numbered straight through, while it streams, once finished and when the chat
is opened again: the document a one-shot render of the reply draws."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextCursor, QTextTable
from pytestqt.qtbot import QtBot
from test_transcript import content_lines, list_items, make_view, raw_rows, table_cells, whole

from streamdesk.core.markdown_blocks import BlockSplitter
from streamdesk.ui.transcript.layout import chrome_kind
from streamdesk.ui.transcript.view import ReplyView, TranscriptView

ROWS = 400
ITEMS = 600


def markdown_tables(view: TranscriptView) -> list[QTextTable]:
    found = []
    for frame in view.document().rootFrame().childFrames():
        table = QTextCursor(frame.firstCursorPosition()).currentTable()
        if table is not None and not chrome_kind(table.format()):
            found.append(table)
    return found


def lists(view: TranscriptView) -> int:
    """How many lists the document holds."""
    seen, block = [], view.document().begin()
    while block.isValid():
        found = block.textList()
        if found is not None and found not in seen:
            seen.append(found)
        block = block.next()
    return len(seen)


def stored(qtbot: QtBot, text: str) -> TranscriptView:
    """`text` as a stored reply, drawn as a chat that is opened again draws it."""
    view = make_view(qtbot)
    view.add_assistant_message(text)
    return view


def stream_lines(qtbot: QtBot, reply: ReplyView, lines: list[str], every: int) -> None:
    """Append `lines` in 4-character tokens; a frame is drawn after every `every` lines."""
    for i, line in enumerate(lines, 1):
        for at in range(0, len(line), 4):
            reply.append_text(line[at : at + 4])
        if i % every == 0:
            wait_frame(qtbot, reply)


def wait_frame(qtbot: QtBot, reply: ReplyView) -> None:
    before = reply.render_count

    def drawn() -> bool:
        return reply.render_count > before

    qtbot.waitUntil(drawn, timeout=5000)


def test_a_table_longer_than_a_block_streams_and_reopens_as_one_table(qtbot: QtBot) -> None:
    head = "| Row | Square | Note |\n|:--|--:|:-:|\n"
    rows = [f"| row {i} | {i * i} | some *note* text `c{i}` and more |\n" for i in range(ROWS)]
    text = f"Intro.\n\n{head}{''.join(rows)}\nAfter."
    assert len(head + "".join(rows)) > 1.3 * BlockSplitter().max_block
    view = make_view(qtbot)
    reply = view.begin_assistant()
    stream_lines(qtbot, reply, ["Intro.\n\n", head], every=2)
    for start in range(0, ROWS, 100):
        stream_lines(qtbot, reply, rows[start : start + 100], every=1)
        assert not raw_rows(view), "no row shows as raw pipes"
        tables = markdown_tables(view)
        assert len(tables) == 1 and tables[0].rows() == start + 101
    so_far = stored(qtbot, f"Intro.\n\n{head}{''.join(rows)}")
    assert table_cells(view) == table_cells(so_far), "as if drawn whole"
    stream_lines(qtbot, reply, ["\nAfter."], every=1)
    reply.finish("complete")

    reopened = stored(qtbot, text)
    for shown in (view, reopened):
        tables = markdown_tables(shown)
        assert len(tables) == 1 and tables[0].rows() == ROWS + 1
        assert not raw_rows(shown)
        assert content_lines(shown.toPlainText()) == whole(text)
    assert table_cells(view) == table_cells(reopened)
    streamed_format, stored_format = (markdown_tables(v)[0].format() for v in (view, reopened))
    assert streamed_format.columnWidthConstraints() == stored_format.columnWidthConstraints()
    assert view.document().size().height() == reopened.document().size().height()


@pytest.mark.parametrize("intro", ["Steps:\n\n", "Steps:\n"])
def test_a_list_longer_than_a_block_streams_and_reopens_numbered_straight_through(
    qtbot: QtBot, intro: str
) -> None:
    """With or without a blank line between the list and the paragraph above it."""
    items = [
        f"{i}. item {i} with *some* words\n   and a line more of item {i}\n"
        for i in range(1, ITEMS + 1)
    ]
    text = intro + "".join(items) + "\nAfter."
    assert len("".join(items)) > 2 * BlockSplitter().max_block
    view = make_view(qtbot)
    reply = view.begin_assistant()
    stream_lines(qtbot, reply, [intro], every=1)
    for start in range(0, ITEMS, 200):
        stream_lines(qtbot, reply, items[start : start + 200], every=2)
        so_far = stored(qtbot, intro + "".join(items[: start + 200]))
        assert list_items(view) == list_items(so_far), "as if drawn whole"
    stream_lines(qtbot, reply, ["\nAfter."], every=1)
    reply.finish("complete")

    reopened = stored(qtbot, text)
    numbered = [
        (f"item {i} with some words and a line more of item {i}", f"{i}.")
        for i in range(1, ITEMS + 1)
    ]
    for shown in (view, reopened):
        assert lists(shown) == 1
        assert list_items(shown) == numbered, "one list, numbered straight through, each item whole"
        assert content_lines(shown.toPlainText()) == whole(text)
    assert view.document().size().height() == reopened.document().size().height()
