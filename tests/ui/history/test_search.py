"""Search over stored history: one hit per message (not per version), titles elided with a
tooltip, and an opened hit placed with the lines before it in sight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from plain_checks import (
    assert_plain_label,
    assert_plain_tooltip,
    hostile,
    red_pixels,
    red_png,
    shown_text,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot
from ui_helpers import FAST

from streamdesk.core.store.history import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    HistoryStore,
    SearchHit,
)
from streamdesk.ui.history.search import CONTEXT_SHARE, SNIPPET_LINES, SearchResults
from streamdesk.ui.window.main_window import MainWindow

LONG_TITLE = "How do I stream chat completions over server-sent events without freezing the UI"
FILLER = "\n\n".join(f"Paragraph {k}: " + "lorem ipsum dolor sit amet " * 10 for k in range(20))


@asynccontextmanager
async def open_window(qtbot: QtBot) -> AsyncIterator[MainWindow]:
    """A window on the stored history; search needs no server, so none is asked for."""
    window = MainWindow(mock_options=FAST, save_on_close=False)
    qtbot.addWidget(window)
    window.show()
    try:
        await window.start()
        yield window
    finally:
        await window.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def test_a_regenerated_reply_is_one_hit_its_shown_version(store: HistoryStore) -> None:
    cid = store.create_conversation(title="zebras")
    prompt = store.add_message(cid, "user", "tell me about zebras")
    first = store.add_message(cid, "assistant", "zebras are striped")
    second = store.add_message(cid, "assistant", "zebras are striped, twice", alternative_of=first)
    third = store.add_message(cid, "assistant", "horses are not", alternative_of=first)
    # The shown version (third) does not match: the newest one that does stands for it.
    assert [h.message_id for h in store.search("zebras")] == [second, prompt]
    store.set_active_alternative(first)
    assert [h.message_id for h in store.search("zebras")] == [first, prompt]
    store.set_active_alternative(third)
    assert [h.message_id for h in store.search("horses")] == [third]
    edited = store.add_message(cid, "user", "tell me about zebras again", alternative_of=prompt)
    hits = [h.message_id for h in store.search("tell zebras")]
    assert hits == [edited]  # an edited prompt: one hit, the version shown


def _seed(versions: int = 3) -> None:
    with HistoryStore() as store:
        cid = store.create_conversation(title=LONG_TITLE, model="m")
        store.add_message(cid, "user", "what is backpressure?")
        reply = f"{FILLER}\n\nBackpressure slows the producer.\n\n{FILLER}"
        first = store.add_message(cid, "assistant", reply)
        for n in range(1, versions):
            store.add_message(cid, "assistant", f"{reply} ({n})", alternative_of=first)


async def _search(window: MainWindow, text: str) -> None:
    """Type into the search field and wait (on the loop, no nested one) for the results."""
    lst = window.conversations
    shown: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def done(_text: str) -> None:
        if not shown.done():
            shown.set_result(None)

    lst.searchRequested.connect(done)  # after the window's handler: the results are listed
    try:
        lst.search.setText(text)
        await asyncio.wait_for(shown, 5)
    finally:
        lst.searchRequested.disconnect(done)


@pytest.mark.asyncio
async def test_search_lists_a_message_once_whatever_its_versions(qtbot: QtBot) -> None:
    _seed(versions=3)
    async with open_window(qtbot) as window:
        await _search(window, "backpressure")
        hits = window.conversations.results.hits()
        assert [h.role for h in hits] == ["assistant", "user"]


@pytest.mark.asyncio
async def test_a_long_title_is_elided_with_the_whole_title_in_its_tooltip(qtbot: QtBot) -> None:
    _seed()
    async with open_window(qtbot) as window:
        window.resize(1000, 700)
        await _search(window, "backpressure")
        results = window.conversations.results
        (row, _user_row) = results.rows()
        assert row.title.text().endswith("…") and row.title.text() != LONG_TITLE
        assert shown_text(row.title.toolTip()) == LONG_TITLE
        assert row.title.fontMetrics().horizontalAdvance(row.title.text()) <= row.title.width()
        assert row.who.text() == "Assistant" and row.who.isVisible()
        assert row.geometry().right() <= results.viewport().width()  # nothing cut at the side
        assert row.snippet.height() <= 4 * row.snippet.fontMetrics().lineSpacing()


@pytest.mark.asyncio
async def test_an_opened_hit_sits_a_third_down_with_its_context(qtbot: QtBot) -> None:
    _seed()
    async with open_window(qtbot) as window:
        window.resize(1100, 700)
        await _search(window, "backpressure slows")
        window.conversations.results.activate(0)
        view = window.current_session().view
        (mark,) = view.extraSelections()
        assert mark.cursor.selectedText().lower() == "backpressure"
        top = view.cursorRect(mark.cursor).top()
        height = view.viewport().height()
        assert view.verticalScrollBar().value() > 0  # deep in a long reply
        assert abs(top - height // CONTEXT_SHARE) <= 4, (top, height)
        assert not view.is_following()


@pytest.mark.asyncio
async def test_a_long_snippet_shows_whole_lines_ending_in_an_ellipsis(qtbot: QtBot) -> None:
    """A snippet longer than a row's lines is cut after a whole line, not through one."""
    _seed()
    async with open_window(qtbot) as window:
        window.resize(1000, 700)
        await _search(window, "backpressure")
        (row, _user_row) = window.conversations.results.rows()
        label = row.snippet
        assert label.text().endswith("…")
        assert label.height() >= label.heightForWidth(label.width())  # nothing clipped
        lines = label.heightForWidth(label.width()) / label.fontMetrics().lineSpacing()
        assert 1 <= lines <= SNIPPET_LINES + 0.5, lines
        assert "#ffd33d" in label.text()  # the match is still highlighted


