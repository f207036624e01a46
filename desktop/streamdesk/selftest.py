"""`streamdesk --selftest`: prove an installed copy (venv or frozen bundle) works end to end.

It starts offscreen, runs one conversation against the built-in mock over SSE and over
WebSocket through the real transports on the real qasync loop, renders the reply into the real
transcript widget, and names the keyring backend without reading or writing any key. One line
per check; exit 0 when all pass. Everything is written under a temporary STREAMDESK_HOME, so a
self-test never touches the user's settings, history or keychain.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from streamdesk import __version__

PROMPT = "Self-test: say something about streaming."
MODEL = "mock-selftest"
TIMEOUT_S = 30.0  # whole conversation; the mock answers in well under a second


class CheckFailed(Exception):
    """A check did not hold; the message says what was expected and what came instead."""


def _line(ok: bool, name: str, detail: str) -> None:
    print(f"[{'ok' if ok else 'FAIL':>4}] {name}: {detail}", flush=True)


def keyring_backend() -> str:
    """The backend keyring would use, or 'none available'. Never touches a stored key."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return "none available (keys would be kept in memory only)"
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


async def converse(kind: str, mock: Any, trace: Any = None) -> str:
    """One conversation over `kind` ("sse" | "ws") through the engine; returns the text."""
    from streamdesk.core.chat import Reply, Target, collect
    from streamdesk.core.providers import mock_provider
    from streamdesk.core.request import ChatRequest, Message, Timeouts

    provider = mock_provider(mock.sse_base_url, mock.ws_url)
    target = Target(
        provider,
        MODEL,
        kind,
        timeouts=Timeouts(connect=5.0, first_token=10.0, stall=10.0),
        max_retries=0,
    )
    request = ChatRequest(model=MODEL, messages=(Message("user", PROMPT),))
    reply = await collect(Reply(target), request, keys=None, trace=trace)
    if reply.failure is not None:
        raise CheckFailed(f"stream failed ({reply.failure.kind.value}): {reply.failure.message}")
    if reply.finish_reason is None and reply.status.value != "complete":
        raise CheckFailed("stream ended without Done or Failure")
    return reply.text


def render_transcript(tokens: list[str]) -> str:
    """Stream the reply into the real transcript widget offscreen, as the window does.

    No processEvents() here: a coroutine must not spin a nested event loop under qasync."""
    from streamdesk.ui.transcript.view import TranscriptView

    view = TranscriptView()
    view.resize(640, 480)
    view.show()
    view.add_user_message(PROMPT, key="prompt")
    live = view.begin_assistant(key="reply")
    for token in tokens:
        live.append_text(token)
    live.finish("complete")  # renders what is pending at once; grab() below paints
    text = "".join(tokens)
    if view.plain_text_of("reply") != text:
        raise CheckFailed("the transcript holds a different reply than it was given")
    shown = view.toPlainText()
    first_words = [w for w in text.split() if w.isalpha()][:3]
    if not all(w in shown for w in first_words):
        raise CheckFailed(f"the rendered transcript does not show {' '.join(first_words)!r}")
    image = view.grab()
    view.close()
    if image.isNull():
        raise CheckFailed("the transcript did not paint")
    return f"{len(shown)} characters rendered, {image.width()}x{image.height()} painted"


def check_chart(trace: Any) -> str:
    """Draw the inspector's token-gap chart of the WebSocket reply (pyqtgraph or QPainter)."""
    from streamdesk.ui.inspector.chart import chart_kind, make_chart

    chart = make_chart()
    chart.resize(480, 240)
    chart.set_trace(trace)
    points = len(chart.series()[1])
    image = chart.grab()
    if points < 2 or image.isNull():
        raise CheckFailed(f"the chart drew {points} gaps")
    return f"{points} token gaps drawn with {chart_kind(chart)}"


def check_icon() -> str:
    """The app icon ships with this copy and Qt reads every size (PNG, and SVG via its plugin)."""
    from PySide6.QtGui import QIcon, QPixmap

    from streamdesk.appicon import icon_dir, icon_pngs

    folder, pngs = icon_dir(), icon_pngs()
    if folder is None or not pngs:
        raise CheckFailed("no icon files found beside the package")
    for png in pngs:
        size = int(png.stem.rsplit("-", 1)[1])
        pixmap = QPixmap(str(png))
        if pixmap.isNull() or pixmap.width() != size:
            raise CheckFailed(f"Qt could not read {png}")
    if QIcon(str(folder / "streamdesk.svg")).pixmap(256, 256).isNull():
        raise CheckFailed("Qt could not render streamdesk.svg (is the SVG image plugin bundled?)")
    return f"{len(pngs)} PNG sizes and the SVG load"


