"""`streamdesk ask` reads settings.toml like the window: user profiles, the active provider,
global timeouts and retries, proxy and CA bundle; a corrupt file warns and is kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamdesk.cli.ask import EXIT_CODES
from streamdesk.core.events import FailureKind
from streamdesk.mock import MockServer, reply_for, run_mock_in_thread

KEY = "sk-settings-test-abcdef123456"
PROMPT = "Which provider answers?"
TOKENS = 12
FULL = "".join(reply_for(PROMPT, tokens=TOKENS)) + "\n"
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    """Demands KEY, so a reply proves the profile's key and URL were used."""
    server, stop = run_mock_in_thread(
        tokens_per_second=0, first_token_delay=0, reply_tokens=TOKENS, api_key=KEY
    )
    try:
        yield server
    finally:
        stop()


def write_settings(home: Path, mock: MockServer, extra: str = "") -> Path:
    path = home / "config" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""{extra}
[[providers]]
id = "myprofile"
name = "My profile"
base_url = "{mock.sse_base_url}"
ws_url = "{mock.ws_url}"
default_model = "my-model"
models = [{{ id = "my-model" }}]
""",
        encoding="utf-8",
    )
    return path


def ask(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in PROXY_ENV and k.lower() != "no_proxy"}
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", PROMPT, "--no-save", *args],
        capture_output=True,
        text=True,
        env={**base, "STREAMDESK_API_KEY": KEY, **(env or {})},
        timeout=60,
        check=False,
    )


def last_model(mock: MockServer) -> str:
    return str(json.loads(mock.requests[-1].body)["model"])


@pytest.mark.parametrize("protocol", ["sse", "ws"])
def test_provider_flag_resolves_a_user_profile(
    streamdesk_home: Path, mock: MockServer, protocol: str
) -> None:
    write_settings(streamdesk_home, mock)
    result = ask("--provider", "myprofile", "--protocol", protocol)
    assert result.returncode == 0, result.stderr
    assert result.stdout == FULL and result.stderr == ""
    assert last_model(mock) == "my-model"


def test_the_active_provider_of_the_settings_is_the_default(
    streamdesk_home: Path, mock: MockServer
) -> None:
    write_settings(streamdesk_home, mock, 'active_provider = "myprofile"')
    result = ask()
    assert result.returncode == 0, result.stderr
    assert result.stdout == FULL and result.stderr == ""
    assert last_model(mock) == "my-model"


def test_global_timeouts_and_retries_come_from_the_settings(
    streamdesk_home: Path, mock: MockServer
) -> None:
    settings = 'active_provider = "myprofile"\nfirst_token_timeout = 0.5\nmax_retries = 0'
    write_settings(streamdesk_home, mock, settings)
    slow = ask("--scenario", "no-first-token")
    assert slow.returncode == EXIT_CODES[FailureKind.FIRST_TOKEN_TIMEOUT], slow.stderr
    flaky = ask("--scenario", "flaky-503-once")  # one retry would have succeeded
    assert flaky.returncode == EXIT_CODES[FailureKind.SERVER_ERROR], flaky.stderr
    again = ask("--scenario", "flaky-503-once", "--max-retries", "1")  # the flag overrides
    assert again.returncode == 0, again.stderr


def test_the_proxy_setting_applies_and_the_flag_overrides_it(
    streamdesk_home: Path, mock: MockServer, dead_port: int
) -> None:
    proxy = f"http://127.0.0.1:{dead_port}"
    settings = f'active_provider = "myprofile"\nproxy_mode = "manual"\nproxy_url = "{proxy}"'
    write_settings(streamdesk_home, mock, settings)
    refused = ask()
    assert refused.returncode == EXIT_CODES[FailureKind.CONNECTION_REFUSED], refused.stderr
    assert f"proxy 127.0.0.1:{dead_port}" in refused.stderr
    direct = ask("--proxy", "none", env=dict.fromkeys(PROXY_ENV, proxy))
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout == FULL


def test_proxy_none_in_the_settings_ignores_the_environment(
    streamdesk_home: Path, mock: MockServer, dead_port: int
) -> None:
    env = dict.fromkeys(PROXY_ENV, f"http://127.0.0.1:{dead_port}")
    write_settings(streamdesk_home, mock, 'active_provider = "myprofile"')
    system = ask(env=env)  # the environment's (dead) proxy is really used by default
    assert system.returncode == EXIT_CODES[FailureKind.CONNECTION_REFUSED], system.stderr
    write_settings(streamdesk_home, mock, 'active_provider = "myprofile"\nproxy_mode = "none"')
    direct = ask(env=env)
    assert direct.returncode == 0, direct.stderr


def test_a_missing_ca_bundle_is_a_tls_failure_naming_the_file(
    streamdesk_home: Path, mock: MockServer, tmp_path: Path
) -> None:
    bundle = tmp_path / "missing-ca.pem"
    write_settings(streamdesk_home, mock, f'active_provider = "myprofile"\nca_bundle = "{bundle}"')
    result = ask()
    assert result.returncode == EXIT_CODES[FailureKind.TLS_ERROR], result.stderr
    assert str(bundle) in result.stderr and "Traceback" not in result.stderr
    flag = ask("--ca-bundle", "")  # the flag overrides the setting
    assert flag.returncode == 0, flag.stderr


def test_a_corrupt_settings_file_warns_keeps_the_file_and_uses_defaults(
    streamdesk_home: Path, mock: MockServer
) -> None:
    path = write_settings(streamdesk_home, mock, 'max_retries = "many"')
    raw = path.read_bytes()
    for _ in range(2):
        result = ask("--base-url", mock.sse_base_url, "--model", "m")
        assert result.returncode == 0, result.stderr
        assert result.stdout == FULL
        assert "'max_retries'" in result.stderr and "defaults are used" in result.stderr
    assert path.read_bytes() == raw  # never overwritten
    backups = sorted(p.name for p in path.parent.iterdir() if ".bak" in p.name)
    assert backups == ["settings.toml.bak"]  # the same bad file is backed up once


def test_keychain_unavailable_is_exit_6_for_a_configured_provider_and_the_demo_without(
    streamdesk_home: Path, mock: MockServer
) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "STREAMDESK_API_KEY": ""}
    demo = ask("--max-tokens", "5", env=env)  # nothing configured: the offline demo
    assert demo.returncode == 0, demo.stderr
    assert "keychain is not available" in demo.stderr and "offline mock" in demo.stderr
    write_settings(streamdesk_home, mock, 'active_provider = "myprofile"')
    active = ask("--max-tokens", "5", env=env)  # chosen in the settings: never the mock
    assert active.returncode == EXIT_CODES[FailureKind.KEYCHAIN_UNAVAILABLE], active.stderr
    assert "offline mock" not in active.stderr and active.stdout == ""
    named = ask("--provider", "myprofile", env=env)
    assert named.returncode == EXIT_CODES[FailureKind.KEYCHAIN_UNAVAILABLE]
    assert "STREAMDESK_API_KEY" in named.stderr and named.stdout == ""


NO_KEYCHAIN = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "STREAMDESK_API_KEY": ""}


def test_a_provider_that_needs_no_key_works_without_a_keychain(
    streamdesk_home: Path, instant_mock: MockServer
) -> None:
    path = streamdesk_home / "config" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(  # the built-in ollama, pointed at the mock
        f'[[providers]]\nid = "ollama"\nname = "Ollama"\nbase_url = "{instant_mock.sse_base_url}"'
        '\nneeds_key = false\ndefault_model = "llama3.2"\n',
        encoding="utf-8",
    )
    result = ask("--provider", "ollama", "--max-tokens", str(TOKENS), env=NO_KEYCHAIN)
    assert result.returncode == 0, result.stderr
    assert result.stdout == FULL and result.stderr == ""
    assert "authorization" not in instant_mock.requests[-1].headers


@pytest.mark.parametrize("provider", ["ollama", "lmstudio", "vllm", "llamacpp"])
def test_websocket_to_a_local_server_is_a_usage_error_not_a_keychain_one(provider: str) -> None:
    result = ask("--provider", provider, "--protocol", "ws", "--model", "m", env=NO_KEYCHAIN)
    assert result.returncode == 2, result.stderr
    assert f"provider {provider!r} has no WebSocket URL" in result.stderr


def test_base_url_without_a_keychain_says_nothing_unless_a_key_was_needed(
    mock: MockServer, instant_mock: MockServer
) -> None:
    fine = ask("--base-url", instant_mock.sse_base_url, "--model", "m", env=NO_KEYCHAIN)
    assert fine.returncode == 0 and fine.stderr == "", fine.stderr
    wanted = ask(
        "--base-url", mock.sse_base_url, "--model", "m", env=NO_KEYCHAIN
    )  # this one demands KEY
    assert wanted.returncode == EXIT_CODES[FailureKind.AUTHENTICATION]
    (line,) = wanted.stderr.splitlines()
    assert "No key was sent: the OS keychain is not available" in line
    assert "kept in memory" not in line
