"""Settings dialogs opened by the tests in this folder: shown at once, and closed after each
test (conftest.py) with their cancelled tasks ended on the test's own loop."""

from __future__ import annotations

import shiboken6
from pytestqt.qtbot import QtBot

from streamdesk.core.store.settings import Settings
from streamdesk.ui.keys import key_store
from streamdesk.ui.settings.dialog import SettingsDialog

_open: list[SettingsDialog] = []


def open_dialog(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    dialog = SettingsDialog(settings, key_store())
    close_later(dialog)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def close_later(dialog: SettingsDialog) -> None:
    """Close `dialog` (one the window opened) after the test."""
    _open.append(dialog)


async def close_dialogs() -> None:
    while _open:
        dialog = _open.pop()
        if shiboken6.isValid(dialog):  # not gone with the window that opened it
            dialog.reject()
        await dialog.wait_idle()
