"""The asyncio loop of the app and the UI tests: qasync's loop over Qt's, plus what it lacks."""

from __future__ import annotations

import sys
from typing import Any

import qasync


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
