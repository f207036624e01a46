"""Helpers shared by subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NOTE_CHARS = 100  # of a tool's arguments or result in the one-line note on stderr


def warn(message: str) -> None:
    """One line for the user on stderr (stdout is for the reply)."""
    print(f"streamdesk: {message}", file=sys.stderr, flush=True)


def one_line(text: str, limit: int = NOTE_CHARS) -> str:
    """Untrusted text for the terminal: control characters and newlines escaped, at most
    `limit` characters."""
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def at_least_one(text: str) -> int:
    """An argparse type for a count that means nothing at 0 (--limit, --max-tokens): anything
    less than 1 is a usage error (exit 2), never read as "none" or "all"."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def write_out(path: Path, text: str) -> bool:
    """Write `text` to the file the user named; when it cannot be written, say why in one line
    ("cannot write x.md: No such file or directory") and return False."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        warn(f"cannot write {path}: {exc.strerror or exc}")
        return False
    return True
