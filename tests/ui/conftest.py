"""UI test setup: asyncio runs on Qt's own loop (qasync), as in the app.

pytest-asyncio 1.5 builds each test's loop from `pytest_asyncio_loop_factories`, so every
`@pytest.mark.asyncio` test under tests/ui runs its coroutine on a `qasync.QEventLoop`; Qt
signals, timers and the mock server's sockets then share one loop, as they do in the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from streamdesk.ui.qtloop import GuiThreadCollector, QtEventLoop


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


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread(qapp: QApplication) -> Iterator[None]:
    """As in the app (`GuiThreadCollector`): Python's cyclic collector runs on the GUI thread,
    never on a worker thread that allocates, which would free a Qt object left in a cycle
    there and crash the run; what is due is collected when each test ends too."""
    collector = GuiThreadCollector(qapp)
    collector.start()
    try:
        yield
    finally:
        collector.collect()
        collector.stop()
        collector.deleteLater()
