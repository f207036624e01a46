"""The first frame reads theme, geometry and protocol quickly; the full settings load after."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

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
