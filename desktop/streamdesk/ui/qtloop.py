"""The asyncio loop of the app and the UI tests: qasync's loop over Qt's, plus what it lacks;
and Python's garbage collection kept on the GUI thread (`GuiThreadCollector`)."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import Any

import qasync
from PySide6.QtCore import QObject, QTimer


class QtEventLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync makes it with type()
    """qasync's loop with asyncio's async-generator hooks installed while it runs.

    `BaseEventLoop.run_forever` installs them and qasync's does not. Without them an async
    generator left suspended (an httpx stream after `Done`) is finalised by the garbage
    collector off the loop, and httpx then fails to close its connection with a traceback.
    """

    def run_forever(self) -> Any:
        previous = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
        )
        try:
            return super().run_forever()
        finally:
            sys.set_asyncgen_hooks(*previous)


class GuiThreadCollector(QObject):
    """Python's cyclic garbage collection, run by a timer on the GUI thread instead of by
    whichever thread allocates: the app's worker threads (history reads, request bodies,
    image scaling, lexers) would otherwise free a Qt object left in a reference cycle on
    their own thread, and Qt aborts or crashes when a widget or timer is destroyed off its
    thread. Each tick collects the young generations when their counts are over their
    thresholds, as the interpreter would. A full collection walks every object the session
    made (tens of milliseconds in a long one), so it runs only when `may_pause()` says no
    reply is streaming, and at most every `FULL_EVERY_S`; `stop()` gives collection back to
    the interpreter."""

    INTERVAL_MS = 100
    FULL_EVERY_S = 30.0

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.may_pause: Callable[[], bool] = lambda: True
        self._last_full = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self.collect)

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()

    def collect(self) -> int:
        """Collect what is due; returns the objects found unreachable."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        now = time.monotonic()
        if (
            counts[2] > thresholds[2]
            and now - self._last_full >= self.FULL_EVERY_S
            and self.may_pause()
        ):
            self._last_full = now
            return gc.collect(2)
        for generation in (1, 0):
            if counts[generation] > thresholds[generation]:
                return gc.collect(generation)
        return 0
