"""The code standards are part of the suite, so CI enforces them: ruff everywhere (including the
ban on Qt in the core and the mock) and mypy --strict on the whole package (configured in
pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TREES = ["desktop", "tests", "benchmarks", "packaging"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, input=stdin)


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", *TREES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_ruff_formatted() -> None:
    result = run(str(BIN / "ruff"), "format", "--check", *TREES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_passes_mypy_strict() -> None:
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def banned_imports(path: str, source: str) -> list[str]:
    """TID251 findings for `source` checked as if it were the file at `path`."""
    result = run(
        *(str(BIN / "ruff"), "check", "--select", "TID251", "--output-format", "concise"),
        *("--stdin-filename", path, "-"),
        stdin=source,
    )
    return [line for line in result.stdout.splitlines() if "TID251" in line]


QT_AND_UI = (
    "import PySide6.QtCore\n"
    "from shiboken6 import isValid\n"
    "import qasync\n"
    "def later():\n"
    "    from streamdesk.ui.app import make_app\n"
)


@pytest.mark.parametrize("package", ["core", "core/store", "mock"])
def test_core_and_mock_may_not_import_qt_or_the_ui(package: str) -> None:
    """The arrows point one way: ui -> core, never core -> Qt or core -> ui (ruff's TID251)."""
    found = banned_imports(f"desktop/streamdesk/{package}/example.py", QT_AND_UI)
    assert len(found) == 4, found


@pytest.mark.parametrize(
    "path", ["desktop/streamdesk/ui/example.py", "desktop/streamdesk/cli/x.py", "tests/x.py"]
)
def test_qt_is_allowed_outside_core_and_mock(path: str) -> None:
    assert banned_imports(path, QT_AND_UI) == []
