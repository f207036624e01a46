"""The first frame reads theme, geometry and protocol quickly; the full settings load after."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, wait_reply

from streamdesk.core.paths import config_dir
from streamdesk.core.store.settings import Settings, save_settings
from streamdesk.ui.window.first_frame import FrameSettings, read_frame_settings
from streamdesk.ui.window.main_window import MainWindow


def test_a_saved_file_gives_the_frame_its_theme_geometry_and_protocol() -> None:
    save_settings(
        Settings(theme="dark", protocol="ws", window_geometry="AdnQywAD", active_provider="x")
    )
    assert read_frame_settings() == FrameSettings("dark", "AdnQywAD", "ws")


def test_unreadable_values_stay_at_their_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        'theme = "da\\u0072k"\nprotocol = \'ws\'\n[[providers]]\nwindow_geometry = "AAAA"\n'
    )
    assert read_frame_settings(path) == FrameSettings()
    path.write_bytes(b"\xff\xfe broken")
    assert read_frame_settings(path) == FrameSettings()
    assert read_frame_settings(tmp_path / "missing.toml") == FrameSettings()


@pytest.mark.asyncio
async def test_a_deferred_window_fills_the_providers_and_warning_in_finish_build(
    qtbot: QtBot,
) -> None:
    (config_dir() / "settings.toml").write_text('protocol = "ws"\nfont_size = 500\n')
    window = MainWindow(deferred=True, save_on_close=False)
    qtbot.addWidget(window)
    assert not window.settings_loaded, "the first frame must not load the settings module"
    assert window.header.provider_box.count() == 0
    assert window.header.protocol() == "ws"
    window.finish_build()
    try:
        assert window.header.provider_box.count() == len(window.switcher.providers) > 0
        assert window.provider.id == window.header.provider_id()
        assert window.settings_warning and "font_size" in window.settings_warning
        assert window.header.protocol() == "sse", "the invalid file's defaults win"
    finally:
        await window.shutdown()


def test_a_key_typed_while_the_window_builds_reaches_the_prompt_between_two_parts(
    qtbot: QtBot,
) -> None:
    """Start-up (ui/app.py) handles input between the parts of the build: a key typed into the
    frame (its focus is on the prompt) waits for one part, not for the whole build."""
    window = MainWindow(deferred=True, save_on_close=False)
    qtbot.addWidget(window)
    window.show()
    assert window.focusWidget() is window.prompt, "keys typed at the first frame go to the prompt"
    assert window.build_step(), "the build has more than one part"
    press = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_X, Qt.KeyboardModifier.NoModifier, "x")
    QCoreApplication.postEvent(window.focusWidget(), press)
    QCoreApplication.processEvents()
    assert window.prompt.toPlainText() == "x"
    assert not window.built
    window.finish_build()  # the rest at once, as a shortcut pressed meanwhile asks
    assert window.built and not window.build_step()
    assert window.prompt.toPlainText() == "x", "the build leaves what was typed alone"


@pytest.mark.asyncio
async def test_a_prompt_sent_while_the_window_starts_goes_out_once_it_has_started(
    qtbot: QtBot,
) -> None:
    """Enter before the provider is resolved: the prompt leaves the box, the status bar says
    it waits, and `start()` sends it (to the offline demo here); a second one is refused."""
    window = MainWindow(deferred=True, save_on_close=False, mock_options=FAST)
    qtbot.addWidget(window)
    window.show()
    try:
        window.finish_build()
        window.prompt.setPlainText("Sent before the start")
        window.prompt.submit()
        assert window.prompt.toPlainText() == ""
        assert "as soon as" in window.status.currentMessage()
        assert not window.current_session().turns, "nothing goes out before the start"
        window.prompt.setPlainText("A second one")
        window.prompt.submit()
        assert window.prompt.toPlainText() == "A second one", "one prompt waits, not two"
        await window.start()
        session = window.current_session()
        turn = await wait_reply(session)
        assert turn.prompt == "Sent before the start"
        assert turn.reply.text, "the demo answered the held prompt"
    finally:
        await window.shutdown()


@pytest.mark.asyncio
async def test_settings_asked_for_while_the_window_builds_opens_on_the_running_loop(
    qtbot: QtBot,
) -> None:
    """`start()` builds the window part by part on the running loop: Ctrl+, pressed between two
    parts finishes the build and opens Settings, whose work runs on the app's loop, and the
    window still starts and shuts down cleanly."""
    window = MainWindow(deferred=True, save_on_close=False, mock_options=FAST)
    qtbot.addWidget(window)
    window.show()
    QTimer.singleShot(0, window.menus.settingsRequested.emit)  # runs between the first parts
    try:
        await window.start()
        assert window.built
        dialog = window.settings_ui.dialog
        assert dialog is not None and dialog.isVisible()
        assert window.mock is not None, "the start went on: the offline demo answers"
    finally:
        await window.shutdown()


@pytest.mark.asyncio
async def test_a_window_closed_while_it_builds_starts_nothing(qtbot: QtBot) -> None:
    window = MainWindow(deferred=True, save_on_close=False, mock_options=FAST)
    qtbot.addWidget(window)
    window.show()
    QTimer.singleShot(0, window.close)
    await window.start()
    await window.shutdown()
    assert window.mock is None and window.warmup is None
