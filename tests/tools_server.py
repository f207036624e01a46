"""A real MCP tool server for the tests, written with the `mcp` SDK's own server API.

Run over stdio (`python tests/tools_server.py`) or streamable HTTP
(`python tests/tools_server.py --http PORT`). Tools: `add`, `read_note`, `slow` (sleeps),
`fail` (raises), `pid`, `crash` (exits the process at once). `--exit-at-start` exits before
serving, `--silent-start` never answers (a server that hangs while starting).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

NOTES = {"groceries": "eggs, flour, 2 lemons", "motto": "streams never lie"}

server = MCPServer("streamdesk-test-tools")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool()
def read_note(name: str) -> str:
    """Read the note called `name`."""
    if name not in NOTES:
        raise ToolError(f"no note called {name!r}")
    return NOTES[name]


@server.tool()
async def slow(seconds: float) -> str:
    """Wait `seconds`, then answer."""
    import anyio

    await anyio.sleep(seconds)
    return f"waited {seconds} s"


@server.tool()
def fail(reason: str) -> str:
    """Always fails with `reason`."""
    raise ToolError(reason)


@server.tool()
def pid() -> str:
    """The server's process id (to check it is gone after closing)."""
    return str(os.getpid())


@server.tool()
def crash() -> str:
    """End the server process at once, mid-call."""
    print("tools_server: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, metavar="PORT")
    parser.add_argument("--exit-at-start", action="store_true")
    parser.add_argument("--silent-start", action="store_true")
    args = parser.parse_args()
    print("tools_server: starting", file=sys.stderr, flush=True)
    if args.exit_at_start:
        print("tools_server: cannot start: missing configuration", file=sys.stderr, flush=True)
        sys.exit(2)
    if args.silent_start:
        time.sleep(3600)
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()


if __name__ == "__main__":
    main()
