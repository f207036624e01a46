"""Helpers shared by subcommands."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    """One line for the user on stderr (stdout is for the reply)."""
    print(f"streamdesk: {message}", file=sys.stderr, flush=True)
