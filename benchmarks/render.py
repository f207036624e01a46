"""Render benchmark: stream a long Markdown reply into the transcript, offscreen, on qasync.

Tokens come from the mock's deterministic reply (`streamdesk.mock.replies.reply_for`: headings,
lists, tables, fenced code) and arrive from a timer at --rate tokens/s into the real
`TranscriptView`. Reported per mode: the event loop's worst and p99 lag (a 5 ms QTimer probe,
lateness beyond its interval), CPU time per token near token 1,000 and near the last token, and
peak RSS. The baseline is a naive full `QTextBrowser.setMarkdown` per frame, in the same run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/render.py [--tokens N] [--naive-tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync  # type: ignore[import-untyped]
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QTextBrowser

from streamdesk.mock.replies import reply_for
from streamdesk.ui.highlight import wait_warm
from streamdesk.ui.safe_document import MARKDOWN_FEATURES
from streamdesk.ui.transcript import TranscriptView

PROBE_MS = 5
FEED_MS = 4


@dataclass
class Result:
    name: str
    tokens: int
    lags: list[float] = field(default_factory=list)
    marks: list[tuple[int, float]] = field(default_factory=list)  # (tokens fed, CPU seconds)
    seconds: float = 0.0
    rss_mb: float = 0.0

    def cost_near(self, token: int, window: int = 1000) -> float:
        """CPU microseconds per token over a window of tokens ending near `token`."""
        lo, hi = max(0, token - window), token
        a = min(self.marks, key=lambda m: abs(m[0] - lo))
        b = min(self.marks, key=lambda m: abs(m[0] - hi))
        return (b[1] - a[1]) / max(1, b[0] - a[0]) * 1e6

    def lag(self, q: float) -> float:
        s = sorted(self.lags)
        return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else 0.0


async def run(
    name: str, tokens: list[str], rate: float, start: Callable[[], Callable[[str], None]]
) -> Result:
    """Feed `tokens` at `rate`/s through `start()`'s append function; probe the loop meanwhile."""
    res = Result(name, len(tokens))
    append = start()
    await asyncio.sleep(0.5)  # as in the app: the window is up (and lexers warm) before a reply
    await asyncio.to_thread(wait_warm, 60.0)
    done = asyncio.get_running_loop().create_future()
    t0 = time.monotonic()
    fed = 0
    last_probe = time.monotonic()

    def probe() -> None:
        nonlocal last_probe
        now = time.monotonic()
        res.lags.append(max(0.0, now - last_probe - PROBE_MS / 1000))
        last_probe = now

    def feed() -> None:
        nonlocal fed
        due = min(len(tokens), int((time.monotonic() - t0) * rate) + 1)
        while fed < due:
            append(tokens[fed])
            fed += 1
        res.marks.append((fed, time.process_time()))
        if fed >= len(tokens) and not done.done():
            done.set_result(None)

    probe_timer, feed_timer = QTimer(), QTimer()
    probe_timer.timeout.connect(probe)
    feed_timer.timeout.connect(feed)
    probe_timer.start(PROBE_MS)
    feed_timer.start(FEED_MS)
    await done
    await asyncio.sleep(0.1)  # let the last frame render
    probe_timer.stop()
    feed_timer.stop()
    res.seconds = time.monotonic() - t0
    res.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def incremental() -> Callable[[str], None]:
    view = TranscriptView()
    view.resize(900, 700)
    view.show()
    _keep.append(view)
    view.add_user_message("Explain incremental rendering")
    return view.begin_assistant(label="mock").append_text


def naive() -> Callable[[str], None]:
    """What peer clients do: re-parse the whole reply on every (frame-coalesced) update."""
    view = QTextBrowser()
    view.resize(900, 700)
    view.show()
    view.document().setUndoRedoEnabled(False)
    _keep.append(view)
    parts: list[str] = []
    timer = QTimer(view)
    timer.setSingleShot(True)
    timer.setInterval(16)

    def render() -> None:
        view.document().setMarkdown("".join(parts), MARKDOWN_FEATURES)
        bar = view.verticalScrollBar()
        bar.setValue(bar.maximum())

    timer.timeout.connect(render)

    def append(tok: str) -> None:
        parts.append(tok)
        if not timer.isActive():
            timer.start()

    return append


_keep: list[object] = []


async def main(args: argparse.Namespace) -> list[Result]:
    tokens = reply_for("benchmark: a long reply with code, lists and tables", args.tokens)
    results = [await run("incremental", tokens, args.rate, incremental)]
    if args.naive_tokens:
        results.append(
            await run("naive setMarkdown", tokens[: args.naive_tokens], args.rate, naive)
        )
    return results


def report(results: list[Result], first: int) -> None:
    print(
        f"{'mode':<20}{'tokens':>8}{'worst lag':>11}{'p99 lag':>9}"
        f"{'µs/tok@1k':>11}{'µs/tok@end':>12}{'end/1k':>8}{'peak RSS':>10}"
    )
    base = results[0]
    for r in results:
        near, end = r.cost_near(first), r.cost_near(r.tokens)
        print(
            f"{r.name:<20}{r.tokens:>8}{r.lag(1.0):>9.1f}ms{r.lag(0.99):>7.1f}ms"
            f"{near:>11.1f}{end:>12.1f}{end / max(near, 1e-9):>8.2f}{r.rss_mb:>8.0f}MB"
        )
    for r in results[1:]:
        n = min(r.tokens, base.tokens)
        ratio = r.cost_near(n) / max(base.cost_near(n), 1e-9)
        lag = r.lag(1.0) / max(base.lag(1.0), 1e-9)
        print(
            f"{r.name} vs incremental at token {n}: {ratio:.1f}x CPU per token, "
            f"{lag:.1f}x worst lag"
        )
    ok = base.lag(1.0) < 50 and base.cost_near(base.tokens) / base.cost_near(first) < 1.5
    print("targets (worst lag < 50 ms, cost ratio < 1.5):", "met" if ok else "NOT met")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=50_000)
    parser.add_argument(
        "--naive-tokens",
        type=int,
        default=10_000,
        help="baseline length (0 skips it; it is quadratic)",
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="tokens per second")
    ns = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    results = qasync.run(main(ns))
    report(results, min(1000, ns.tokens))
