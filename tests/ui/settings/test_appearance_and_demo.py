"""Settings ▸ Appearance as a short form that switches the running window's theme, and the
built-in mock listed among providers as a read-only entry that says what it is."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from settings_dialogs import open_dialog
from ui_helpers import open_window

from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.store.settings import Settings, load_settings
from streamdesk.ui.settings.dialog import FIELD_WIDTH, URL_WIDTH
from streamdesk.ui.settings.providers_page import DEMO_NAME


def _is_dark(app: QApplication) -> bool:
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


@pytest.mark.asyncio
async def test_appearance_is_a_form_of_sensible_widths_not_one_stretched_box(
    qtbot: QtBot,
) -> None:
    dialog = open_dialog(qtbot, Settings(theme="dark", font_size=13))
    dialog.resize(1200, 700)
    dialog.tabs.setCurrentWidget(dialog.appearance)
    page = dialog.appearance
    await asyncio.sleep(0)
    box = page.theme_box
    assert [box.itemText(i) for i in range(box.count())] == ["System", "Light", "Dark"]
    assert box.currentData() == "dark" and page.font_spin.value() == 13
    assert box.width() == FIELD_WIDTH < page.width() / 3
    assert page.font_spin.width() <= FIELD_WIDTH
    assert box.geometry().top() < page.height() / 3  # at the top, not centred in the page
    box.setCurrentIndex(box.findData("system"))
    assert "system" in page.theme_note.text().lower()
    assert f"default {Settings().font_size} pt" in page.font_note.text()
    dialog.tabs.setCurrentWidget(dialog.network)
    await asyncio.sleep(0)
    network = dialog.network
    assert network.proxy_box.width() == FIELD_WIDTH
    assert network.proxy_edit.width() == network.ca_edit.width() == URL_WIDTH < network.width() / 2


@pytest.mark.asyncio
async def test_apply_switches_the_theme_of_the_running_window(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    async with open_window(qtbot) as window:
        window.set_theme("light")
        assert not window.dark and not _is_dark(app)
        window.settingsRequested.emit()
        dialog = window.settings_ui.dialog
        assert dialog is not None  # the window's shutdown closes it
        await dialog.wait_idle()
        box = dialog.appearance.theme_box
        box.setCurrentIndex(box.findData("dark"))
        dialog.save(close=False)  # Apply
        await dialog.wait_idle()
        assert window.dark and _is_dark(app) and window.settings.theme == "dark"
        assert window.current_session().view.is_dark()
        box.setCurrentIndex(box.findData("light"))
        dialog.save(close=False)
        await dialog.wait_idle()
        assert not window.dark and not _is_dark(app)
        assert load_settings().settings.theme == "light"


@pytest.mark.asyncio
async def test_the_offline_demo_is_listed_read_only_and_explained(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, Settings())
    page = dialog.providers
    last = page.list.item(page.list.count() - 1)
    assert last.text() == DEMO_NAME
    page.select(MOCK_PROVIDER_ID)
    assert page.current_id == MOCK_PROVIDER_ID
    assert page.pages.currentWidget() is page.demo_info and page.demo_info.isVisible()
    text = page.demo_info.text()
    assert "no key" in text and "runs locally" in text
    for button in (page.use_button, page.duplicate_button, page.remove_button, page.reset_button):
        assert not button.isEnabled(), button.text()
    page.use_for_chat()
    page.remove_provider()
    page.select("ollama")  # leaving the demo commits nothing for it
    assert page.pages.currentWidget() is not page.demo_info and page.form.isVisible()
    assert page.use_button.isEnabled()
    settings = dialog.collect()
    assert MOCK_PROVIDER_ID not in {p.id for p in settings.providers}
    assert settings.active_provider != MOCK_PROVIDER_ID


@pytest.mark.asyncio
@pytest.mark.parametrize("dark", [False, True])
async def test_dialog_buttons_carry_no_icons_and_combos_draw_on_the_field_colour(
    qtbot: QtBot, dark: bool
) -> None:
    """Fusion's floppy disk, red X and green tick are outside the app's icon set; a combo's
    arrow sits on the field's colour, not in a lighter square."""
    from streamdesk.ui.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    was_dark = _is_dark(app)
    apply_theme(app, dark)
    try:
        dialog = open_dialog(qtbot, Settings())
        await asyncio.sleep(0)
        buttons = dialog.buttons.buttons()
        assert {b.text().replace("&", "") for b in buttons} == {"Save", "Apply", "Cancel"}
        assert all(b.icon().isNull() for b in buttons)
        combo = dialog.network.proxy_box
        palette = combo.palette()
        assert palette.color(QPalette.ColorRole.Button) == palette.color(QPalette.ColorRole.Base)
    finally:
        apply_theme(app, was_dark)
