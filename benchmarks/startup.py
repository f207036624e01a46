"""Start-up time: first paint and ready-to-send, the app against a bare window, fresh processes.

Measured in one run, interleaved round by round so a busy machine slows every target alike:

- bare:   a PySide6 window showing one label (the floor any Qt app starts from);
- floor:  the bare window that, after its first paint, loads asyncio and qasync and looks one
          key up in the keychain: the least a window that can send has done, none of the app's
          code (what the 2x goal leaves for everything else);
- venv:   the app from the virtualenv (`python packaging/entry.py`, what `streamdesk` runs);
- venv, no head start: the same with STREAMDESK_HEAD_START=0: the window reads the keychain and
          starts the demo's mock itself, after its build, instead of a process started before Qt
          loads doing it meanwhile (streamdesk/head_start.py);
- bundle: dist/streamdesk/streamdesk (one-folder), when built;
- onefile: dist/streamdesk-onefile, when built (it unpacks itself on every start);
- long history: the venv app over a history of --history conversations of 60 messages each
          (prompts and Markdown replies with code, as benchmarks/long_chat.py writes them;
          1,000 by default, ~80 MB): the list fills and the newest conversation reopens.

Each child is a fresh process with STREAMDESK_STARTUP_PROBE=ready (streamdesk/startup_probe.py):
it prints `time.time()` at its first painted frame and again once the window can send (the
prompt and Send enabled, a chat taking the prompt, the provider resolved: its key looked up, or
the offline demo's mock started when nothing is configured, as on a first run; and what
start-up queued on Qt's loop has run, so a key pressed then is handled at once); the parent
subtracts its own `time.time()` taken just before the spawn. The bare window's ready-to-send is
its first paint. Typing while the app starts is measured too: the probe presses a key for the
prompt as the first frame is done and reports when the prompt got it, and the longest a 5 ms
timer (any input) waited from then until ready-to-send; a prompt sent before ready-to-send is
held and goes out then. The CPU columns (the child's own, all threads) say the same with less
noise from whatever else runs on the machine; the last one is the CPU its head start process
used by then, on the other core (the total work start-up did is the sum). One warm-up run per
target is discarded (byte code compiled, files in the page cache); the median of the rest
counts. Children get a temporary STREAMDESK_HOME and byte-code cache. Goals (issue 19): first
paint within 1.3x the bare window's, ready-to-send within 2x the bare window's first paint.

Run: sh tests/with-keyring.sh .venv/bin/python benchmarks/startup.py [--runs N] [--importtime]
     [--no-bundle] [--history N]  (with-keyring: a real Secret Service, as on a desktop)
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PAINT_MARKER = "STREAMDESK_FIRST_PAINT"
READY_MARKER = "STREAMDESK_READY_TO_SEND"
KEY_MARKER = "STREAMDESK_FIRST_KEY"
WAIT_MARKER = "STREAMDESK_LONGEST_INPUT_WAIT"
HELPER_MARKER = "STREAMDESK_HELPER_CPU"
GOAL_PAINT = 1.3
GOAL_READY = 2.0
TIMEOUT_S = 60.0
BARE = "bare PySide6 window"
FLOOR = "floor: bare + loop + key"
LONG_HISTORY = "app (venv), long history"
NO_HEAD_START = "app (venv), no head start"
HISTORY_MESSAGES = 60  # per conversation of the long history

BARE_WINDOW = """
import os, sys
os.environ["STREAMDESK_STARTUP_PROBE"] = "1"  # leave at the first paint: ready when painted
from PySide6.QtWidgets import QApplication, QLabel
from streamdesk import startup_probe
app = QApplication(sys.argv)
label = QLabel("Hello from a bare PySide6 window")
label.resize(900, 640)
label.show()
startup_probe.install(label)
app.exec()
"""


# The least any window that can send has loaded at ready-to-send, with none of the app's code:
# the bare window, then (after its first paint) asyncio and qasync, and one keychain look-up.
FLOOR_WINDOW = """
import os, sys, time
os.environ["STREAMDESK_STARTUP_PROBE"] = "1"
from PySide6.QtWidgets import QApplication, QLabel
from streamdesk import startup_probe
app = QApplication(sys.argv)
label = QLabel("Hello from a bare PySide6 window")
label.resize(900, 640)
label.show()