@pytest.mark.asyncio
async def test_a_search_still_waiting_when_the_window_closes_finds_the_history_off(
    qtbot: QtBot,
) -> None:
    """The list starts a search a moment after the last key; if the window shut down (and
    closed the history) meanwhile, that search finds no history instead of raising on a
    closed database in Qt's loop."""
    window = MainWindow(mock_options=FAST, save_on_close=False)
    qtbot.addWidget(window)
    window.show()
    await window.start()
    asked: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    window.conversations.searchRequested.connect(
        lambda text: asked.done() or asked.set_result(text)
    )
    window.conversations.search.setText("merge sort")  # the delay timer starts
    await window.shutdown()
    assert await asyncio.wait_for(asked, 5.0) == "merge sort"
    assert window.history.store is None
    assert window.history.actions.search("merge sort") == []


def test_a_hit_shows_its_title_and_words_as_they_are(qtbot: QtBot, tmp_path: Path) -> None:
    """A title from a prompt or an imported file, and the message's words: a plain title, an
    escaped tooltip, and a snippet whose only HTML is the highlight."""
    words = hostile(red_png(tmp_path))
    snippet = f"before {HIGHLIGHT_START}{words}{HIGHLIGHT_END} after"
    results = SearchResults()
    qtbot.addWidget(results)
    results.resize(1600, 600)
    results.show()
    results.show_hits([SearchHit(1, 1, words, "assistant", snippet, 0.0)])
    (row,) = results.rows()
    assert row.title.full_text == words
    assert_plain_label(row.title)
    for tip in (row.title.toolTip(), row.snippet.toolTip(), results.item(0).toolTip()):
        assert_plain_tooltip(tip, words)
    assert row.snippet.textFormat() == Qt.TextFormat.RichText  # for the highlight
    shown = QTextDocument()
    shown.setHtml(row.snippet.text())
    assert shown.toPlainText() == f"before {words} after"
    assert red_pixels(row.snippet.grab().toImage()) == 0
