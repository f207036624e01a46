"""UI test setup: asyncio runs on Qt's own loop (qasync), as in the app.

pytest-asyncio 1.5 builds each test's loop from `pytest_asyncio_loop_factories`, so every
`@pytest.mark.asyncio` test under tests/ui runs its coroutine on a `qasync.QEventLoop`; Qt
signals, timers and the mock server's sockets then share one loop, as they do in the window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from streamdesk.ui.qtloop import QtEventLoop


def _qasync_loop() -> QtEventLoop:
    app = QApplication.instance() or QApplication([])
    # As in run_app: closing a window must not quit Qt's loop (and with it, asyncio's) before
    # the window's shutdown has run.
    app.setQuitOnLastWindowClosed(False)
    return QtEventLoop(app)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], Any]]:
    """Run the asyncio tests of this folder on a qasync loop over the QApplication."""
    return {"qasync": _qasync_loop}
