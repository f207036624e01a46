"""Render benchmark: stream a long Markdown reply into the transcript, offscreen, on qasync.

The reply comes from the real mock server (`streamdesk.mock.MockServer`, on the same qasync loop,
paced by `X-Mock-Tokens-Per-Second`; headings, lists, tables, fenced code) through the real SSE
transport and `stream_chat`; each `TextDelta` goes to `ReplyView.append_text` of the real
`TranscriptView`. Reported per mode: the event loop's worst and p99 lag (a 5 ms QTimer probe,
lateness beyond its interval), CPU time per token near token 1,000 and near the last token, and
peak RSS. The baseline is a naive full `QTextBrowser.setMarkdown` per frame, fed the same way in
the same run; a run with no view measures the pipeline's own CPU cost, subtracted in `render@end`.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/render.py [--tokens N] [--naive-tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QTextBrowser

from streamdesk.core.events import Failure, TextDelta, Usage
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import stream_chat
from streamdesk.core.transports import make_transport
from streamdesk.mock import MockServer
from streamdesk.ui.qtloop import QtEventLoop
from streamdesk.ui.transcript.highlight import wait_warm
from streamdesk.ui.transcript.safe_document import MARKDOWN_FEATURES
from streamdesk.ui.transcript.view import TranscriptView

PROBE_MS = 5
PROMPT = "benchmark: a long reply with code, lists and tables"


@dataclass
class Result:
    name: str
    tokens: int
    lags: list[float] = field(default_factory=list)
    marks: list[tuple[int, float]] = field(default_factory=list)  # (tokens fed, CPU seconds)
    seconds: float = 0.0
    deltas: int = 0  # TextDelta events received (the mock sends one token per chunk)
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
    server: MockServer,
    name: str,
    tokens: int,
    rate: float,
    start: Callable[[], Callable[[str], None]],
) -> Result:
    """Stream a `tokens`-long reply from the mock at `rate`/s into `start()`'s append function
    through the real SSE transport, probing the event loop meanwhile."""
    res = Result(name, tokens)
    append = start()
    await asyncio.sleep(0.5)  # as in the app: the window is up (and lexers warm) before a reply
    await asyncio.to_thread(wait_warm, 60.0)
    last_probe = time.monotonic()

    def probe() -> None:
        nonlocal last_probe
        now = time.monotonic()
        res.lags.append(max(0.0, now - last_probe - PROBE_MS / 1000))
        last_probe = now

    headers = {"X-Mock-Tokens-Per-Second": f"{rate:g}", "X-Mock-Tokens": str(tokens)}
    request = ChatRequest(model="gpt-4.1", messages=(Message("user", PROMPT),))
    probe_timer = QTimer()
    probe_timer.timeout.connect(probe)
    transport = make_transport("sse", Endpoint(base_url=server.sse_base_url), extra_headers=headers)
    events = stream_chat(transport, request, timeouts=Timeouts(first_token=60, stall=60))
    t0 = time.monotonic()
    fed = 0
    try:
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, TextDelta):
                    if not fed:  # connection set-up is the netstats benchmark's business
                        last_probe = time.monotonic()
                        probe_timer.start(PROBE_MS)
                    append(event.text)
                    fed += 1
                    res.marks.append((fed, time.process_time()))
                elif isinstance(event, Usage):
                    res.tokens = event.completion_tokens
                elif isinstance(event, Failure):
                    raise StreamFailed(f"{name}: the stream failed: {event.message}")
    finally:
        await transport.aclose()
    await asyncio.sleep(0.1)  # let the last frame render
    probe_timer.stop()
    res.deltas = fed
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


def no_view() -> Callable[[str], None]:
    """The pipeline alone (mock server, SSE transport, `stream_chat`): what rendering adds to."""
    return lambda _text: None


class StreamFailed(Exception):
    """The reply did not arrive whole: the run measures nothing and is repeated."""


async def measured(
    server: MockServer, name: str, tokens: int, rate: float, start: Callable[[], Any]
) -> Result:
    """`run`, repeated (at most twice more) when the stream itself failed; said on stderr."""
    for attempt in range(3):
        try:
            return await run(server, name, tokens, rate, start)
        except StreamFailed as exc:
            print(f"attempt {attempt + 1}: {exc}", file=sys.stderr)
    raise SystemExit(f"{name}: the stream failed three times")


async def main(args: argparse.Namespace) -> list[Result]:
    plan = [("incremental", args.tokens, incremental)]
    plan += [("naive setMarkdown", args.naive_tokens, naive)] if args.naive_tokens else []
    plan += [("pipeline, no view", args.pipeline_tokens, no_view)] if args.pipeline_tokens else []
    async with MockServer() as server:
        return [await measured(server, name, n, args.rate, start) for name, n, start in plan]


def report(results: list[Result], first: int) -> None:
    pipe = next((r for r in results if r.name.startswith("pipeline")), None)
    net = pipe.cost_near(pipe.tokens) if pipe else 0.0
    print(
        f"{'mode':<20}{'tokens':>8}{'worst lag':>11}{'p99 lag':>9}"
        f"{'µs/tok@1k':>11}{'µs/tok@end':>12}{'end/1k':>8}{'render@end':>12}{'peak RSS':>10}"
    )
    for r in results:
        near, end = r.cost_near(first), r.cost_near(r.tokens)
        print(
            f"{r.name:<20}{r.tokens:>8}{r.lag(1.0):>9.1f}ms{r.lag(0.99):>7.1f}ms"
            f"{near:>11.1f}{end:>12.1f}{end / max(near, 1e-9):>8.2f}"
            f"{max(0.0, end - net):>12.1f}{r.rss_mb:>8.0f}MB"
        )
    print(
        "µs/tok: CPU (all threads) per token over the 1,000 tokens before the mark; "
        "render@end: minus the pipeline's own cost; peak RSS: process high-water mark so far"
    )
    base = results[0]
    for r in (x for x in results[1:] if x.name.startswith("naive")):
        n = min(r.tokens, base.tokens)
        ratio = (r.cost_near(n) - net) / max(base.cost_near(n) - net, 1e-9)
        lag = r.lag(1.0) / max(base.lag(1.0), 1e-9)
        print(
            f"{r.name} vs incremental at token {n}: {ratio:.1f}x render CPU per token, "
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
    parser.add_argument(
        "--pipeline-tokens", type=int, default=5_000, help="pipeline-only run (0 skips it)"
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="tokens per second")
    ns = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    loop = QtEventLoop(app)  # the app's loop: qasync plus asyncio's async-generator hooks
    asyncio.set_event_loop(loop)
    with loop:
        results = loop.run_until_complete(main(ns))
        loop.run_until_complete(loop.shutdown_asyncgens())
    report(results, min(1000, ns.tokens))
