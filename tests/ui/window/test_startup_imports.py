"""What the window loads before it can send stays light: the modules it builds at start import
no network client, keychain, tool SDK or highlighter (they load on worker threads, at the first
request, or when their dialog opens). Checked in a fresh process, where nothing is cached."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("httpx", "websockets", "keyring", "mcp", "h11", "click", "rich")
START_MODULES = (
    "streamdesk.ui.window.main_window",
    "streamdesk.core.chat",
    "streamdesk.ui.history.bridge",
    "streamdesk.ui.settings.controller",
)


def test_the_modules_the_window_builds_at_start_import_no_heavy_library() -> None:
    code = (
        "import sys\n"
        f"for name in {START_MODULES!r}:\n"
        "    __import__(name)\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == []


def test_the_first_frame_loads_no_highlighter_or_asyncio() -> None:
    code = (
        "import sys\n"
        "import streamdesk.ui.window.main_window\n"
        "print(' '.join(m for m in ('pygments', 'asyncio', 'sqlite3') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == []
