"""The code standards are part of the suite, so CI enforces them: ruff everywhere, mypy --strict
on the core and the mock (configured in pyproject.toml)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TREES = ["desktop", "tests", "benchmarks", "packaging"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", *TREES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_ruff_formatted() -> None:
    result = run(str(BIN / "ruff"), "format", "--check", *TREES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_passes_mypy_strict() -> None:
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def importers(tree: Path, modules: str) -> list[str]:
    pattern = re.compile(rf"^\s*(from|import)\s+({modules})\b", re.MULTILINE)
    return [
        str(path.relative_to(ROOT))
        for path in tree.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]


def test_core_never_imports_qt() -> None:
    """The arrows point one way: ui -> core, never core -> Qt; the mock imports no client code."""
    package = ROOT / "desktop" / "streamdesk"
    assert importers(package / "core", r"PySide6|qasync|streamdesk\.ui") == []
    assert importers(package / "mock", r"PySide6|qasync|streamdesk\.core|streamdesk\.ui") == []
