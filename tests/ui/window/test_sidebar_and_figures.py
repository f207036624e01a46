"""Small things a long history shows: Esc leaves a search, a long deleted title fits the undo
bar, and large token counts read with thousands separators."""

from __future__ import annotations

from plain_checks import shown_text
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from streamdesk.ui.window.conversation_list import ConversationList
from streamdesk.ui.window.status_bar import ReplyStats, StatusBar


def test_esc_in_the_search_field_clears_it_and_the_list_comes_back(qtbot: QtBot) -> None:
    sidebar = ConversationList()
    qtbot.addWidget(sidebar)
    sidebar.show()
    sidebar.search.setFocus()
    qtbot.keyClicks(sidebar.search, "zebra")
    qtbot.keyClick(sidebar.search, Qt.Key.Key_Escape)
    assert sidebar.search.text() == "" and sidebar.list.isVisible()


def test_a_long_deleted_title_is_cut_to_the_undo_bar_and_whole_in_its_tooltip(
    qtbot: QtBot,
) -> None:
    sidebar = ConversationList()
    qtbot.addWidget(sidebar)
    sidebar.resize(232, 600)
    sidebar.show()
    text = "Deleted “" + "A conversation with a very long title indeed" + "”"
    sidebar.show_undo(text, 6000)
    label = sidebar.undo_label
    assert label.text().endswith("…") and label.text() != text
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width()
    assert shown_text(label.toolTip()) == text
    sidebar.show_undo("Deleted “Short”", 6000)
    assert sidebar.undo_label.text() == "Deleted “Short”"


def test_large_token_counts_have_thousands_separators(qtbot: QtBot) -> None:
    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.show_stats(ReplyStats(state="Done", protocol="sse", tokens_in=1714258, tokens_out=12345))
    assert "in 1,714,258 · out 12,345 tokens" in bar.text()


def test_the_model_box_shows_the_longest_built_in_model_name_whole(qtbot: QtBot) -> None:
    from streamdesk.ui.window.header import Header

    header = Header()
    qtbot.addWidget(header)
    header.show()
    box = header.model_box
    shown = box.lineEdit().width() if box.lineEdit() is not None else box.width()
    assert box.fontMetrics().horizontalAdvance("claude-sonnet-4.5") <= shown
