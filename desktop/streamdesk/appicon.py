"""Where the app icon files are, from a source checkout or inside a PyInstaller bundle.

The icons live once, in the repository's resources/icons/; the bundle spec copies them to
streamdesk/resources/icons/ beside the frozen package. No Qt here, so the CLI can use it too.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CANDIDATES = (
    _PACKAGE / "resources" / "icons",  # bundle (and an installed copy that ships them)
    _PACKAGE.parent.parent / "resources" / "icons",  # source checkout: desktop/streamdesk/..
)


def icon_dir() -> Path | None:
    """The folder holding streamdesk.svg and streamdesk-<size>.png, or None if not shipped."""
    for candidate in _CANDIDATES:
        if (candidate / "streamdesk.svg").is_file():
            return candidate
    return None


def icon_pngs() -> list[Path]:
    """Every rendered size, smallest first: add each to one QIcon for crisp taskbar icons."""
    folder = icon_dir()
    if folder is None:
        return []
    return sorted(folder.glob("streamdesk-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
