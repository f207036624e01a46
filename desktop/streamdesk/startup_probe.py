"""Start-up measurement hook: report the wall-clock time of the window's first painted frame.

`benchmarks/startup.py` spawns the app with `STREAMDESK_STARTUP_PROBE=1`, notes `time.time()`
just before the spawn, and subtracts it from the timestamp this module prints. Wall-clock time
is used (not a monotonic clock) because the two readings come from different processes. Each
line also carries the process's CPU time so far (all threads): on a machine other work keeps
busy, it moves far less than the wall clock.

The app (ui/app.py, from the venv or the frozen bundle alike) calls `install(window)` right
after `window.show()` when `enabled()`. With `STREAMDESK_STARTUP_PROBE=ready` the process goes
on after the first paint and leaves once the window can send: ui/app.py calls
`report_ready(able)` when `MainWindow.start()` has resolved the provider and Qt has run what
start-up queued on its loop (a key pressed then is handled at once). Meanwhile it measures
what typing is like while the window finishes starting: ui/app.py calls `press_key(prompt)`
as the first frame is done, and the probe reports when the prompt handled that key and the
longest any input waited between then and ready-to-send; `take_input()` when the app starts
taking input (the window system holds the key until then). Nothing here runs
unless the variable is set, and only QtCore/QtWidgets (loaded by the window anyway) are
imported. `FirstPaint` is also what ui/app.py waits on before it loads the rest of the app;
this module imports nothing of the app.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

ENV = "STREAMDESK_STARTUP_PROBE"
MARKER = "STREAMDESK_FIRST_PAINT"
READY_MARKER = "STREAMDESK_READY_TO_SEND"
NOT_READY_MARKER = "STREAMDESK_NOT_READY"
KEY_MARKER = "STREAMDESK_FIRST_KEY"
WAIT_MARKER = "STREAMDESK_LONGEST_INPUT_WAIT"
HELPER_CPU_MARKER = "STREAMDESK_HELPER_CPU"  # CPU seconds of the app's other processes so far
TICK_MS = 5


def enabled() -> bool:
    return os.environ.get(ENV, "") not in ("", "0")


def until_ready() -> bool:
    """The probe waits for ready-to-send, not only the first paint."""
    return os.environ.get(ENV, "") == "ready"


class FirstPaint(QObject):
    """Application-wide filter: after the first Paint of any widget in `window`, call `then`."""

    def __init__(self, window: QWidget | None, parent: QObject, then: Callable[[], None]) -> None:
        super().__init__(parent)
        self._window = window  # None: any window
        self._then = then
        self._seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            not self._seen
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and (self._window is None or watched.window() is self._window)
        ):
            self._seen = True
            # Zero-delay timer: fires once this frame's paint events are done and flushed.
            QTimer.singleShot(0, self._then)
        return False


def _report() -> None:
    """Print the timestamp and, unless waiting for ready-to-send, leave at once: the
    measurement must not depend on the app's shutdown path (open streams, qasync loop), and
    nothing is written in probe mode."""
    sys.stdout.write(f"{MARKER} {time.time():.6f} {time.process_time():.6f}\n")
    sys.stdout.flush()
    if not until_ready():
        os._exit(0)


class KeyWatch(QObject):
    """A key the user presses for the prompt as the first frame is done: notes when the prompt
    gets it, and the longest any input waited until ready-to-send (a 5 ms timer's lateness,
    and the stretch in which the app took no input at all)."""

    def __init__(self, prompt: QWidget) -> None:
        super().__init__(prompt)
        self.handled: tuple[float, float] | None = None
        self.longest_wait_ms = 0.0
        self._prompt = prompt
        self._pressed = self._last = time.perf_counter()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        prompt.installEventFilter(self)

    def deliver(self) -> None:
        """The app takes input from now on: the window system hands over the key it held
        since it was pressed, to the window's focus widget (the prompt, if the window gives
        it the focus as it should; else the key never reaches it)."""
        held_ms = (time.perf_counter() - self._pressed) * 1000
        self.longest_wait_ms = max(self.longest_wait_ms, held_ms)
        press = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_X, Qt.KeyboardModifier.NoModifier, "x")
        window = self._prompt.window()
        QCoreApplication.postEvent(window.focusWidget() or window, press)

    def tick(self) -> None:
        now = time.perf_counter()
        self.longest_wait_ms = max(self.longest_wait_ms, (now - self._last) * 1000 - TICK_MS)
        self._last = now

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.handled is None and event.type() == QEvent.Type.KeyPress:
            self.handled = (time.time(), time.process_time())
        return False


_watch: list[KeyWatch] = []


def press_key(prompt: QWidget) -> None:
    """A key is pressed for the prompt now (the first frame is done); input is watched until
    ready-to-send. The app calls `take_input()` once it takes input."""
    if until_ready():
        _watch.append(KeyWatch(prompt))


def take_input() -> None:
    """The app handles input from now on: the key pressed at the first frame arrives."""
    for watch in _watch:
        watch.deliver()


def report_ready(able: bool, helper_cpu: float = 0.0) -> None:
    """The window has started: print when (or that it cannot send after all), the CPU time
    its other processes used (`helper_cpu`: the head start's), how typing went meanwhile,
    and leave."""
    marker = READY_MARKER if able else NOT_READY_MARKER
    lines = [f"{marker} {time.time():.6f} {time.process_time():.6f}"]
    lines.append(f"{HELPER_CPU_MARKER} {helper_cpu:.6f}")
    for watch in _watch:
        watch.tick()
        if watch.handled is not None:
            lines.append(f"{KEY_MARKER} {watch.handled[0]:.6f} {watch.handled[1]:.6f}")
        lines.append(f"{WAIT_MARKER} {watch.longest_wait_ms / 1000:.6f}")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    os._exit(0)


def install(window: QWidget) -> None:
    """Watch `window` (already shown or about to be) for its first painted frame.

    The filter sits on the window itself, not the application: an application-wide Python
    filter makes shiboken build the Python type (and its enums) of every object that gets an
    event, a visible delay of the app's first frame. The window's own Paint starts each frame."""
    if QApplication.instance() is None:
        raise RuntimeError("startup_probe.install() needs a QApplication")
    window.installEventFilter(FirstPaint(window, window, _report))
