"""Context windows in settings.toml: the built-ins' survive an edited profile, a user gives a
local model its own, and a bad one names its field."""

from __future__ import annotations

import dataclasses

import pytest

from streamdesk.core.errors import SettingsError
from streamdesk.core.providers import ModelInfo, builtin
from streamdesk.core.store.settings import (
    ProviderSettings,
    Settings,
    load_settings,
    resolve_provider,
    save_settings,
    settings_path,
)


def test_an_edited_builtin_keeps_its_models_windows_through_the_file() -> None:
    edited = dataclasses.replace(
        ProviderSettings.from_provider(builtin("openai")), base_url="http://gw.local/v1"
    )
    save_settings(Settings(providers=[edited]))
    loaded = load_settings()
    assert loaded.warning is None and loaded.settings.providers == [edited]
    provider = resolve_provider(loaded.settings, "openai")
    assert provider.context_window("gpt-4.1") == 1_047_576
    assert provider.context_window("gpt-4o") == 128_000
    # Left to the built-in in the file, so a better figure in a later version reaches it.
    assert "context_window" not in settings_path().read_text(encoding="utf-8")


def test_a_local_model_is_given_its_window_and_keeps_it() -> None:
    ollama = dataclasses.replace(
        ProviderSettings.from_provider(builtin("ollama")),
        models=[ModelInfo("llama3.1:8b", context_window=32_768), ModelInfo("phi4")],
    )
    save_settings(Settings(providers=[ollama]))
    assert "context_window = 32768" in settings_path().read_text(encoding="utf-8")
    provider = resolve_provider(load_settings().settings, "ollama")
    assert provider.context_window("llama3.1:8b") == 32_768
    assert provider.context_window("phi4") is None  # unknown: no limit, the server says


def test_a_hand_written_file_names_windows_or_inherits_the_builtins() -> None:
    settings_path().write_text(
        "[[providers]]\n"
        'id = "ollama"\n'
        'models = ["llama3.2", {id = "qwen3:8b", context_window = 40_960}]\n\n'
        "[[providers]]\n"
        'id = "openai"\n'
        'models = ["gpt-4o", {id = "gpt-4.1", input_price = 2.0, context_window = 200_000}]\n\n'
        "[[providers]]\n"
        'id = "my-relay"\n'
        'name = "My relay"\n'
        'base_url = "https://relay.example/v1"\n'
        'models = ["deepseek-chat", {id = "claude-sonnet-4-5", output_price = 15.0}]\n',
        encoding="utf-8",
    )
    loaded = load_settings()
    assert loaded.warning is None
    ollama = resolve_provider(loaded.settings, "ollama")
    assert ollama.context_window("llama3.2") is None
    assert ollama.context_window("qwen3:8b") == 40_960
    openai = resolve_provider(loaded.settings, "openai")
    assert openai.context_window("gpt-4o") == 128_000  # a bare name keeps the built-in's
    assert openai.context_window("gpt-4.1") == 200_000  # the user's own wins
    relay = resolve_provider(loaded.settings, "my-relay")  # the model's window, whoever serves it
    assert relay.context_window("deepseek-chat") == 128_000
    assert relay.context_window("claude-sonnet-4-5") == 200_000
    save_settings(loaded.settings)
    assert load_settings().settings == loaded.settings
    text = settings_path().read_text(encoding="utf-8")
    assert "context_window = 200000" in text and "context_window = 40960" in text
    assert text.count("context_window") == 2


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("0", "must be a whole number of tokens from 512 to 100,000,000, got 0"),
        ("-8192", "must be a whole number of tokens from 512 to 100,000,000, got -8,192"),
        ("1_000_000_000", "must be a whole number of tokens from 512 to 100,000,000, got 1,0"),
        ('"128k"', "must be an integer, got '128k'"),
        ("8192.5", "must be an integer, got 8192.5"),
        ("true", "must be an integer, got True"),
    ],
)
def test_a_bad_window_names_its_field(value: str, problem: str) -> None:
    settings_path().write_text(
        f'[[providers]]\nid = "vllm"\nmodels = [{{id = "m", context_window = {value}}}]\n',
        encoding="utf-8",
    )
    warning = load_settings().warning or ""
    assert f"field 'providers[0].models[0].context_window' {problem}" in warning


def test_save_refuses_a_window_out_of_bounds_naming_the_model() -> None:
    vllm = dataclasses.replace(
        ProviderSettings.from_provider(builtin("vllm")),
        models=[ModelInfo("qwen", context_window=100)],
    )
    with pytest.raises(SettingsError) as caught:
        save_settings(Settings(providers=[vllm]))
    assert str(caught.value) == (
        "the context window of qwen (vLLM) must be a whole number of tokens from 512 to"
        " 100,000,000, got 100"
    )
    assert caught.value.field == "providers[0].models[0].context_window"
    assert not settings_path().exists()
