"""The start-up probe's ready-to-send, as benchmarks/startup.py reads it from a fresh app."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamdesk.head_start import wanted
from streamdesk.startup_probe import (
    HELPER_CPU_MARKER,
    KEY_MARKER,
    MARKER,
    READY_MARKER,
    WAIT_MARKER,
)

ENTRY = Path(__file__).resolve().parents[3] / "packaging" / "entry.py"


def test_a_first_run_app_is_ready_to_send_after_its_first_paint(tmp_path: Path) -> None:
    """Nothing configured: the offline demo answers, so the window can send; each line gives
    the wall-clock time and the process's CPU time, ready after the first paint. The key the
    probe pressed as the first frame was done reached the prompt before the window was ready
    (start-up handles input between the parts of its build)."""
    env = dict(
        os.environ,
        STREAMDESK_STARTUP_PROBE="ready",
        STREAMDESK_HOME=str(tmp_path / "home"),
        QT_QPA_PLATFORM="offscreen",
    )
    env.pop("STREAMDESK_API_KEY", None)
    before = time.time()
    result = subprocess.run(
        [sys.executable, str(ENTRY)], capture_output=True, text=True, timeout=90, env=env
    )
    after = time.time()
    assert result.returncode == 0, result.stderr
    marks = [line.split() for line in result.stdout.splitlines() if line.startswith("STREAMDESK_")]
    names = [m[0] for m in marks]
    expected = [MARKER, READY_MARKER, HELPER_CPU_MARKER, KEY_MARKER, WAIT_MARKER]
    assert names == expected, result.stdout + result.stderr
    (_, paint, paint_cpu), (_, ready, ready_cpu), (_, helper), (_, key, _), (_, wait) = marks
    assert (float(helper) > 0) == wanted()  # the head start's CPU time, when there is one
    assert before < float(paint) <= float(ready) < after
    assert 0 < float(paint_cpu) <= float(ready_cpu)
    assert float(paint) <= float(key) < float(ready), "the key waited for the whole start"
    assert 0 <= float(wait) < float(ready) - float(paint)


WARM_SCRIPT = """
import asyncio, gc, sys
from streamdesk.ui.app import start_window

window, loop = start_window(["streamdesk"])

async def main():
    warm = asyncio.get_running_loop().create_future()
    window.warmedUp.connect(lambda: warm.done() or warm.set_result(None))
    print("frozen before start", gc.get_freeze_count(), flush=True)
    await window.start()
    await asyncio.wait_for(warm, 60)
    print("frozen once warm", gc.get_freeze_count(), flush=True)
    window.close()
    await window.shutdown()

with loop:
    loop.run_until_complete(main())
"""


def test_what_start_up_made_is_frozen_for_the_collector_once_warm(tmp_path: Path) -> None:
    """A full collection would walk every object start-up made, on the window's loop; the app
    freezes them (gc.freeze) once the request path is warm, not before."""
    env = dict(os.environ, STREAMDESK_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    env.pop("STREAMDESK_API_KEY", None)
    env.pop("STREAMDESK_STARTUP_PROBE", None)
    result = subprocess.run(
        [sys.executable, "-c", WARM_SCRIPT], capture_output=True, text=True, timeout=90, env=env
    )
    assert result.returncode == 0, result.stderr
    counts = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines())
    assert counts["frozen before start"] == "0"
    assert int(counts["frozen once warm"]) > 10_000, result.stdout


HEAD_START_SCRIPT = """
import asyncio, os, sys
from streamdesk.head_start import HeadStart

head = HeadStart.begin()
from streamdesk.ui.app import start_window

window, loop = start_window(["streamdesk"], head)

async def main():
    await window.start()
    print("offline", window.offline, "demo in child", window.mock is not None and
          getattr(window.mock, "pid", None) == head.pid, flush=True)
    session = window.current_session()
    done = asyncio.get_running_loop().create_future()
    session.finished.connect(lambda key, status: done.done() or done.set_result(status))
    session.send("Hello from the head start")
    print("status", await asyncio.wait_for(done, 60), flush=True)
    window.close()
    await window.shutdown()
    try:
        os.kill(head.pid, 0)
        print("child left False", flush=True)
    except ProcessLookupError:
        print("child left True", flush=True)

with loop:
    loop.run_until_complete(main())
"""


def run_unconfigured(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter with nothing configured (no keychain, no key, a new
    home) and the head start on; it must exit 0."""
    env = dict(os.environ, STREAMDESK_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # nothing stored
    for name in ("STREAMDESK_API_KEY", "STREAMDESK_STARTUP_PROBE", "STREAMDESK_HEAD_START"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.skipif(not wanted(), reason="no head start here (one core, not Linux, or off)")
def test_the_head_starts_demo_answers_the_window_and_ends_with_it(tmp_path: Path) -> None:
    """Nothing configured: the demo the head start's process serves is the window's offline
    demo; a prompt gets its whole reply from it, and closing the window ends that process."""
    result = run_unconfigured(HEAD_START_SCRIPT, tmp_path)
    assert result.stdout.splitlines() == [
        "offline True demo in child True",
        "status complete",
        "child left True",
    ], result.stdout + result.stderr


DEMO_LOST_SCRIPT = """
import asyncio, os, signal
from streamdesk.head_start import HeadStart

head = HeadStart.begin()
from streamdesk.ui.app import start_window

window, loop = start_window(["streamdesk"], head)

async def reply(session, prompt):
    done = asyncio.get_running_loop().create_future()
    def finished(key, status):
        if not done.done():
            done.set_result(status)
    session.finished.connect(finished)
    session.send(prompt)
    status = await asyncio.wait_for(done, 60)
    session.finished.disconnect(finished)
    return status

async def main():
    await window.start()
    session = window.current_session()
    print("first", await reply(session, "Hello before"), flush=True)
    moved = asyncio.get_running_loop().create_future()
    window.switcher.demoMoved.connect(lambda: moved.done() or moved.set_result(None))
    os.kill(head.pid, signal.SIGKILL)
    await asyncio.wait_for(moved, 30)
    print("offline", window.offline, "own server", type(window.mock).__name__, flush=True)
    print("same chat", await reply(session, "Hello after"), flush=True)
    window.close()
    await window.shutdown()

with loop:
    loop.run_until_complete(main())
"""


@pytest.mark.skipif(not wanted(), reason="no head start here (one core, not Linux, or off)")
def test_the_demo_goes_on_when_the_head_starts_process_dies(tmp_path: Path) -> None:
    """The process serving the demo is killed: the window starts a server of its own, and the
    chat held with the demo gets its next reply from it."""
    result = run_unconfigured(DEMO_LOST_SCRIPT, tmp_path)
    assert result.stdout.splitlines() == [
        "first complete",
        "offline True own server MockServer",
        "same chat complete",
    ], result.stdout + result.stderr
