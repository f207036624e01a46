"""The few settings the window's first frame shows, read without the settings module.

`streamdesk.core.store.settings` pulls in providers, tomllib, events and request, none
of which the first frame needs: it shows only the theme, the saved geometry and the SSE |
WebSocket switch. This reads those top-level string keys from settings.toml with a one-line
pattern; anything it cannot read (escapes, literal strings, a broken file) is left at its
default, and `MainWindow.finish_build()` loads the real settings (with their validation and
warnings) right after the first paint and corrects whatever differs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from streamdesk.core.paths import config_dir

SETTINGS_FILE = "settings.toml"  # core.store.settings.SETTINGS_FILE (not imported: see above)
_KEYS = frozenset({"theme", "window_geometry", "protocol"})
_LINE = re.compile(r'\s*([A-Za-z_]+)\s*=\s*"([^"\\]*)"\s*(?:#.*)?')


class FrameSettings(NamedTuple):
    theme: str = "system"
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    protocol: str = "sse"


def read_frame_settings(path: Path | None = None) -> FrameSettings:
    """Theme, geometry and protocol from the file's top-level keys; defaults when unreadable."""
    path = config_dir() / SETTINGS_FILE if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return FrameSettings()
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("["):  # the first table ends the top-level keys
            break
        match = _LINE.fullmatch(line)
        if match and match[1] in _KEYS:
            found[match[1]] = match[2]
    return FrameSettings(**found)
