"""Shared helpers for the window tests: open a window on the real mock, wait on futures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pytestqt.qtbot import QtBot

from streamdesk.core.chat import Turn
from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.window.main_window import MainWindow

FAST = {"tokens_per_second": 0.0, "first_token_delay": 0.0}
SLOW = {"tokens_per_second": 40.0, "first_token_delay": 0.0}


@asynccontextmanager
async def open_window(qtbot: QtBot, **mock_options: Any) -> AsyncIterator[MainWindow]:
    """A window in offline-demo mode (no key in the test keychain) on a mock started here."""
    window = MainWindow(mock_options=mock_options or FAST, save_on_close=False)
    qtbot.addWidget(window)
    window.show()
    try:
        await window.start()
        assert window.mock is not None, "no key in the test keychain: the mock must run"
        yield window
    finally:
        await window.shutdown()


async def wait_reply(session: ChatSession, limit: float = 15.0) -> Turn:
    """Wait until the running reply has finished; returns its turn."""
    task = session.task
    assert task is not None
    await asyncio.wait_for(asyncio.shield(task), limit)
    assert session.turns, "a reply ran, so there is a turn"
    return session.turns[-1]


async def wait_text(session: ChatSession, turn_index: int = -1, limit: float = 15.0) -> None:
    """Wait until some text of the running reply has arrived."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[None] = loop.create_future()

    def check(_key: object = None) -> None:
        if session.turns and session.turns[turn_index].reply.parts and not arrived.done():
            arrived.set_result(None)

    session.updated.connect(check)
    try:
        check()
        await asyncio.wait_for(arrived, limit)
    finally:
        session.updated.disconnect(check)
