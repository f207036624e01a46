"""Where the app icon files are: `streamdesk/resources/icons/` inside the package.

They are package data, so a source checkout, an installed wheel (`pipx install .`) and the
PyInstaller bundle (whose spec copies them to the same place) all find them beside this module.
No Qt here, so the CLI can use it too.
"""

from __future__ import annotations

from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent / "resources" / "icons"


def icon_dir() -> Path | None:
    """The folder holding streamdesk.svg and streamdesk-<size>.png, or None if not shipped."""
    return ICON_DIR if (ICON_DIR / "streamdesk.svg").is_file() else None


def icon_pngs() -> list[Path]:
    """Every rendered size, smallest first: add each to one QIcon for crisp taskbar icons."""
    folder = icon_dir()
    if folder is None:
        return []
    return sorted(folder.glob("streamdesk-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
