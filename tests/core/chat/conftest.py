"""The real MCP test server (tests/tools_server.py) as a tool hub, for the tool loop's tests."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from streamdesk.core.tools import McpServerConfig, ToolHub

SERVER = str(Path(__file__).resolve().parents[2] / "tools_server.py")


@pytest_asyncio.fixture
async def hub(tmp_path: Path) -> AsyncIterator[ToolHub]:
    hub = ToolHub([McpServerConfig("notes", sys.executable, (SERVER,))], log_dir=tmp_path)
    try:
        yield hub
    finally:
        await hub.aclose()
