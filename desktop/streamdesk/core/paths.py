"""Per-user directories. `STREAMDESK_HOME` puts them all under one folder (tests, portable use)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "streamdesk"
HOME_ENV = "STREAMDESK_HOME"


class UnusableDirectory(OSError):
    """A per-user directory cannot be made (e.g. `STREAMDESK_HOME` under a regular file).

    An `OSError`, so whatever already copes with an unwritable disk copes with this; its text
    is one sentence naming the path.
    """

    def __str__(self) -> str:
        return str(self.strerror)


def _base(kind: str) -> Path:
    home = os.environ.get(HOME_ENV)
    if home:
        path = Path(home) / kind
    elif kind == "config":
        path = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    elif kind == "logs":
        path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    elif kind == "data":
        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    else:
        path = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: history, settings
    except OSError as exc:
        hint = f"; set {HOME_ENV} to a folder that can be created" if home else ""
        raise UnusableDirectory(
            exc.errno or 0, f"Streamdesk cannot create the folder {path} ({exc.strerror}){hint}"
        ) from None
    return path


def config_dir() -> Path:
    return _base("config")


def data_dir() -> Path:
    return _base("data")


def cache_dir() -> Path:
    return _base("cache")


def log_dir() -> Path:
    """Logs the user may open (each MCP server's stderr, for one)."""
    return _base("logs")
