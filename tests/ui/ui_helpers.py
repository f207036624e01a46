"""Shared helpers for the window tests: open a window on the real mock, wait on futures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pytestqt.qtbot import QtBot

from streamdesk.core.chat import Turn
from streamdesk.core.providers import ModelInfo
from streamdesk.core.store.settings import ProviderSettings, Settings
from streamdesk.mock import MockServer
from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.window.main_window import MainWindow

FAST = {"tokens_per_second": 0.0, "first_token_delay": 0.0}
KEY = "sk-network-test-0123456789"  # the key the online window's mock demands
PROMPT = "Is the proxy used?"
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


async def until(condition: Callable[[], object], limit: float = 5.0) -> None:
    """Let the loop run until `condition()` holds: the async tests' `qtbot.waitUntil`, which
    would spin a nested event loop inside the running qasync loop and hang there."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"not true within {limit} s: {condition}")
        await asyncio.sleep(0.005)  # one turn of Qt's loop: events, timers and paints run


async def wait_reply(session: ChatSession, limit: float = 15.0) -> Turn:
    """Wait until the running reply has finished; returns its turn."""
    task = session.task
    assert task is not None
    await asyncio.wait_for(asyncio.shield(task), limit)
    assert session.turns, "a reply ran, so there is a turn"
    return session.turns[-1]


async def until_signal(signal: Any, holds: Callable[[], object], limit: float) -> None:
    """Wait, checking on each emission of `signal`, until `holds()` is true (at once if it
    already is)."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check(*_args: object) -> None:
        if holds() and not done.done():
            done.set_result(None)

    signal.connect(check)
    try:
        check()
        await asyncio.wait_for(done, limit)
    finally:
        signal.disconnect(check)


async def wait_text(session: ChatSession, turn_index: int = -1, limit: float = 15.0) -> None:
    """Wait until some text of the running reply has arrived."""
    await until_signal(
        session.updated,
        lambda: session.turns and session.turns[turn_index].reply.parts,
        limit,
    )


@asynccontextmanager
async def online_window(qtbot: QtBot, **network: Any) -> AsyncIterator[MainWindow]:
    """A window whose active provider is a user profile on a mock that demands KEY."""
    async with MockServer(api_key=KEY, **FAST) as server:
        profile = ProviderSettings(
            id="loopback",
            name="Loopback",
            base_url=server.sse_base_url,
            ws_url=server.ws_url,
            models=[ModelInfo("gpt-4.1")],
            default_model="gpt-4.1",
        )
        settings = Settings(active_provider="loopback", providers=[profile], **network)
        window = MainWindow(settings, save_on_close=False)
        qtbot.addWidget(window)
        window.show()
        try:
            await window.start()
            assert not window.offline and window.provider.id == "loopback"
            yield window
        finally:
            await window.shutdown()


async def chat(window: MainWindow, protocol: str = "sse") -> Turn:
    window.header.set_protocol(protocol)
    session = window.current_session()
    assert session.send(PROMPT) is not None
    return await wait_reply(session)


async def recording_proxy(seen: asyncio.Queue[bytes]) -> asyncio.Server:
    """Records the head of each proxied request and answers 407 (no forwarding needed)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.put_nowait(head)
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)
