"""`streamdesk ask` with a settings.toml whose profile has a URL the Providers form would refuse:
the window's banner sentence on stderr before sending, the request going (and failing) as it
would anyway, the file untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streamdesk.cli.ask import EXIT_CODES
from streamdesk.core.events import FailureKind
from streamdesk.core.provider_urls import fault_sentence, profile_url_faults
from streamdesk.core.store.settings import load_settings, settings_path
from streamdesk.mock import MockServer

PROMPT = "Where does this go?"
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def write_settings(base_url: str) -> str:
    text = f"""active_provider = "myprofile"
[[providers]]
id = "myprofile"
name = "My profile"
base_url = "{base_url}"
needs_key = false
default_model = "my-model"
models = [{{ id = "my-model" }}]
"""
    settings_path().write_text(text, encoding="utf-8")
    return text


def ask(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_ENV and k.lower() != "no_proxy"}
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", PROMPT, "--no-save", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_pasted_request_url_is_said_before_sending_and_fails_as_before(
    streamdesk_home: Path, mock: MockServer
) -> None:
    pasted = mock.sse_base_url + "/chat/completions"
    text = write_settings(pasted)
    sent = len(mock.requests)
    result = ask()
    assert result.returncode == EXIT_CODES[FailureKind.NOT_FOUND], result.stderr
    first, *rest = result.stderr.splitlines()
    (fault,) = profile_url_faults(load_settings().settings.providers)
    assert first == "streamdesk: " + fault_sentence(fault), "the window's banner sentence"
    assert first.startswith("streamdesk: The SSE base URL of My profile ")
    assert first.endswith(f"; use {mock.sse_base_url} instead.")
    assert rest, "the failure is still said after it"
    assert mock.requests[sent:], "the request was sent all the same"
    assert mock.requests[-1].path.endswith("/chat/completions/chat/completions")
    assert settings_path().read_text(encoding="utf-8") == text, "nothing is rewritten"


def test_a_base_url_flag_in_its_place_says_nothing(mock: MockServer) -> None:
    write_settings(mock.sse_base_url + "/chat/completions")
    result = ask("--provider", "myprofile", "--base-url", mock.sse_base_url)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_file_whose_urls_can_be_used_says_nothing(mock: MockServer) -> None:
    write_settings(mock.sse_base_url)
    result = ask()
    assert result.returncode == 0, result.stderr
    assert result.stdout and result.stderr == ""


def test_a_websocket_scheme_in_the_base_url_names_the_profile_and_the_field(
    mock: MockServer,
) -> None:
    """A URL no request can use costs nothing else: the profile loads as written, ask says
    what is wrong in the banner's sentence, and the request fails naming the URL; the file
    is neither rewritten nor set aside."""
    ws_base = mock.sse_base_url.replace("http://", "ws://")
    text = write_settings(ws_base)
    sent = len(mock.requests)
    result = ask()
    assert result.returncode == EXIT_CODES[FailureKind.BAD_REQUEST], result.stderr
    first, failure = result.stderr.splitlines()
    assert first == (
        f'streamdesk: The SSE base URL of My profile "{ws_base}" cannot be used: the scheme must'
        f" be http or https, not ws; use {mock.sse_base_url} instead."
    )
    assert failure.startswith(f'streamdesk: bad_request: The base URL "{ws_base}" is not valid')
    assert len(mock.requests) == sent, "nothing was sent"
    assert settings_path().read_text(encoding="utf-8") == text, "nothing is rewritten"
    assert not settings_path().with_name("settings.toml.bak").exists()


def test_another_profile_s_unusable_url_leaves_the_one_used_alone(mock: MockServer) -> None:
    """The profile used answers from its settings as before; the broken one is the window's
    to say (ask says what the request it sends would use)."""
    text = write_settings(mock.sse_base_url) + (
        '[[providers]]\nid = "relay"\nname = "Relay"\nbase_url = "ws://relay.example/v1"\n'
    )
    settings_path().write_text(text, encoding="utf-8")
    result = ask()
    assert result.returncode == 0, result.stderr
    assert result.stdout and result.stderr == ""
    assert settings_path().read_text(encoding="utf-8") == text
    assert not settings_path().with_name("settings.toml.bak").exists()
