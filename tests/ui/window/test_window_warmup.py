"""The window loads the request path off the loop right after start, before the first Send."""

from __future__ import annotations

import ssl
from unittest import mock

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.core.transports import _tls


@pytest.mark.asyncio
async def test_start_builds_the_tls_context_in_a_worker_before_the_first_send(
    qtbot: QtBot,
) -> None:
    """httpx builds a context with `ssl.create_default_context`: none may be built on the loop."""
    async with open_window(qtbot) as window:
        assert window.warmup is not None
        await window.warmup
        watched = mock.patch.object(ssl, "create_default_context", wraps=ssl.create_default_context)
        with watched as build:
            for trust_env in (True, False):
                _tls.default_context(trust_env)
            build.assert_not_called()  # the warm-up built both
            session = window.current_session()
            session.send("hello")
            await wait_reply(session)
            build.assert_not_called()  # the reply reused the warmed context
