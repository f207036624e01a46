"""The window loads the request path off the loop right after start, before the first Send."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.core.transports import _tls


@pytest.mark.asyncio
async def test_start_builds_the_tls_context_in_a_worker_before_the_first_send(
    qtbot: QtBot,
) -> None:
    _tls._httpx_context.cache_clear()
    async with open_window(qtbot) as window:
        assert window.warmup is not None
        await window.warmup
        assert _tls._httpx_context.cache_info().currsize == 2
        session = window.current_session()
        session.send("hello")
        await wait_reply(session)
        info = _tls._httpx_context.cache_info()
        assert info.misses == 2 and info.hits >= 1, "the reply must reuse the warmed context"
