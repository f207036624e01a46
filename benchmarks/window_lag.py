"""Window lag: how late a 10 ms QTimer fires while the real window streams replies.

Starts the app the way `streamdesk` does (ui/app.py: the frame first, first paint, then
`finish_build`, then the `QtEventLoop` and `MainWindow.start()`), in the offline demo against
the in-process mock, and sends `--replies` prompts of `--tokens` tokens at `--rate` tokens/s.
The probe runs from just before each send until the reply has finished, so the send path (lazy
imports, client and TLS set-up, history rows) counts. The baseline is the same probe with the
window idle, in the same run. Prints worst and p99 lateness per reply (target worst < 50 ms).

    sh tests/with-keyring.sh .venv/bin/python benchmarks/window_lag.py [--tokens N] [--replies N]

(with-keyring.sh: a throwaway Secret Service, as in the app; STREAMDESK_HOME is a temp folder.)
Imports stay light until the window is up, so first-use costs land where they do in the app.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("STREAMDESK_HOME", tempfile.mkdtemp(prefix="streamdesk-lag-"))

from PySide6.QtCore import QTimer

from streamdesk.ui.app import make_app, paint_first

PROBE_MS = 10
PROMPT = "benchmark: a long reply with code, lists and tables"


@dataclass
class Probe:
    """A repeating QTimer that records how much later than its interval each tick came."""

    lags: list[float] = field(default_factory=list)
    last: float = 0.0
    timer: QTimer = field(default_factory=QTimer)

    def __post_init__(self) -> None:
        self.timer.setTimerType(self.timer.timerType().PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lags.append(max(0.0, now - self.last - PROBE_MS / 1000))
        self.last = now

    def start(self) -> None:
        self.lags = []
        self.last = time.perf_counter()
        self.timer.start(PROBE_MS)

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.lags


def quantile(lags: list[float], q: float) -> float:
    s = sorted(lags)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else 0.0


async def main(window: Any, args: argparse.Namespace) -> list[tuple[str, list[float], str]]:
    import asyncio

    rows: list[tuple[str, list[float], str]] = []
    probe = Probe()
    await window.start()
    await asyncio.sleep(args.settle)  # the idle steps after first paint, as a user would wait
    probe.start()
    await asyncio.sleep(args.tokens / args.rate)
    rows.append(("baseline (idle)", probe.stop(), ""))
    session = window.current_session()
    for n in range(1, args.replies + 1):
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_finished(_key: object, status: str, fut: asyncio.Future[str] = done) -> None:
            if not fut.done():
                fut.set_result(status)

        session.finished.connect(on_finished)
        probe.start()
        window.prompt.setPlainText(f"{PROMPT} #{n}")
        window.prompt.submit()  # as Enter does: through the window's send path
        status = await asyncio.wait_for(done, 60 + 2 * args.tokens / args.rate)
        lags = probe.stop()
        session.finished.disconnect(on_finished)
        turn = session.turns[-1]
        note = f"{status}, {turn.reply.completion_tokens} tokens"
        if turn.reply.failure is not None:
            note += f": {turn.reply.failure.message}"
        rows.append((f"reply {n}", lags, note))
        await asyncio.sleep(0.3)
    window.close()
    await window.shutdown()
    return rows


def report(rows: list[tuple[str, list[float], str]]) -> None:
    print(f"{'run':<18}{'ticks':>7}{'worst':>10}{'p99':>9}{'p50':>8}  note")
    for name, lags, note in rows:
        print(
            f"{name:<18}{len(lags):>7}{quantile(lags, 1.0):>8.1f}ms{quantile(lags, 0.99):>7.1f}ms"
            f"{quantile(lags, 0.5):>6.1f}ms  {note}"
        )
    worst = max(quantile(lags, 1.0) for name, lags, _ in rows if name.startswith("reply"))
    print(f"lateness of a {PROBE_MS} ms QTimer; target worst < 50 ms:", end=" ")
    print("met" if worst < 50 else f"NOT met ({worst:.0f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=3000)
    parser.add_argument("--replies", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000.0, help="tokens per second")
    parser.add_argument("--settle", type=float, default=1.0, help="idle seconds before sending")
    ns = parser.parse_args()
    app = make_app()
    app.setQuitOnLastWindowClosed(False)
    from streamdesk.ui.window.main_window import MainWindow

    mock = {"tokens_per_second": ns.rate, "first_token_delay": 0.0, "reply_tokens": ns.tokens}
    win = MainWindow(deferred=True, mock_options=mock, save_on_close=False)
    win.show()
    paint_first(app, win)
    win.finish_build()
    import asyncio

    from streamdesk.ui.qtloop import QtEventLoop

    loop = QtEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        result = loop.run_until_complete(main(win, ns))
        loop.run_until_complete(loop.shutdown_asyncgens())
    report(result)
    sys.exit(0)
