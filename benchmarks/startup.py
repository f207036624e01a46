"""Start-up time: process start to the window's first painted frame, app against a bare window.

Measured in one run, interleaved round by round so a busy machine slows every target alike:

- bare:   a PySide6 window showing one label (the floor any Qt app starts from);
- venv:   the app from the virtualenv (`python packaging/entry.py`, what `streamdesk` runs);
- bundle: dist/streamdesk/streamdesk (one-folder), when built;
- onefile: dist/streamdesk-onefile, when built (it unpacks itself on every start).

Each child runs with STREAMDESK_STARTUP_PROBE=1 (streamdesk/startup_probe.py) and prints
`time.time()` at its first paint; the parent subtracts its own `time.time()` taken just before
the spawn. One warm-up run per target is discarded (byte-code compiled, files in the page cache);
the median of the rest counts. The children get a temporary STREAMDESK_HOME and byte-code cache.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/startup.py [--runs N] [--importtime]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "STREAMDESK_FIRST_PAINT"
TARGET_RATIO = 1.5
TIMEOUT_S = 60.0

BARE_WINDOW = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
from streamdesk import startup_probe
app = QApplication(sys.argv)
label = QLabel("Hello from a bare PySide6 window")
label.resize(900, 640)
label.show()
startup_probe.install(label)
app.exec()
"""


def targets() -> dict[str, list[str]]:
    """Command lines to measure, bare first (the baseline)."""
    python = sys.executable
    found = {
        "bare PySide6 window": [python, "-c", BARE_WINDOW],
        "app (venv)": [python, str(ROOT / "packaging" / "entry.py")],
    }
    exe = ".exe" if sys.platform == "win32" else ""
    bundle = ROOT / "dist" / "streamdesk" / f"streamdesk{exe}"
    onefile = ROOT / "dist" / f"streamdesk-onefile{exe}"
    if bundle.exists():
        found["app (one-folder bundle)"] = [str(bundle)]
    if onefile.exists():
        found["app (one-file bundle)"] = [str(onefile)]
    return found


def child_env(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["STREAMDESK_STARTUP_PROBE"] = "1"
    env["STREAMDESK_HOME"] = str(scratch / "home")
    # Warm means compiled: let the venv children cache byte code, outside the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


def first_paint(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds from just before the spawn to the child's first painted frame."""
    started = time.time()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:  # run() has killed it
        message = f"{cmd[-1]!r} showed no painted window within {TIMEOUT_S:.0f} s"
        raise RuntimeError(message) from None
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            return float(line.split()[1]) - started
    raise RuntimeError(
        f"{cmd[-1]!r} exited {proc.returncode} without reporting a first paint "
        f"(is the probe wired in?)\n{proc.stderr[-2000:]}"
    )


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
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="streamdesk-startup-") as tmp:
        env = child_env(Path(tmp))
        cmds = targets()
        times: dict[str, list[float]] = {name: [] for name in cmds}
        for cmd in cmds.values():  # warm-up, discarded
            first_paint(cmd, env)
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                times[name].append(first_paint(cmd, env))
        offenders = import_offenders(env, 25) if args.importtime else ""

    base = statistics.median(times["bare PySide6 window"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Start-up to first paint, median of {args.runs} warm runs (load average {load:.1f})")
    print(f"{'target':<26} {'median s':>9} {'min s':>7} {'max s':>7} {'x bare':>7}")
    missed = []
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / base
        flag = ""
        if name.startswith("app (venv)") or name.startswith("app (one-folder"):
            flag = "  ok" if ratio < TARGET_RATIO else f"  above the {TARGET_RATIO}x target"
            if ratio >= TARGET_RATIO:
                missed.append(name)
        print(f"{name:<26} {median:9.3f} {min(values):7.3f} {max(values):7.3f} {ratio:7.2f}{flag}")
    if offenders:
        print("\nSlowest imports of the app (python -X importtime, warm):")
        print(offenders)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
