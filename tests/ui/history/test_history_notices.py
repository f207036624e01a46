"""The window tells the user once when the history repaired itself."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.core.store.history import HistoryStore, default_path


@pytest.mark.asyncio
async def test_a_damaged_history_is_repaired_and_the_window_says_so(qtbot: QtBot) -> None:
    path = default_path()
    with HistoryStore(path) as store:
        for n in range(12):
            cid = store.create_conversation(title=f"conversation {n}")
            for i in range(20):
                store.add_message(cid, "user", f"message {n}/{i} " + "lorem ipsum " * 40)
    with path.open("r+b") as f:  # a bad header: the file cannot be opened as it is
        f.write(b"this is not a database header!! " * 3)
    async with open_window(qtbot) as window:
        banner = window.settings_ui.banner
        assert banner.isVisible(), "a repaired history must be said"
        assert "damaged" in banner.label.text() and ".corrupt-" in banner.label.text()
        session = window.current_session()
        session.send("the history still works")
        await wait_reply(session)
        assert window.history.store is not None
        assert any(c.title for c in window.history.store.list_conversations())
