"""The conversation list reads the history a page at a time and picks up conversations other
processes store while the window is open."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, until

from streamdesk.core.store.history import HistoryStore
from streamdesk.ui.history import bridge
from streamdesk.ui.window.main_window import MainWindow


def _store_conversations(count: int, prefix: str) -> list[int]:
    with HistoryStore() as store:
        ids = []
        for n in range(count):
            cid = store.create_conversation(title=f"{prefix} {n}")
            store.add_message(cid, "user", f"question {prefix} {n}")
            store.add_message(cid, "assistant", f"the answer about {prefix} {n}")
            ids.append(cid)
        return ids


def _titles(window: MainWindow) -> list[str]:
    lst = window.conversations
    listed = lst.keys()  # a list, not a dict
    return [lst.title(k) for k in listed]


@pytest.mark.asyncio
async def test_a_long_history_is_listed_a_page_at_a_time_as_the_list_is_scrolled_down(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bridge, "LIST_PAGE", 30)
    monkeypatch.setattr(bridge, "LIST_OVERLAP", 5)
    _store_conversations(100, "old")
    async with open_window(qtbot) as window:
        assert len(_titles(window)) == 35  # a page and its overlap: more than the list shows
        bar = window.conversations.list.verticalScrollBar()
        for listed in (65, 95, 100):  # a page more each time the reader reaches the end
            await until(lambda: bar.value() < bar.maximum())  # the list laid out again
            bar.setValue(bar.maximum())
            assert len(_titles(window)) == listed
        titles = _titles(window)
        assert sorted(titles) == sorted(f"old {n}" for n in range(100))
        assert titles[:3] == ["old 99", "old 98", "old 97"] and titles[-1] == "old 0"


@pytest.mark.asyncio
async def test_a_conversation_another_process_stores_is_listed_and_its_hit_opens(
    qtbot: QtBot,
) -> None:
    """`streamdesk ask` in a terminal stores a chat while the window is open: the window lists
    it when it becomes active, and a search hit in it opens it even before."""
    async with open_window(qtbot) as window:
        (cid,) = _store_conversations(1, "from the terminal")
        with HistoryStore() as store:
            (hit,) = [h for h in store.search("terminal") if h.conversation_id == cid][:1]
        shown = await window.history.actions.open_hit(hit)
        assert shown and "from the terminal 0" in _titles(window)
        assert window.conversations.title(window.current_key()) == "from the terminal 0"
        (later,) = _store_conversations(1, "later")
        assert window.history.list_stored_elsewhere() == 1
        assert "later 0" in _titles(window) and window.history.key_of(later) is not None
        assert window.history.list_stored_elsewhere() == 0, "listed once"
