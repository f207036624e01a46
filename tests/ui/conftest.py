"""UI test setup: asyncio runs on Qt's own loop (qasync), as in the app.

pytest-asyncio 1.5 builds each test's loop from `pytest_asyncio_loop_factories`, so every
`@pytest.mark.asyncio` test under tests/ui runs its coroutine on a `qasync.QEventLoop`; Qt
signals, timers and the mock server's sockets then share one loop, as they do in the window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication


def _qasync_loop() -> qasync.QEventLoop:
    app = QApplication.instance() or QApplication([])
    return qasync.QEventLoop(app)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], Any]]:
    """Run the asyncio tests of this folder on a qasync loop over the QApplication."""
    return {"qasync": _qasync_loop}
