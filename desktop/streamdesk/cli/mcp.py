"""`streamdesk mcp`: see and add the MCP tool servers `ask --mcp` and the window can use.

- `mcp list` shows the servers of settings.toml (`[mcp.servers.NAME]`) and each one's log.
- `mcp tools NAME|FILE` starts a server (or every server of a JSON file) and lists its tools.
- `mcp import FILE` adds the servers of a JSON file in the `mcpServers` shape (Claude Desktop,
  Cherry Studio, …) to settings.toml. Secrets written out in that file (header values and
  variables named like a key or token) go to the keychain, and the settings hold a
  `${keychain:ID}` reference in their place.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from streamdesk.cli._common import warn
from streamdesk.cli.ask_setup import UsageError

if TYPE_CHECKING:
    from streamdesk.core.tools import McpServerConfig
    from streamdesk.core.tools.config import SecretLookup

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "mcp",
        help="list, inspect and import MCP tool servers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the configured servers and their logs")
    listing.add_argument("--json", action="store_true", help="one JSON object per server")
    listing.set_defaults(handler=run_list)
    tools = sub.add_parser("tools", help="start a server and list its tools")
    tools.add_argument("server", metavar="NAME|FILE")
    tools.add_argument("--json", action="store_true", help="one JSON object per tool")
    tools.set_defaults(handler=run_tools)
    imp = sub.add_parser("import", help="add the servers of an mcpServers JSON file")
    imp.add_argument("file", metavar="FILE", type=Path)
    imp.add_argument("--replace", action="store_true", help="replace servers of the same name")
    imp.set_defaults(handler=run_import)


def run_list(args: argparse.Namespace) -> int:
    from streamdesk.cli.ask_setup import load_cli_settings
    from streamdesk.core.tools import ToolHub

    settings = load_cli_settings()
    hub = ToolHub(settings.mcp_servers)
    if not settings.mcp_servers:
        warn("no MCP servers are configured; add one with `streamdesk mcp import FILE`")
    for server in settings.mcp_servers:
        log = hub.log_path(server.name)
        if args.json:
            record = {
                "name": server.name,
                "transport": server.transport,
                "where": server.where,
                "disabled": server.disabled,
                "timeout": server.call_timeout,
                "log": str(log),
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            off = " (disabled)" if server.disabled else ""
            print(f"{server.name}{off}  {server.transport}  {server.where}\n  log: {log}")
    return EXIT_OK


def run_tools(args: argparse.Namespace) -> int:
    from streamdesk.cli.ask_setup import load_cli_settings
    from streamdesk.cli.ask_tools import servers_of
    from streamdesk.core.store.secrets import KeyStore
    from streamdesk.core.tools import keychain_lookup

    try:
        servers = servers_of(load_cli_settings(), [args.server])
    except UsageError as exc:
        warn(f"usage: {exc}")
        return EXIT_USAGE
    return asyncio.run(_list_tools(servers, keychain_lookup(KeyStore()), as_json=args.json))


async def _list_tools(
    servers: list[McpServerConfig], secrets: SecretLookup, *, as_json: bool
) -> int:
    from streamdesk.core.tools import ToolHub

    hub = ToolHub(servers, secrets=secrets)
    try:
        catalog = await hub.catalog(s.name for s in servers)
    finally:
        await hub.aclose()
    for name, tool in catalog.tools.items():
        if as_json:
            record = {
                "name": name,
                "server": tool.server,
                "tool": tool.name,
                "description": tool.description,
                "input_schema": dict(tool.input_schema),
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            shown = name if name == tool.name else f"{name} ({tool.name})"
            first = tool.description.strip().splitlines()[0] if tool.description.strip() else ""
            print(f"{tool.server}: {shown}  {first}")
    for reason in catalog.unavailable.values():
        warn(reason)
    return EXIT_FAILED if catalog.unavailable else EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from streamdesk.cli.ask_tools import read_server_file
    from streamdesk.core.errors import KeychainUnavailable, SettingsError
    from streamdesk.core.store.secrets import KeyStore
    from streamdesk.core.store.settings import load_settings, save_settings, settings_path
    from streamdesk.core.tools.config import secrets_to_keychain

    try:
        servers = read_server_file(args.file)
    except UsageError as exc:
        warn(f"usage: {exc}")
        return EXIT_USAGE
    loaded = load_settings()
    if loaded.defaults_only:  # the file was set aside: importing would write defaults over it
        warn(f"{loaded.warning}; nothing was imported")
        return EXIT_FAILED
    if loaded.warning:  # a value that cannot be used (the proxy's URL): kept as written
        warn(loaded.warning)
    settings = loaded.settings
    existing = {s.name for s in settings.mcp_servers}
    clash = [s.name for s in servers if s.name in existing]
    if clash and not args.replace:
        warn(f"already configured: {', '.join(clash)}; pass --replace to replace them")
        return EXIT_FAILED
    keys = KeyStore()
    try:
        kept = [secrets_to_keychain(s, keys).server for s in servers]
    except KeychainUnavailable as exc:
        warn(f"the file holds secrets and the keychain cannot keep them ({exc}); not imported")
        return EXIT_FAILED
    names = {s.name for s in kept}
    settings.mcp_servers = [s for s in settings.mcp_servers if s.name not in names] + kept
    try:
        save_settings(settings)
    except (SettingsError, OSError) as exc:
        warn(f"could not save the settings: {exc}")
        return EXIT_FAILED
    for server in kept:
        print(f"imported {server.name}  {server.transport}  {server.where}")
    print(f"saved to {settings_path()}", file=sys.stderr)
    return EXIT_OK
