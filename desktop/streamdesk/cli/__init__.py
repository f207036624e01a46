"""The `streamdesk` command. No Qt is imported unless the window is started.

Each subcommand lives in its own module exposing `register(subparsers)`; the module is imported
only when needed so `streamdesk ask` starts fast.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from streamdesk import __version__
from streamdesk.core.redact import install_log_redaction

if TYPE_CHECKING:  # argparse loads only for a subcommand, not before the window's first paint
    import argparse

SUBCOMMANDS = ("ask", "compare", "mock", "keys", "history", "usage", "bench", "mcp", "assistants")


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="streamdesk",
        description="Desktop chat client for LLMs. With no subcommand, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"streamdesk {__version__}")
    parser.add_argument(
        "--selftest",
        action="store_true",
        help="start offscreen, run one conversation against the built-in mock over SSE and "
        "WebSocket, report the keyring backend, exit 0 on success",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"streamdesk.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"streamdesk.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()  # keys and signatures never reach a log line or stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in (*SUBCOMMANDS, "-h", "--help", "--version"):
        if "--selftest" in args_list:
            from streamdesk.selftest import run_selftest

            return run_selftest()
        if not args_list:
            from streamdesk.head_start import HeadStart

            head_start = HeadStart.begin()  # before Qt loads: see its module
            from streamdesk.ui.app import run_app

            return run_app(head_start=head_start)
    parser = build_parser()
    args = parser.parse_args(args_list)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from streamdesk.core.paths import UnusableDirectory

    try:
        result: int = handler(args)
    except UnusableDirectory as exc:  # STREAMDESK_HOME where no folder can be made
        print(f"streamdesk: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`streamdesk ask … | head`): stop quietly, as shell tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # killed by SIGPIPE
    return result
