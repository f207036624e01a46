"""`streamdesk assistants list|export|import` and `streamdesk ask --assistant NAME`: what the
mock receives is the assistant's system prompt, temperature and model; explicit flags win."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamdesk.cli import main
from streamdesk.core.assistants import BUILTIN_ASSISTANTS
from streamdesk.mock import MockServer, run_mock_in_thread

KEY = "sk-assistants-test-abcdef123456"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    server, stop = run_mock_in_thread(
        tokens_per_second=0, first_token_delay=0, reply_tokens=8, api_key=KEY
    )
    try:
        yield server
    finally:
        stop()


def write_settings(home: Path, mock: MockServer) -> Path:
    path = home / "config" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""# my settings
[[providers]]
id = "myprofile"
name = "My profile"
base_url = "{mock.sse_base_url}"
default_model = "default-model"
models = [{{ id = "default-model" }}]

[assistants.Pirate]
description = "Talks like a pirate"
system_prompt = "Answer like a pirate."
provider = "myprofile"
model = "pirate-model"
temperature = 1.3
""",
        encoding="utf-8",
    )
    return path


def ask(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", "Ahoy?", "--no-save", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "STREAMDESK_API_KEY": KEY, "NO_PROXY": "*"},
        timeout=60,
        check=False,
    )


def last_body(mock: MockServer) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(mock.requests[-1].body)
    return body


def test_ask_with_an_assistant_sends_its_prompt_parameters_and_model(
    streamdesk_home: Path, mock: MockServer
) -> None:
    write_settings(streamdesk_home, mock)
    result = ask("--assistant", "pirate")
    assert result.returncode == 0, result.stderr
    body = last_body(mock)
    assert body["messages"] == [
        {"role": "system", "content": "Answer like a pirate."},
        {"role": "user", "content": "Ahoy?"},
    ]
    assert body["model"] == "pirate-model" and body["temperature"] == 1.3


def test_explicit_flags_win_over_the_assistant(streamdesk_home: Path, mock: MockServer) -> None:
    write_settings(streamdesk_home, mock)
    result = ask("--assistant", "Pirate", "--system", "Be brief.", "--model", "other")
    assert result.returncode == 0, result.stderr
    body = last_body(mock)
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["model"] == "other" and body["temperature"] == 1.3


def test_an_unknown_assistant_is_a_usage_error(streamdesk_home: Path, mock: MockServer) -> None:
    write_settings(streamdesk_home, mock)
    result = ask("--assistant", "Nobody")
    assert result.returncode == 2
    assert "no assistant is called 'Nobody'" in result.stderr and "Pirate" in result.stderr


def test_list_shows_builtins_and_mine(
    streamdesk_home: Path, mock: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_settings(streamdesk_home, mock)
    assert main(["assistants", "list"]) == 0
    out = capsys.readouterr().out
    assert all(a.name in out for a in BUILTIN_ASSISTANTS)
    assert "Pirate" in out and "myprofile / pirate-model, temperature 1.3" in out


def test_export_then_import_round_trip(
    streamdesk_home: Path, mock: MockServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = write_settings(streamdesk_home, mock)
    exported = tmp_path / "pirate.json"
    assert main(["assistants", "export", "Pirate", "-o", str(exported)]) == 0
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert [a["name"] for a in data["assistants"]] == ["Pirate"]
    data["assistants"][0]["name"] = "Parrot"
    exported.write_text(json.dumps(data), encoding="utf-8")
    assert main(["assistants", "import", str(exported)]) == 0
    assert "Imported 1 assistant: Parrot" in capsys.readouterr().out
    text = settings.read_text(encoding="utf-8")
    assert "# my settings" in text and "[assistants.Parrot]" in text
    assert main(["assistants", "export", "Parrot"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["assistants"][0] == data["assistants"][0]


def test_import_of_a_bad_file_names_the_field_and_changes_nothing(
    streamdesk_home: Path, mock: MockServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = write_settings(streamdesk_home, mock)
    before = settings.read_text(encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text('{"assistants": [{"name": "X", "max_tokens": "lots"}]}', encoding="utf-8")
    assert main(["assistants", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "assistants[0].max_tokens" in err and "nothing was imported" in err
    assert settings.read_text(encoding="utf-8") == before


def test_import_goes_on_past_a_proxy_url_that_cannot_be_used(
    streamdesk_home: Path, mock: MockServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A bad proxy URL is kept as written and said, not a file set aside: the import adds the
    assistant and keeps the rest of the file (the URL included) as it was."""
    settings = write_settings(streamdesk_home, mock)
    settings.write_text(
        'proxy_mode = "manual"\nproxy_url = "proxy.example:3128"\n'
        + settings.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    parrot = tmp_path / "parrot.json"
    parrot.write_text(
        json.dumps({"assistants": [{"name": "Parrot", "system_prompt": "Squawk."}]}),
        encoding="utf-8",
    )
    assert main(["assistants", "import", str(parrot)]) == 0
    captured = capsys.readouterr()
    assert "Imported 1 assistant: Parrot" in captured.out
    assert "proxy_url" in captured.err and "nothing was imported" not in captured.err
    text = settings.read_text(encoding="utf-8")
    assert "[assistants.Parrot]" in text and "[assistants.Pirate]" in text
    assert 'proxy_url = "proxy.example:3128"' in text
