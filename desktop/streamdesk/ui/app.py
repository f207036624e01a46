"""`streamdesk` with no subcommand: the window on a qasync loop.

Qt owns the loop; asyncio runs on it through qasync (not PySide6.QtAsyncio, which cannot open
sockets). All async work starts inside `MainWindow.run()`, the coroutine the loop runs, and the
app quits only after that coroutine has cancelled the streams and stopped the mock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from streamdesk import __version__
from streamdesk.core.redact import install_log_redaction
from streamdesk.ui.qtloop import QtEventLoop


def make_app(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(list(sys.argv if argv is None else argv) or ["streamdesk"])
    app.setApplicationName("Streamdesk")
    app.setApplicationDisplayName("Streamdesk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("streamdesk")
    return app


def run_app(argv: list[str] | None = None) -> int:
    """Open the window and run until it is closed; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    app = make_app(argv)
    app.setQuitOnLastWindowClosed(False)  # run() ends the loop after a clean shutdown
    from streamdesk.ui.window import MainWindow

    window = MainWindow()
    window.apply_theme()
    QGuiApplication.styleHints().colorSchemeChanged.connect(window.on_system_scheme_changed)
    app.aboutToQuit.connect(window.close)
    window.show()
    loop = QtEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        code: int = loop.run_until_complete(_main(window))
        loop.run_until_complete(loop.shutdown_asyncgens())
        return code


AUTOSEND_ENV = "STREAMDESK_AUTOSEND"  # test hook: send this prompt once the window has started
AUTOSEND_SCENARIO_ENV = "STREAMDESK_AUTOSEND_SCENARIO"  # ... with this mock fault scenario


async def _main(window: Any) -> int:
    """`window.run()`, plus the end-to-end tests' autosend hook between start and close."""
    prompt = os.environ.get(AUTOSEND_ENV, "")
    if not prompt.strip():
        return int(await window.run())
    await window.start()
    window.set_next_scenario(os.environ.get(AUTOSEND_SCENARIO_ENV) or None)
    window.current_session().send(prompt)
    await window.closed.wait()
    await window.shutdown()
    return 0
