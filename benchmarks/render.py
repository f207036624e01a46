"""Render benchmark: the transcript's cost per token, isolated from transport cost.

A reply's tokens (the mock's Markdown reply for a fixed prompt, 300-600 tokens of headings,
lists, tables and fenced code ending at a block boundary, repeated to `--tokens`; no server, no
httpx, no asyncio) are fed on Qt's own loop at a fixed rate, `--rate` tokens per second, by a
2 ms precise timer that appends whatever is due. Targets, each run in
the same process and interleaved round by round so a busy machine slows them alike:

- incremental: `TranscriptView.begin_assistant().append_text`, the app's `ReplyView`
  (finished blocks committed once, only the open tail re-rendered, one frame per 16 ms);
- naive: a `QTextBrowser` whose whole document is rebuilt with `setMarkdown` on every
  16 ms frame, what peer clients do (the baseline);
- feeder: the same feeding with no view, whose own cost is subtracted from both.

Render cost per token is the process's CPU time (all threads: layout, painting offscreen,
highlighting) per token over the same stretch of content: "at 1k" over the ~2,000 tokens of
reply copies that follow token 1,000 (past the first frames' one-off costs: first layout, first
lexer), "at end" over as many copies at the very end, so only the document's length differs.
Loop lag is how late a 5 ms precise probe timer fires; each garbage collection's pause is
recorded beside it. The collector's heap is frozen after set-up, as the app freezes it once it
has started. Goal (issue 19): cost per token at 50k within
1.1x of at 1k; worst lag < 16 ms and p99 < 8 ms while rendering.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/render.py [--runs 3] [--tokens 50000]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")  # as the app sets it (ui/app.py)

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication, QTextBrowser

from streamdesk.mock.replies import reply_for
from streamdesk.ui.transcript.highlight import COMMON, wait_warm, warm
from streamdesk.ui.transcript.safe_document import MARKDOWN_FEATURES
from streamdesk.ui.transcript.view import TranscriptView

PROMPT = "benchmark: a long reply with code, lists and tables"
FEED_MS = 2
PROBE_MS = 5
FRAME_MS = 16
WINDOW = 2000  # tokens per cost measurement (whole reply copies: about 2 s of feeding)
SKIP = 1000  # tokens before "at 1k" (the first frames' one-off costs: first layout, first lexer)
GOAL_COST_RATIO = 1.1
GOAL_WORST_MS = 16.0
GOAL_P99_MS = 8.0


@dataclass
class Result:
    name: str
    tokens: int
    lags: list[float] = field(default_factory=list)
    marks: list[tuple[int, float]] = field(default_factory=list)  # (tokens fed, CPU seconds)
    rss_mb: float = 0.0
    gc_pauses: list[tuple[int, float]] = field(default_factory=list)  # (generation, seconds)

    def cost_over(self, lo: int, hi: int) -> float:
        """CPU microseconds per token while tokens `lo` to `hi` were fed."""
        a = min(self.marks, key=lambda m: abs(m[0] - lo))
        b = min(self.marks, key=lambda m: abs(m[0] - hi))
        return (b[1] - a[1]) / max(1, b[0] - a[0]) * 1e6

    def lag(self, q: float) -> float:
        s = sorted(self.lags)
        return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else 0.0


def feed(name: str, tokens: list[str], rate: float, append: Callable[[str], None]) -> Result:
    """Append `tokens` at `rate` per second on Qt's loop, probing the loop's lateness."""
    res = Result(name, len(tokens))
    loop = QEventLoop()
    fed = 0
    start = last_probe = time.perf_counter()

    def tick() -> None:
        nonlocal fed
        due = min(len(tokens), int((time.perf_counter() - start) * rate) + 1)
        while fed < due:
            append(tokens[fed])
            fed += 1
        res.marks.append((fed, time.process_time()))
        if fed == len(tokens):
            feeder.stop()
            QTimer.singleShot(4 * FRAME_MS, loop.quit)  # the last frame renders

    def probe() -> None:
        nonlocal last_probe
        now = time.perf_counter()
        res.lags.append(max(0.0, now - last_probe - PROBE_MS / 1000))
        last_probe = now

    feeder, prober = QTimer(), QTimer()
    for timer, interval, slot in ((feeder, FEED_MS, tick), (prober, PROBE_MS, probe)):
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.timeout.connect(slot)
        timer.start(interval)
    collecting: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[:] = [time.perf_counter()]
        elif collecting:
            res.gc_pauses.append((info["generation"], time.perf_counter() - collecting[0]))

    gc.callbacks.append(on_gc)
    res.marks.append((0, time.process_time()))
    try:
        loop.exec()
    finally:
        gc.callbacks.remove(on_gc)
    prober.stop()
    res.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


_keep: list[object] = []


def incremental() -> Callable[[str], None]:
    """The app's transcript and its streaming reply."""
    view = TranscriptView()
    view.resize(900, 700)
    view.show()
    _keep.append(view)
    view.add_user_message(PROMPT)
    return view.begin_assistant(label="benchmark").append_text


def naive() -> Callable[[str], None]:
    """A full `setMarkdown` of the whole reply on every (frame-coalesced) update."""
    view = QTextBrowser()
    view.resize(900, 700)
    view.show()
    view.document().setUndoRedoEnabled(False)
    _keep.append(view)
    parts: list[str] = []
    timer = QTimer(view)
    timer.setSingleShot(True)
    timer.setInterval(FRAME_MS)

    def render() -> None:
        view.document().setMarkdown("".join(parts), MARKDOWN_FEATURES)
        bar = view.verticalScrollBar()
        bar.setValue(bar.maximum())

    timer.timeout.connect(render)

    def append(token: str) -> None:
        parts.append(token)
        if not timer.isActive():
            timer.start()

    return append


