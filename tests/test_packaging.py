"""Packaging checks: the spec, version, desktop metadata, icons, the self-test, the start-up
probe, and a plain wheel installed in a fresh virtualenv passing its own self-test. The bundle
itself is built and tested by `make bundle-test`."""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from streamdesk import __version__, selftest
from streamdesk.appicon import icon_dir, icon_pngs

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "streamdesk.spec"
ICONS = ROOT / "desktop" / "streamdesk" / "resources" / "icons"
LINUX = ROOT / "packaging" / "linux"
APP_ID = "io.streamdesk.Streamdesk"
# A string that names a place on a Linux (or Windows) file system, not a bundle-relative part.
ABSOLUTE_PATH = re.compile(
    r"^(/(usr|lib|lib64|opt|home|root|etc|tmp|var|work|bin|sbin|srv|mnt|media|proc|sys|run)"
    r"(/|$)|[A-Za-z]:[\\/])"
)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=90, env=env, cwd=ROOT
    )


def spec_strings() -> list[str]:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def test_spec_is_python_and_names_no_absolute_paths() -> None:
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
    offending = [s for s in spec_strings() if ABSOLUTE_PATH.match(s)]
    assert offending == []
    assert "SPECPATH" in SPEC.read_text(encoding="utf-8")


def test_spec_icons_exist_for_every_platform() -> None:
    icons = {s for s in spec_strings() if s.endswith((".ico", ".icns", ".png"))}
    assert {"streamdesk.ico", "streamdesk.icns", "streamdesk-256.png"} <= icons
    for name in icons:
        assert (ICONS / name).is_file(), name