def after_paint():
    sys.stdout.write(f"{startup_probe.MARKER} {time.time():.6f} {time.process_time():.6f}\\n")
    import asyncio, qasync, keyring, keyring.core
    try:  # as the app picks it on Linux (core/store/secrets.py), without keyring's detection
        keyring.set_keyring(keyring.core.load_keyring("keyring.backends.SecretService.Keyring"))
    except Exception:
        pass
    keyring.get_password("streamdesk", "nobody")
    ready = f"{startup_probe.READY_MARKER} {time.time():.6f} {time.process_time():.6f}\\n"
    sys.stdout.write(ready)
    sys.stdout.flush()
    os._exit(0)

label.installEventFilter(startup_probe.FirstPaint(label, label, after_paint))
app.exec()
"""


def targets(bundles: bool = True) -> dict[str, list[str]]:
    """Command lines to measure, bare first (the baseline); the built bundles if `bundles`."""
    python = sys.executable
    found = {
        BARE: [python, "-c", BARE_WINDOW],
        FLOOR: [python, "-c", FLOOR_WINDOW],
        "app (venv)": [python, str(ROOT / "packaging" / "entry.py")],
    }
    exe = ".exe" if sys.platform == "win32" else ""
    bundle = ROOT / "dist" / "streamdesk" / f"streamdesk{exe}"
    onefile = ROOT / "dist" / f"streamdesk-onefile{exe}"
    if bundles and bundle.exists():
        found["app (one-folder bundle)"] = [str(bundle)]
    if bundles and onefile.exists():
        found["app (one-file bundle)"] = [str(onefile)]
    return found


def child_env(scratch: Path, probe: str, home: str = "home") -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["STREAMDESK_STARTUP_PROBE"] = probe
    env["STREAMDESK_HOME"] = str(scratch / home)
    # Warm means compiled: let the venv children cache byte code, outside the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


class Marks(NamedTuple):
    """One start: seconds from just before the spawn (wall) and of the child's CPU (all its
    threads, load-proof) to its first paint and to ready-to-send; when the key pressed as the
    first frame was done reached the prompt, and the longest any input waited from then until
    ready-to-send (nan: the bare window, or an app without the probe's key)."""

    paint: float
    ready: float
    paint_cpu: float
    ready_cpu: float
    key: float = math.nan
    longest_wait: float = math.nan
    helper_cpu: float = 0.0  # the CPU seconds of its head start process by ready-to-send


def seed_history(home: Path, conversations: int) -> None:
    """`conversations` stored conversations of HISTORY_MESSAGES messages under `home`."""
    from history import insert_rows  # benchmarks/history.py
    from long_chat import prompt, reply  # benchmarks/long_chat.py
    from streamdesk.core.providers import MOCK_PROVIDER_ID
    from streamdesk.core.store.history import HistoryStore

    path = home / "data" / "history.sqlite3"
    path.parent.mkdir(parents=True)
    with HistoryStore(path) as store:
        cids = [
            store.create_conversation(title=f"Chat {n}", provider=MOCK_PROVIDER_ID)
            for n in range(conversations)
        ]
    insert_rows(
        path,
        (
            (cid, "user" if i % 2 == 0 else "assistant",
             prompt(HISTORY_MESSAGES, n, i // 2) if i % 2 == 0 else reply(i // 2))
            for n, cid in enumerate(cids) for i in range(HISTORY_MESSAGES)
        ),
    )  # fmt: skip


def timings(cmd: list[str], env: dict[str, str]) -> Marks:
    """When the child painted its first frame and when it could send."""
    started = time.time()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:  # run() has killed it
        raise RuntimeError(f"{cmd[-1]!r} was not ready within {TIMEOUT_S:.0f} s") from None
    marks = {  # an app built before the probe gave its CPU time: nan
        fields[0]: (float(fields[1]), float(fields[2]) if len(fields) > 2 else math.nan)
        for fields in (line.split() for line in proc.stdout.splitlines())
        if len(fields) >= 2 and fields[0].startswith("STREAM")
    }
    if PAINT_MARKER not in marks:
        raise RuntimeError(
            f"{cmd[-1]!r} exited {proc.returncode} without reporting a first paint "
            f"(is the probe wired in?)\n{proc.stderr[-2000:]}"
        )
    paint, paint_cpu = marks[PAINT_MARKER]
    if cmd[1:2] == ["-c"] and READY_MARKER not in marks:  # the bare window: ready when painted
        return Marks(paint - started, paint - started, paint_cpu, paint_cpu)
    if READY_MARKER not in marks:
        raise RuntimeError(
            f"{cmd[-1]!r} exited {proc.returncode} without being able to send "
            f"({', '.join(marks)})\n{proc.stderr[-2000:]}"
        )
    ready, ready_cpu = marks[READY_MARKER]
    key = marks[KEY_MARKER][0] - started if KEY_MARKER in marks else math.nan
    wait = marks[WAIT_MARKER][0] if WAIT_MARKER in marks else math.nan
    helper = marks[HELPER_MARKER][0] if HELPER_MARKER in marks else 0.0
    return Marks(paint - started, ready - started, paint_cpu, ready_cpu, key, wait, helper)


def import_offenders(env: dict[str, str], top: int) -> str:
    """The app's slowest imports by cumulative time (`python -X importtime`), warm."""
    cmd = [sys.executable, "-X", "importtime", str(ROOT / "packaging" / "entry.py")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((int(cumulative), int(own), name.rstrip()))
    rows.sort(reverse=True)
    lines = [f"{'cumulative ms':>14} {'self ms':>8}  module"]
    lines += [f"{c / 1000:14.1f} {s / 1000:8.1f}  {n}" for c, s, n in rows[:top]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs per target (7)")
    parser.add_argument("--importtime", action="store_true", help="also list the slowest imports")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a goal is missed")
    parser.add_argument("--no-bundle", action="store_true", help="the venv only, not dist/")
    parser.add_argument(
        "--history", type=int, default=1000, help="conversations of the long history (0: none)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="streamdesk-startup-") as tmp:
        env = child_env(Path(tmp), "ready")
        cmds = targets(not args.no_bundle)
        envs = dict.fromkeys(cmds, env)
        cmds[NO_HEAD_START] = cmds["app (venv)"]
        envs[NO_HEAD_START] = {**env, "STREAMDESK_HEAD_START": "0"}
        if args.history:
            seed_history(Path(tmp) / "long", args.history)
            cmds[LONG_HISTORY] = cmds["app (venv)"]
            envs[LONG_HISTORY] = child_env(Path(tmp), "ready", "long")
        runs: dict[str, list[Marks]] = {name: [] for name in cmds}
        for name, cmd in cmds.items():  # warm-up, discarded
            timings(cmd, envs[name])
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                runs[name].append(timings(cmd, envs[name]))
        offenders = import_offenders(env, 25) if args.importtime else ""

    def median(name: str, field: str) -> float:
        return statistics.median(float(getattr(m, field)) for m in runs[name])

    base, base_cpu = median(BARE, "paint"), median(BARE, "paint_cpu")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Start-up, median of {args.runs} warm runs, fresh processes (load average {load:.1f})")
    print(
        f"{'target':<26} {'first paint s':>13} {'x bare':>7} {'ready-to-send s':>16} "
        f"{'x bare paint':>13}  (min-max ready)   CPU s: paint  ready (x bare paint)"
        "  + head start's"
    )
    missed = []
    for name in cmds:
        p, r = median(name, "paint"), median(name, "ready")
        ready = [m.ready for m in runs[name]]
        cpu_p, cpu_r = median(name, "paint_cpu"), median(name, "ready_cpu")
        helper = median(name, "helper_cpu")
        print(
            f"{name:<26} {p:13.3f} {p / base:7.2f} {r:16.3f} {r / base:13.2f}"
            f"  ({min(ready):.3f}-{max(ready):.3f})"
            f"  {cpu_p:11.3f} {cpu_r:6.3f} ({cpu_r / base_cpu:.2f}x)"
            + (f"  +{helper:.3f}" if helper else "")
        )
        if name not in (BARE, FLOOR) and (p / base >= GOAL_PAINT or r / base >= GOAL_READY):
            missed.append(name)
    print(
        f"goals: first paint within {GOAL_PAINT}x the bare window's, ready-to-send within "
        f"{GOAL_READY}x the bare window's first paint:",
        "met" if not missed else f"NOT met by {', '.join(missed)}",
    )
    print(
        "\nTyping while it starts: a key pressed as the first frame is done, and any input "
        "until ready-to-send"
    )
    print(
        f"{'target':<26} {'key in prompt s':>15} {'x bare paint':>13} {'longest input wait ms':>22}"
    )
    for name in cmds:
        key = median(name, "key")
        if math.isnan(key):
            continue
        waits = sorted(m.longest_wait * 1000 for m in runs[name])
        print(
            f"{name:<26} {key:15.3f} {key / base:13.2f} {statistics.median(waits):22.1f}"
            f"  (runs: {', '.join(f'{w:.0f}' for w in waits)} ms)"
        )
    if offenders:
        print("\nSlowest imports of the app (python -X importtime, warm):")
        print(offenders)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