async def run_checks(checks: list[tuple[str, Callable[[], Awaitable[str]]]]) -> int:
    failures = 0
    for name, check in checks:
        try:
            detail = await asyncio.wait_for(check(), TIMEOUT_S)
        except Exception as exc:  # one line per failed check, then carry on
            failures += 1
            message = str(exc) or type(exc).__name__
            _line(False, name, message)
            if os.environ.get("STREAMDESK_SELFTEST_TRACEBACK"):
                traceback.print_exc()
        else:
            _line(True, name, detail)
    return failures


async def _selftest() -> int:
    from streamdesk.mock import MockServer, reply_for

    tokens = reply_for(PROMPT)
    expected = "".join(tokens)
    # Full speed: the self-test checks the path, not the pace (a 500-token reply in ~0.1 s).
    async with MockServer(tokens_per_second=0, first_token_delay=0.0) as mock:
        from streamdesk.core.trace import StreamTrace

        ws_trace = StreamTrace()

        def conversation(kind: str) -> Callable[[], Awaitable[str]]:
            async def check() -> str:
                started = time.perf_counter()
                text = await converse(kind, mock, ws_trace if kind == "ws" else None)
                if text != expected:
                    raise CheckFailed(
                        f"reply differs from the mock's ({len(text)} vs {len(expected)} chars)"
                    )
                ms = (time.perf_counter() - started) * 1000
                return f"{len(text)} characters, as expected, in {ms:.0f} ms"

            return check

        async def keyring_check() -> str:
            return keyring_backend()

        async def transcript_check() -> str:
            return render_transcript(tokens)

        async def icon_check() -> str:
            return check_icon()

        async def chart_check() -> str:
            return check_chart(ws_trace)

        return await run_checks(
            [
                ("conversation over SSE", conversation("sse")),
                ("conversation over WebSocket", conversation("ws")),
                ("keyring backend", keyring_check),
                ("transcript widget", transcript_check),
                ("inspector chart", chart_check),
                ("app icon", icon_check),
            ]
        )


def run_selftest() -> int:
    """Entry point of `streamdesk --selftest`; 0 when every check passed, 1 otherwise."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    frozen = "bundle" if getattr(sys, "frozen", False) else "python"
    print(f"streamdesk {__version__} self-test ({frozen}, Python {sys.version.split()[0]})")
    with tempfile.TemporaryDirectory(prefix="streamdesk-selftest-") as home:
        os.environ["STREAMDESK_HOME"] = home
        try:
            failures = _run_in_qt(_selftest)
        except Exception as exc:  # setup failed before any check ran (missing module, no Qt)
            print(f"streamdesk self-test could not start: {type(exc).__name__}: {exc}")
            if os.environ.get("STREAMDESK_SELFTEST_TRACEBACK"):
                traceback.print_exc()
            return 2
    print("self-test passed" if failures == 0 else f"self-test FAILED: {failures} check(s) failed")
    return 0 if failures == 0 else 1


def _run_in_qt(main: Callable[[], Awaitable[int]]) -> int:
    """Run `main` on a qasync loop over a QApplication, as the window does."""
    from PySide6 import __version__ as pyside_version
    from PySide6.QtWidgets import QApplication

    from streamdesk.ui.qtloop import GuiThreadCollector, QtEventLoop

    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", "offscreen"])
    # As in the app: closing the transcript (the only window) must not quit Qt, or qasync's
    # loop stops under the running coroutine ("no running event loop" in the next check).
    QApplication.setQuitOnLastWindowClosed(False)
    platform = QApplication.platformName()
    _line(True, "Qt", f"PySide6 {pyside_version}, platform {platform}")
    # The loop installs asyncio's async-generator hooks while it runs, so a generator left
    # suspended (httpcore's byte stream after a `return` inside `async for`) is finalised on
    # the loop; the generators still open are shut down on it, as asyncio.run() does.
    loop = QtEventLoop(app)
    collector = GuiThreadCollector(app)  # as the app collects: on the GUI thread only
    collector.start()
    try:
        failures: int = loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_asyncgens())
        return failures
    finally:
        collector.stop()
        loop.close()