def test_version_is_kept_in_one_place_and_printed() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "streamdesk.__version__"
    }
    result = run("-m", "streamdesk", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"streamdesk {__version__}"


def test_desktop_file_and_metainfo_agree() -> None:
    desktop = configparser.ConfigParser(interpolation=None, strict=True)
    desktop.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    desktop.read(LINUX / f"{APP_ID}.desktop", encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "streamdesk"
    assert entry["Icon"] == APP_ID
    assert entry["Categories"].endswith(";")

    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == entry["Name"]
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == f"{APP_ID}.desktop"
    assert root.findtext("provides/binary") == entry["Exec"].split()[0]
    releases = [r.get("version") for r in root.iter("release")]
    assert releases and releases[0] == __version__
    for tag in ("metadata_license", "project_license", "summary", "description"):
        assert root.find(tag) is not None, tag


@pytest.mark.parametrize(
    ("tool", "name"),
    [
        (("desktop-file-validate",), f"{APP_ID}.desktop"),
        (("appstreamcli", "validate", "--no-net"), f"{APP_ID}.metainfo.xml"),
    ],
)
def test_linux_metadata_passes_the_freedesktop_validators(tool: tuple[str, ...], name: str) -> None:
    if shutil.which(tool[0]) is None:
        pytest.skip(f"{tool[0]} is not installed")
    result = subprocess.run([*tool, str(LINUX / name)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icon_files_hold_the_sizes_they_claim() -> None:
    for path in ICONS.glob("streamdesk-*.png"):
        size = int(path.stem.split("-")[1])
        assert png_size(path.read_bytes()) == (size, size), path.name

    ico = (ICONS / "streamdesk.ico").read_bytes()
    _, kind, count = struct.unpack("<HHH", ico[:6])
    assert kind == 1 and count >= 5
    sizes = set()
    for i in range(count):
        w, _h, _c, _r, _p, _b, length, offset = struct.unpack(
            "<BBBBHHII", ico[6 + 16 * i : 22 + 16 * i]
        )
        sizes.add(png_size(ico[offset : offset + length])[0])
        assert (w or 256) == png_size(ico[offset : offset + length])[0]
    assert {16, 32, 48, 256} <= sizes

    icns = (ICONS / "streamdesk.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    pos, kinds = 8, set()
    while pos < len(icns):
        kind_bytes, length = icns[pos : pos + 4], struct.unpack(">I", icns[pos + 4 : pos + 8])[0]
        png_size(icns[pos + 8 : pos + length])
        kinds.add(kind_bytes)
        pos += length
    assert pos == len(icns)
    assert {b"icp4", b"ic07", b"ic08", b"ic09"} <= kinds


def test_app_icon_is_found_from_the_source_tree() -> None:
    assert icon_dir() == ICONS
    assert [int(p.stem.split("-")[1]) for p in icon_pngs()] == [16, 24, 32, 48, 64, 128, 256, 512]


@pytest.mark.slow
def test_selftest_runs_a_conversation_over_both_transports() -> None:
    result = run("-m", "streamdesk", "--selftest")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    checks = (
        "conversation over SSE",
        "conversation over WebSocket",
        "keyring backend",
        "transcript widget",
        "inspector chart",
        "app icon",
    )
    for check in checks:
        assert f"[  ok] {check}:" in out, out
    assert "self-test passed" in out
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


@pytest.mark.slow
def test_selftest_reports_a_missing_keychain_and_still_passes() -> None:
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    result = run("-m", "streamdesk", "--selftest", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[  ok] keyring backend: none available" in result.stdout


@pytest.mark.asyncio
async def test_selftest_counts_and_names_a_failed_check(capsys: pytest.CaptureFixture[str]) -> None:
    async def good() -> str:
        return "fine"

    async def bad() -> str:
        raise selftest.CheckFailed("reply differs from the mock's")

    failures = await selftest.run_checks([("one", good), ("two", bad)])
    assert failures == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["[  ok] one: fine", "[FAIL] two: reply differs from the mock's"]


BARE = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
from streamdesk import startup_probe
app = QApplication(sys.argv)
w = QLabel("x")
w.show()
startup_probe.install(w)
sys.exit(app.exec() + 3)  # never reached: the probe leaves with status 0
"""


@pytest.mark.parametrize("script", ["bare", "app"])
def test_startup_probe_prints_the_first_paint_and_exits(script: str) -> None:
    env = dict(os.environ, STREAMDESK_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen")
    args = ("-c", BARE) if script == "bare" else (str(ROOT / "packaging" / "entry.py"),)
    before = time.time()
    result = run(*args, env=env)
    after = time.time()
    assert result.returncode == 0, result.stderr
    marks = [line.split() for line in result.stdout.splitlines() if line.startswith("STREAMDESK_")]
    assert len(marks) == 1 and marks[0][0] == "STREAMDESK_FIRST_PAINT"
    assert before < float(marks[0][1]) < after


def _purelib(python: Path | str) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


@pytest.mark.slow
def test_a_plain_wheel_carries_its_resources_and_passes_its_selftest(tmp_path: Path) -> None:
    """`pipx install .` builds a wheel: nothing may come from the source tree at run time.

    The wheel is built from a copy of the sources (no build/ or egg-info in the work tree) and
    installed without dependencies into a fresh virtualenv; the dependencies come from this
    test's own environment through a .pth line, so the install stays offline and fast. The
    package must import from the new virtualenv, not from the editable checkout.
    """
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "desktop",
        source / "desktop",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    wheels = tmp_path / "wheels"
    built = run("-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source))
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("streamdesk-*.whl")
    venv = tmp_path / "venv"
    assert run("-m", "venv", "--without-pip", str(venv)).returncode == 0
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    python = bindir / ("python.exe" if sys.platform == "win32" else "python")
    pip = ("-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index")
    installed = run(*pip, str(wheel))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = _purelib(python)
    (site / "streamdesk-test-deps.pth").write_text(f"{_purelib(sys.executable)}\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STREAMDESK_HOME=str(tmp_path / "home"))
    env.pop("PYTHONPATH", None)
    where = subprocess.run(
        [str(python), "-c", "import streamdesk; print(streamdesk.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr
    assert (site / "streamdesk" / "resources" / "icons" / "streamdesk.svg").is_file()
    result = subprocess.run(
        [str(bindir / "streamdesk"), "--selftest"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[  ok] app icon:" in result.stdout and "self-test passed" in result.stdout
