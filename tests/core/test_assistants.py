"""Assistants: built-ins always there, the user's in settings.toml (comments kept), applied to a
conversation's system prompt and params, JSON import and export with the bad field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamdesk.core.assistants import (
    ASSISTANT,
    BUILTIN_ASSISTANTS,
    DEFAULT_ASSISTANT,
    Assistant,
    AssistantError,
    all_assistants,
    applied,
    assistant_of,
    find_assistant,
    from_json,
    merged,
    to_json,
    unique_name,
)
from streamdesk.core.chat import Conversation
from streamdesk.core.store.settings import Settings, load_settings, save_settings

MINE = Assistant(
    "Release notes",
    "Turns a changelog into notes",
    "You write release notes.\nKeep them short.",
    provider="openai",
    model="gpt-4o-mini",
    temperature=0.3,
    max_tokens=800,
    reasoning=True,
    mcp_servers=("files",),
)


def test_builtins_have_real_prompts_and_general_has_none() -> None:
    names = [a.name for a in BUILTIN_ASSISTANTS]
    assert names[0] == DEFAULT_ASSISTANT and len(names) >= 4
    assert BUILTIN_ASSISTANTS[0].system_prompt == ""
    assert all(len(a.system_prompt) > 200 for a in BUILTIN_ASSISTANTS[1:])


def test_the_list_is_builtins_then_mine_and_an_edit_replaces_its_builtin() -> None:
    edited = Assistant("Translator", system_prompt="Into French.")
    listed = all_assistants([MINE, edited])
    assert [a.name for a in listed][-1] == MINE.name
    assert find_assistant([edited], "translator") == edited
    assert find_assistant([], "nobody") is None


def test_applying_an_assistant_replaces_prompt_parameters_and_tools_keeps_the_rest() -> None:
    params = {"temperature": 1.5, "mcp_servers": ["web"], "allowed_tools": ["web/fetch"]}
    prompt, new = applied(MINE, params)
    assert prompt == MINE.system_prompt
    assert new == {
        "allowed_tools": ["web/fetch"],
        ASSISTANT: MINE.name,
        "temperature": 0.3,
        "max_tokens": 800,
        "reasoning": True,
        "mcp_servers": ["files"],
    }
    assert assistant_of(new) == MINE.name
    prompt, general = applied(BUILTIN_ASSISTANTS[0], new)
    assert prompt == "" and general == {"allowed_tools": ["web/fetch"], ASSISTANT: "General"}


def test_a_conversation_sends_the_assistants_prompt_and_parameters() -> None:
    from streamdesk.core.chat import Target
    from streamdesk.core.providers import BUILTIN_PROVIDERS

    conv = Conversation(Target(BUILTIN_PROVIDERS[0], "m"))
    conv.system_prompt, conv.params = applied(MINE, conv.params)
    request = conv.ask("hello").request
    assert request.messages[0].role == "system"
    assert request.messages[0].content == MINE.system_prompt
    assert (request.temperature, request.max_tokens, request.reasoning) == (0.3, 800, True)
    assert conv.tool_servers == ["files"]


def test_settings_round_trip_keeps_comments_and_stores_no_builtin(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        '# mine\ntheme = "dark"\n\n[assistants.Poet]\n# keep this\ntemperature = 1.2\n',
        encoding="utf-8",
    )
    settings = load_settings(path).settings
    assert settings.assistants == [Assistant("Poet", temperature=1.2)]
    settings.assistants.append(MINE)
    save_settings(settings, path)
    text = path.read_text(encoding="utf-8")
    assert "# mine" in text and "# keep this" in text
    assert '"""You write release notes.' in text  # a readable multi-line string
    assert "Code reviewer" not in text
    assert load_settings(path).settings.assistants == [Assistant("Poet", temperature=1.2), MINE]
    settings.assistants = []
    save_settings(settings, path)
    assert "assistants" not in path.read_text(encoding="utf-8")


def test_a_bad_assistant_in_settings_names_its_field(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[assistants.Poet]\ntemperature = "hot"\n', encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.warning is not None and "assistants.Poet.temperature" in loaded.warning
    assert loaded.settings == Settings()


def test_json_round_trip_of_one_and_many() -> None:
    data = to_json([MINE, BUILTIN_ASSISTANTS[1]])
    assert from_json(data) == [MINE, BUILTIN_ASSISTANTS[1]]
    assert from_json({"name": MINE.name, **MINE.table()}) == [MINE]
    assert from_json(data["assistants"][:1]) == [MINE]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (
            {"assistants": [{"name": "a", "temperature": "hot"}]},
            "assistants[0].temperature",
            "number",
        ),
        (
            {"assistants": [{"name": "a"}, {"name": "b", "max_tokens": -1}]},
            "assistants[1].max_tokens",
            "above 0",
        ),
        ({"assistants": [{"system_prompt": "x"}]}, "assistants[0].name", "non-empty"),
        ({"assistants": [{"name": "a", "tone": "x"}]}, "assistants[0]", "unknown key(s) tone"),
        ({"assistants": [{"name": "a"}, {"name": "a"}]}, "assistants", "twice"),
        ({"format": "other", "assistants": []}, "format", "not a Streamdesk"),
        ({"assistants": []}, "assistants", "no assistant"),
        ({"name": "a", "mcp_servers": "files"}, "assistant.mcp_servers", "list"),
        ("text", "assistants", "list"),
    ],
)
def test_a_bad_json_file_names_what_is_wrong(data: object, field: str, words: str) -> None:
    with pytest.raises(AssistantError) as caught:
        from_json(data)
    assert caught.value.field == field and words in str(caught.value)


def test_importing_replaces_same_names_and_drops_unchanged_builtins() -> None:
    old = Assistant("Poet", temperature=1.2)
    new = Assistant("Poet", temperature=0.9)
    assert merged([old, MINE], [new, BUILTIN_ASSISTANTS[1]]) == [new, MINE]


def test_duplicate_names() -> None:
    assert unique_name("A", ["B"]) == "A"
    assert unique_name("A", ["A", "A (copy)"]) == "A (copy 2)"
