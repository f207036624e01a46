"""Tools for `streamdesk ask`: `--mcp NAME|FILE` servers, and who approves their calls.

`ask --continue ID` without `--mcp` offers the servers the conversation enabled (stored in its
params, by the window or by an earlier `ask --mcp NAME`), when they are still configured.

`--allow-tools` approves every call. Without it, when stdin and stderr are a terminal, each
call is shown on stderr (tool, server, arguments) and the user answers y (once), a (this tool
for the rest of the run) or n (deny: the model is told). Otherwise nobody can approve: the
first tool call ends the reply with `EXIT_NOT_APPROVED`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from streamdesk.cli._common import one_line, warn
from streamdesk.cli.ask_setup import UsageError
from streamdesk.core.chat import DEFAULT_MAX_ROUNDS, Approval, ApproveTool, ToolRequest, allow_all

if TYPE_CHECKING:
    from streamdesk.core.chat import Conversation, KeySource, ToolRunner
    from streamdesk.core.store.settings import Settings
    from streamdesk.core.tools import McpServerConfig

SHOWN_ARGUMENTS = 2000  # characters of a call's arguments shown in the prompt


class ToolServersFailed(Exception):
    """A `--mcp` server could not start: the run ends before anything is sent."""


def add_tool_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="NAME|FILE",
        help="offer the tools of an MCP server: a name from settings.toml [mcp.servers.NAME]"
        ' (`streamdesk mcp list`) or a JSON file in the {"mcpServers": …} shape; repeatable',
    )
    p.add_argument(
        "--allow-tools",
        action="store_true",
        help="run every tool call without asking (for scripts); otherwise each call is asked"
        " about on a terminal, and without one a tool call ends the reply (exit 22)",
    )
    p.add_argument(
        "--max-tool-rounds",
        type=int,
        default=DEFAULT_MAX_ROUNDS,
        metavar="N",
        help=f"rounds of tool calls per reply before it stops (default {DEFAULT_MAX_ROUNDS})",
    )
    p.add_argument(
        "--tool-timeout",
        type=float,
        metavar="S",
        help="seconds one tool call may run (default: the server's `timeout`, 60)",
    )


def read_server_file(path: Path) -> list[McpServerConfig]:
    """The servers of a JSON file in the `mcpServers` shape; raises `UsageError` saying why."""
    from streamdesk.core.errors import SettingsError
    from streamdesk.core.tools import parse_mcp_json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return parse_mcp_json(data)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read it as JSON ({exc})") from None
    except SettingsError as exc:
        raise UsageError(f"{path}: {exc.field or 'mcpServers'} {exc}") from None


def servers_of(settings: Settings, values: list[str]) -> list[McpServerConfig]:
    """The servers `--mcp` names: configured ones by name, the others from JSON files."""
    found: dict[str, McpServerConfig] = {}
    for value in values:
        configured = settings.mcp_server(value)
        if configured is not None:
            found[configured.name] = configured
            continue
        path = Path(value).expanduser()
        if path.is_file() or value.endswith(".json"):
            for server in read_server_file(path):
                if not server.disabled:
                    found[server.name] = server
            continue
        known = ", ".join(s.name for s in settings.mcp_servers) or "none"
        raise UsageError(
            f"--mcp {value}: no MCP server of that name is configured (configured: {known}) and"
            " no such file; see `streamdesk mcp list`"
        )
    return list(found.values())


def stored_servers(settings: Settings, conversation: Conversation) -> list[str]:
    """The servers a continued conversation enabled that are configured and not disabled;
    each of the others is named on stderr and left out."""
    found: list[str] = []
    for name in conversation.tool_servers:
        configured = settings.mcp_server(name)
        if configured is not None and not configured.disabled:
            found.append(name)
            continue
        why = "is disabled" if configured is not None else "is no longer configured"
        warn(
            f"conversation {conversation.conversation_id} used the MCP server {name!r}, which"
            f" {why}; its tools are not offered (see `streamdesk mcp list`)"
        )
    return found


def approval_for(args: argparse.Namespace) -> ApproveTool:
    if args.allow_tools:
        return allow_all
    if args.prompt != "-" and sys.stdin.isatty() and sys.stderr.isatty():
        return TerminalApproval(sys.stdin, sys.stderr).ask
    return nobody_approves


async def nobody_approves(request: ToolRequest) -> Approval:
    return Approval.STOP


async def open_tools(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    args: argparse.Namespace,
    keys: KeySource,
    conversation: Conversation,
) -> ToolRunner | None:
    """The runner of the `--mcp` servers (else the continued conversation's), started; None
    when there are none. Raises `ToolServersFailed` when one cannot start (its reason and log
    are on stderr). A new conversation keeps the configured servers it was given in its
    params, so `--continue` offers them again."""
    names = list(args.mcp) or stored_servers(settings, conversation)
    if not names:
        return None
    if args.max_tool_rounds < 1:
        raise UsageError("--max-tool-rounds must be 1 or more")
    if args.tool_timeout is not None and not 0 < args.tool_timeout <= 3600:
        raise UsageError("--tool-timeout must be a number of seconds above 0, at most 3600")
    from streamdesk.core.chat import ToolRunner
    from streamdesk.core.tools import ToolHub, keychain_lookup

    servers = servers_of(settings, names)
    if conversation.conversation_id is None:
        conversation.tool_servers = [s.name for s in servers if settings.mcp_server(s.name) == s]
    hub = ToolHub(servers, secrets=keychain_lookup(keys))
    stack.push_async_callback(hub.aclose)
    runner = ToolRunner(
        hub,
        [s.name for s in servers],
        approval_for(args),
        max_rounds=args.max_tool_rounds,
        timeout=args.tool_timeout,
    )
    catalog = await runner.prepare()
    for reason in catalog.unavailable.values():
        warn(reason)
    if catalog.unavailable:
        raise ToolServersFailed
    return runner


class TerminalApproval:
    """Asks on the terminal before each call: y = once, a = this tool for the rest of the
    run, anything else = deny. The answer is read without blocking the loop, so Ctrl-C
    (Stop) works while the question waits."""

    def __init__(self, stdin: TextIO, stderr: TextIO) -> None:
        self.stdin = stdin
        self.stderr = stderr

    async def ask(self, request: ToolRequest) -> Approval:
        call = request.call
        arguments = json.dumps(dict(call.arguments), ensure_ascii=False)
        server = f" on {one_line(request.server, 64)}" if request.server else ""
        self.stderr.write(
            f"streamdesk: the model wants to run {one_line(call.name, 64)}{server} with\n"
            f"  {one_line(arguments, SHOWN_ARGUMENTS)}\n"
            "Run it? [y] once, [a] always in this run, [N] no: "
        )
        self.stderr.flush()
        answer = (await self._read_line()).strip().lower()
        if answer in ("y", "yes"):
            return Approval.ONCE
        if answer in ("a", "always"):
            return Approval.CHAT
        return Approval.DENY

    async def _read_line(self) -> str:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[str] = loop.create_future()
        fd = self.stdin.fileno()

        def readable() -> None:
            if not ready.done():
                ready.set_result(self.stdin.readline())

        loop.add_reader(fd, readable)
        try:
            return await ready
        finally:
            loop.remove_reader(fd)