def feeder_only() -> Callable[[str], None]:
    return lambda _token: None


def settle() -> None:
    """Let the previous view's deletion and pending paints run before the next target."""
    for view in _keep:
        view.deleteLater()  # type: ignore[attr-defined]
    _keep.clear()
    loop = QEventLoop()
    QTimer.singleShot(300, loop.quit)
    loop.exec()


def reply_tokens(total: int) -> tuple[list[str], int]:
    """The mock's reply repeated to about `total` tokens (whole copies), and one copy's length."""
    copy = reply_for(PROMPT)
    return copy * max(1, round(total / len(copy))), len(copy)


def median_result(results: list[Result], copy: int) -> dict[str, float]:
    """Medians over runs of each figure (each run's figures come from one stream)."""

    def med(f: Callable[[Result], float]) -> float:
        return statistics.median(f(r) for r in results)

    n = results[0].tokens
    span = copy * -(-WINDOW // copy)  # whole copies, at least WINDOW tokens
    skip = copy * -(-SKIP // copy)
    start = skip if skip + 2 * span <= n else 0
    return {
        "tokens": n,
        "at1k": med(lambda r: r.cost_over(start, min(n, start + span))),
        "atend": med(lambda r: r.cost_over(max(0, n - span), n)),
        "worst": med(lambda r: r.lag(1.0)),
        "p99": med(lambda r: r.lag(0.99)),
        "rss": max(r.rss_mb for r in results),
        "gc_worst": max((p for r in results for _g, p in r.gc_pauses), default=0.0) * 1000,
        "gc_full": max(sum(1 for g, _p in r.gc_pauses if g == 2) for r in results),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=50_000)
    parser.add_argument("--naive-tokens", type=int, default=0, help="default: --tokens")
    parser.add_argument("--rate", type=float, default=1000.0, help="tokens per second")
    parser.add_argument("--runs", type=int, default=1, help="runs per target; medians")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication(sys.argv)
    warm(COMMON)  # as the app does once it has started (MainWindow._prewarm)
    wait_warm(60.0)
    # As the app does once it has started (ui/app.py): what start-up made is not walked again
    # by the collector's full passes.
    gc.freeze()
    plan = [
        ("incremental", args.tokens, incremental),
        ("naive setMarkdown", args.naive_tokens or args.tokens, naive),
        ("feeder only", min(args.tokens, 5000), feeder_only),
    ]
    results: dict[str, list[Result]] = {name: [] for name, _n, _f in plan}
    copy = len(reply_for(PROMPT))
    for _ in range(args.runs):
        for name, n, make in plan:
            tokens, _ = reply_tokens(n)
            append = make()
            results[name].append(feed(name, tokens, args.rate, append))
            settle()
    figures = {name: median_result(rs, copy) for name, rs in results.items()}
    own = figures["feeder only"]["atend"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"Render cost per token, tokens fed at {args.rate:g}/s on Qt's loop, "
        f"median of {args.runs} (load average {load:.1f})"
    )
    print(
        f"{'target':<19}{'tokens':>7}{'µs/tok@1k':>11}{'µs/tok@end':>12}{'end/1k':>8}"
        f"{'worst lag':>11}{'p99 lag':>9}{'peak RSS':>10}{'longest GC':>12}{'full GCs':>10}"
    )
    rows = {}
    for name, f in figures.items():
        at1k, atend = f["at1k"] - own, f["atend"] - own
        if name == "feeder only":
            at1k, atend = f["at1k"], f["atend"]
        ratio = atend / max(at1k, 1e-9)
        rows[name] = (at1k, atend, ratio)
        print(
            f"{name:<19}{f['tokens']:>7.0f}{at1k:>11.1f}{atend:>12.1f}{ratio:>8.2f}"
            f"{f['worst']:>9.1f}ms{f['p99']:>7.1f}ms{f['rss']:>8.0f}MB"
            f"{f['gc_worst']:>10.1f}ms{f['gc_full']:>10.0f}"
        )
    print(
        f"µs/tok: CPU of the process (all threads) per token over the same {copy}-token reply "
        "copies after token 1,000 and at the end, minus the feeder's own; peak RSS: the "
        "process's high-water mark so far; longest GC: the longest collection of any run, "
        "full GCs: the most full (generation 2) collections in one run"
    )
    inc, base = rows["incremental"], rows["naive setMarkdown"]
    print(
        f"naive vs incremental: {base[0] / max(inc[0], 1e-9):.1f}x at 1k, "
        f"{base[1] / max(inc[1], 1e-9):.1f}x at the end"
    )
    worst, p99 = figures["incremental"]["worst"], figures["incremental"]["p99"]
    goals = {
        f"cost at end within {GOAL_COST_RATIO}x of at 1k": inc[2] <= GOAL_COST_RATIO,
        f"worst lag < {GOAL_WORST_MS:.0f} ms": worst < GOAL_WORST_MS,
        f"p99 lag < {GOAL_P99_MS:.0f} ms": p99 < GOAL_P99_MS,
    }
    for goal, met in goals.items():
        print(f"goal (incremental): {goal}: {'met' if met else 'NOT met'}")
    return 1 if args.strict and not all(goals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
