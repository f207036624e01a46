"""The window's MCP servers: one `ToolHub` for every conversation, built from the settings'
`[mcp.servers.NAME]` (rebuilt when they change), started on demand by the hub itself.

Servers that cannot start are reported through `serverFailed` (the window shows the message
with its log) and stay out of the request; nothing waits longer than the server's
`start_timeout`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from streamdesk.core.store.settings import Settings
from streamdesk.core.tools import (
    CallOutcome,
    Catalog,
    McpServerConfig,
    ServerTool,
    ToolHub,
    keychain_lookup,
)

log = logging.getLogger(__name__)


def keychain_secret(entry: str) -> str | None:
    """A `${keychain:ID}` reference read from the window's key store (None: not set)."""
    from streamdesk.ui.keys import key_store

    return keychain_lookup(key_store())(entry)


class ToolService(QObject):
    """Every configured MCP server of the window. `tools_of(name)` is what a server listed
    the last time it started (None: not started in this run); `problem(name)` why it could
    not start ("" when it could)."""

    serverFailed = Signal(str, str)  # server name, the sentence (names its log)
    serverStarted = Signal(str)  # server name: its tools are listed

    def __init__(
        self,
        settings: Callable[[], Settings],
        *,
        log_dir: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._closing: set[asyncio.Task[None]] = set()  # hubs of an older configuration
        self._log_dir = log_dir
        self._hub: ToolHub | None = None
        self._configs: list[McpServerConfig] = []
        self._tools: dict[str, list[ServerTool]] = {}
        self._problems: dict[str, str] = {}

    def configs(self) -> list[McpServerConfig]:
        """The servers a conversation may enable (configured and not disabled)."""
        return [s for s in self._settings().mcp_servers if not s.disabled]

    def hub(self) -> ToolHub:
        """The hub of the servers configured now; a changed configuration gets a new hub
        (the old one's servers are stopped in the background)."""
        configs = self.configs()
        if self._hub is None or configs != self._configs:
            old = self._hub
            self._hub = ToolHub(configs, log_dir=self._log_dir, secrets=keychain_secret)
            self._configs = configs
            self._tools.clear()
            self._problems.clear()
            if old is not None:
                task = asyncio.get_running_loop().create_task(old.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        return self._hub

    def log_path(self, name: str) -> Path:
        return self.hub().log_path(name)

    def tools_of(self, name: str) -> list[ServerTool] | None:
        return self._tools.get(name)

    def problem(self, name: str) -> str:
        return self._problems.get(name, "")

    async def start(self, name: str) -> list[ServerTool]:
        """Start server `name` (unless it runs) and list its tools; [] when it cannot start
        (`serverFailed` says why)."""
        catalog = await self.catalog([name])
        return [t for t in catalog.tools.values() if t.server == name]

    async def catalog(self, names: Iterable[str]) -> Catalog:
        """The tools of servers `names`, started together; failures are reported."""
        wanted = list(names)
        catalog = await self.hub().catalog(wanted)
        for name in wanted:
            if name in catalog.unavailable:
                self._problems[name] = catalog.unavailable[name]
                self._tools.pop(name, None)
                self.serverFailed.emit(name, catalog.unavailable[name])
            else:
                self._problems.pop(name, None)
                self._tools[name] = [t for t in catalog.tools.values() if t.server == name]
                self.serverStarted.emit(name)
        return catalog

    async def call(
        self, server: str, tool: str, arguments: Mapping[str, Any], time_limit: float | None = None
    ) -> CallOutcome:
        return await self.hub().call(server, tool, arguments, time_limit)

    async def aclose(self) -> None:
        """Stop every server (the window closes)."""
        if self._hub is not None:
            await self._hub.aclose()
        await asyncio.gather(*self._closing, return_exceptions=True)
