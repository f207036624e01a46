"""Settings show other people's words as they are: an imported assistant's name and
description, the keychain's and the file system's errors. Each sits in a plain label or an
escaped tooltip, so `<img src="LOCALFILE">` is spelled out and never draws the local image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plain_checks import assert_plain_label, assert_plain_tooltip, hostile, red_png
from pytestqt.qtbot import QtBot

from streamdesk.core.store.secrets import KeyStore
from streamdesk.core.store.settings import Settings
from streamdesk.ui.keys import key_store
from streamdesk.ui.settings.assistants_page import AssistantsPage
from streamdesk.ui.settings.dialog import SettingsDialog
from streamdesk.ui.settings.keys_box import KeyBox
from streamdesk.ui.settings.ops import Tasks


def test_an_imported_assistant_is_listed_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    words = hostile(red_png(tmp_path))
    page = AssistantsPage(Settings())
    qtbot.addWidget(page)
    page.show()
    path = tmp_path / "assistants.json"
    path.write_text(json.dumps({"assistants": [{"name": "<b>x</b>", "description": words}]}))
    (imported,) = page.import_from(path)
    item = page.list.item(page.listed().index(imported))
    assert item.text() == "<b>x</b>"  # an item draws plain text
    assert_plain_tooltip(item.toolTip(), words)
    assert_plain_label(page.note, "Imported <b>x</b>. Save to keep them.")


def test_the_key_box_says_the_keychain_s_words_as_they_are(qtbot: QtBot, tmp_path: Path) -> None:
    words = hostile(red_png(tmp_path))
    box = KeyBox(KeyStore(), Tasks())
    qtbot.addWidget(box)
    box.show()
    box.provider_id = words  # a provider id the settings file gave
    box.key_edit.setText("two words")
    box.save_key()  # refused at once: whitespace inside
    assert words in box.source_label.text()
    assert_plain_label(box.source_label)
    box.note.setText(words)  # what an unavailable keychain says
    assert_plain_label(box.note, words)


@pytest.mark.asyncio
async def test_a_failed_save_is_said_as_it_is(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = hostile(red_png(tmp_path))

    def refuse(_settings: Settings) -> None:
        raise OSError(words)

    monkeypatch.setattr("streamdesk.ui.settings.dialog.save_settings", refuse)
    dialog = SettingsDialog(Settings(), key_store())
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        dialog.save(close=False)
        await dialog.wait_idle()
        assert_plain_label(dialog.status, f"Could not save the settings: {words}")
        dialog.network.proxy_note.setText(words)  # what an unavailable keychain says
        assert_plain_label(dialog.network.proxy_note, words)
    finally:
        dialog.reject()
        await dialog.wait_idle()
