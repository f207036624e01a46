"""`streamdesk` with no subcommand: the window on a qasync loop.

Qt owns the loop; asyncio runs on it through qasync (not PySide6.QtAsyncio, which cannot open
sockets). All async work starts inside `MainWindow.run()`, the coroutine the loop runs, and the
app quits only after that coroutine has cancelled the streams and stopped the mock.

Start-up shows the window first: the frame is built from light modules, Qt's own loop runs until
its first frame is painted, and only then do asyncio/qasync, the history store and the
transcript load (`MainWindow.start` runs `build_step` part by part on the running loop,
handling what the user typed or clicked between two parts). No thread runs Python beside the
build: each of the build's calls that let the GIL go would wait for it to come back. The
keychain and the offline demo's mock are another process's work meanwhile (the head start the
CLI starts, streamdesk/head_start.py); without one, they load after the build, on worker threads.
A prompt sent before the window has started goes out once it has (`MainWindow.start`).
benchmarks/startup.py measures first paint, ready-to-send and typing meanwhile.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QWidget

from streamdesk import __version__, appicon, startup_probe
from streamdesk.core.redact import install_log_redaction

if TYPE_CHECKING:  # the window's module loads after the QApplication exists
    from streamdesk.head_start import HeadStart
    from streamdesk.ui.qtloop import QtEventLoop
    from streamdesk.ui.window.main_window import MainWindow

STYLE_SET = "streamdeskFusion"  # dynamic property: theme.apply_theme need not set the style
FIRST_PAINT_WAIT_MS = 2000  # a window that is never exposed (minimised, no compositor) waits this
# Imported one at a time before the loop exists, Qt painting (not taking input) between them.
LOOP_IMPORTS = ("socket", "ssl", "subprocess", "asyncio", "qasync", "streamdesk.ui.qtloop")


def make_app(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # Qt's paint thread pool makes each scroll-bar paint slower on 2 cores; must be set before
    # the QApplication exists (ui/transcript/view.py sets it too, for tests that import it first).
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
    args = list(sys.argv if argv is None else argv) or ["streamdesk"]
    # Fusion from the command line: `app.setStyle("Fusion")` hands Python the QStyle, and
    # shiboken then builds QStyle's Python type with its many enums, before the first paint.
    app = QApplication([args[0], "-style", "Fusion", *args[1:]])
    app.setProperty(STYLE_SET, True)
    app.setApplicationName("Streamdesk")
    app.setApplicationDisplayName("Streamdesk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("streamdesk")
    icon = QIcon()
    for png in appicon.icon_pngs():
        icon.addFile(str(png))
    if not icon.isNull():
        app.setWindowIcon(icon)
    return app


def paint_first(app: QApplication, window: QWidget) -> None:
    """Run Qt's loop (no asyncio yet) until `window` has shown its first frame."""
    loop = QEventLoop()
    watch = startup_probe.FirstPaint(window, loop, loop.quit)
    window.installEventFilter(watch)  # not app-wide: see startup_probe.install
    QTimer.singleShot(FIRST_PAINT_WAIT_MS, loop, loop.quit)
    try:
        loop.exec()
    finally:
        window.removeEventFilter(watch)


def _load_keychain() -> None:
    """Choose the keychain backend (secrets.load_backend: imports and a D-Bus round trip;
    keyring's own choice would probe every backend it knows). The window's `KeysOnUse` runs
    this once, on a worker thread: at start before the provider's key is looked up, or right
    after start when the head start has answered for the keychain."""
    try:
        from streamdesk.core.store.secrets import load_backend

        load_backend()
    except Exception:  # the lookup itself reports a broken keychain, with its reason
        logging.getLogger(__name__).debug("loading the keychain backend failed", exc_info=True)


def start_window(
    argv: list[str] | None = None, head_start: HeadStart | None = None, **window_options: Any
) -> tuple[MainWindow, QtEventLoop]:
    """The window painted, and the asyncio loop to run it on (not running yet): the loop's
    first work, `MainWindow.start()`, builds the rest part by part, handling input between
    two parts, then takes what `head_start` found; `window_options` go to `MainWindow`
    (benchmarks/window_lag.py passes mock options)."""
    app = make_app(argv)
    app.setQuitOnLastWindowClosed(False)  # run() ends the loop after a clean shutdown
    from streamdesk.ui.window.main_window import MainWindow

    window = MainWindow(deferred=True, **window_options)  # the frame, themed before it polishes
    QGuiApplication.styleHints().colorSchemeChanged.connect(window.on_system_scheme_changed)
    app.aboutToQuit.connect(window.close)
    window.show()
    if startup_probe.enabled():
        startup_probe.install(window)
    paint_first(app, window)
    if head_start is not None:
        head_start.go()
    if startup_probe.enabled():
        startup_probe.press_key(window.prompt)
    window.keys.prepare = _load_keychain
    window.head_start = head_start
    # The loop first, so that whatever the user does while the rest is built (a shortcut, a
    # provider picked) runs on it as it does later; input waits for these few imports only.
    for name in LOOP_IMPORTS:
        app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        importlib.import_module(name)
    import asyncio

    from streamdesk.ui.qtloop import GuiThreadCollector, QtEventLoop

    loop = QtEventLoop(app)
    asyncio.set_event_loop(loop)
    collector = GuiThreadCollector(app)  # no worker thread frees a Qt object: see its doc
    collector.may_pause = lambda: not any(s.busy for s in window.sessions.values())
    collector.start()
    app.aboutToQuit.connect(collector.stop)
    if startup_probe.enabled():
        startup_probe.take_input()  # the loop's first turn takes the input held since paint
    # What start-up made lives as long as the app: the collector's full passes need not walk
    # it again (each walk stalls the window's loop for tens of milliseconds).
    window.warmedUp.connect(gc.freeze)
    return window, loop


def run_app(argv: list[str] | None = None, head_start: HeadStart | None = None) -> int:
    """Open the window and run until it is closed; returns the exit status. `head_start`:
    what the CLI started before Qt loaded (streamdesk/head_start.py)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    window, loop = start_window(argv, head_start)
    with loop:
        code: int = loop.run_until_complete(_main(window))
        loop.run_until_complete(loop.shutdown_asyncgens())
        return code


AUTOSEND_ENV = "STREAMDESK_AUTOSEND"  # test hook: send this prompt once the window has started
AUTOSEND_SCENARIO_ENV = "STREAMDESK_AUTOSEND_SCENARIO"  # ... with this mock fault scenario


def can_send(window: MainWindow) -> bool:
    """Enter would send now: the prompt and Send are enabled and a chat takes the prompt
    (`MainWindow.start()` has resolved the provider, key or offline demo, before this)."""
    return (
        window.built
        and window.prompt.isEnabled()
        and window.composer.send_button.isEnabled()
        and window.prompt.can_submit()
    )


async def _main(window: MainWindow) -> int:
    """`window.run()`, plus the end-to-end tests' autosend hook between start and close."""
    if startup_probe.until_ready():  # benchmarks/startup.py: when could the user send?
        from streamdesk.ui.window.main_window import next_turn_of_qt

        await window.start()
        await next_turn_of_qt()  # what start-up queued on Qt's loop has run: a key goes next
        head = window.head_start
        startup_probe.report_ready(can_send(window), head.cpu_seconds() if head else 0.0)
    prompt = os.environ.get(AUTOSEND_ENV, "")
    if not prompt.strip():
        return await window.run()
    await window.start()
    window.set_next_scenario(os.environ.get(AUTOSEND_SCENARIO_ENV) or None)
    window.current_session().send(prompt)
    await window.closed.wait()
    await window.shutdown()
    return 0
