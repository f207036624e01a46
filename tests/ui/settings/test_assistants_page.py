"""Settings ▸ Assistants: built-ins read-only but duplicable, the user's edited, removed,
imported and exported as JSON; Save writes them to settings.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from streamdesk.core.assistants import BUILTIN_ASSISTANTS, Assistant, from_json
from streamdesk.core.store.secrets import KeyStore
from streamdesk.core.store.settings import Settings, load_settings, settings_path
from streamdesk.ui.settings.assistants_page import BUILTIN_NOTE, AssistantsPage
from streamdesk.ui.settings.dialog import SettingsDialog

POET = Assistant("Poet", "Answers in verse", "Answer in rhyming verse.", temperature=1.1)


def page_with(qtbot: QtBot, *own: Assistant) -> AssistantsPage:
    page = AssistantsPage(Settings(assistants=list(own)))
    qtbot.addWidget(page)
    return page


def test_builtins_are_read_only_and_a_duplicate_is_editable(qtbot: QtBot) -> None:
    page = page_with(qtbot)
    page.list.setCurrentRow(1)
    assert page.current == BUILTIN_ASSISTANTS[1]
    assert not page.form.isEnabled() and page.note.text() == BUILTIN_NOTE
    assert not page.remove_button.isEnabled()
    page.duplicate()
    copy = page.current
    assert copy is not None and copy.name == f"{BUILTIN_ASSISTANTS[1].name} (copy)"
    assert copy.system_prompt == BUILTIN_ASSISTANTS[1].system_prompt
    assert page.form.isEnabled()
    page.name.setText("Strict reviewer")
    page.temperature.setValue(0.0)
    settings = Settings()
    page.apply(settings)
    assert [a.name for a in settings.assistants] == ["Strict reviewer"]
    assert settings.assistants[0].temperature == 0.0


def test_add_edit_and_remove(qtbot: QtBot) -> None:
    page = page_with(qtbot, POET)
    page.add_assistant()
    page.name.setText("Pirate")
    page.system.setPlainText("Talk like a pirate.")
    page.max_tokens.setValue(300)
    page.reasoning.setChecked(True)
    page.list.setCurrentRow(0)  # leaving the row commits the form
    assert [a.name for a in page.own] == ["Poet", "Pirate"]
    assert page.own[1] == Assistant(
        "Pirate", system_prompt="Talk like a pirate.", max_tokens=300, reasoning=True
    )
    page.list.setCurrentRow(len(page.listed()) - 1)
    page.remove()
    assert [a.name for a in page.own] == ["Poet"]


def test_a_taken_name_keeps_the_row_and_says_why(qtbot: QtBot) -> None:
    page = page_with(qtbot, POET)
    page.list.setCurrentRow(len(page.listed()) - 1)
    page.name.setText("Translator")
    page.list.setCurrentRow(0)
    assert page.current is not None and page.current.name == "Poet"
    assert "Another assistant is called 'Translator'" in page.note.text()


def test_export_then_import_round_trip(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "assistants.json"
    page = page_with(qtbot, POET)
    assert page.export_to(path)
    exported = from_json(json.loads(path.read_text(encoding="utf-8")))
    assert exported == page.listed()
    other = page_with(qtbot)
    assert other.import_from(path) == exported
    assert other.own == [POET]  # the built-ins as shipped are not stored again
    assert "Imported" in other.note.text()


def test_a_bad_file_names_the_field_and_imports_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"name": "X", "temperature": 7}]', encoding="utf-8")
    page = page_with(qtbot, POET)
    assert page.import_from(path) == []
    assert "assistants[0].temperature" in page.note.text()
    assert page.own == [POET]


@pytest.mark.asyncio
async def test_the_dialog_saves_the_assistants_to_the_file(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings(), KeyStore())
    qtbot.addWidget(dialog)
    dialog.tabs.setCurrentWidget(dialog.assistants)
    dialog.assistants.add_assistant()
    dialog.assistants.name.setText("Poet")
    dialog.assistants.system.setPlainText("Answer in rhyming verse.")
    saved_settings: list[Settings] = []
    dialog.saved.connect(saved_settings.append)
    dialog.save(close=False)
    await dialog.wait_idle()
    assert dialog.status.text() == "Saved." and len(saved_settings) == 1
    saved = load_settings(settings_path()).settings.assistants
    assert saved == [Assistant("Poet", system_prompt="Answer in rhyming verse.")]
    dialog.close()
