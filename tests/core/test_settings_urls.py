"""A settings.toml with one URL no request can use loses nothing: the file loads whole, the URL
as written, the file is not touched, and what is wrong is said naming the provider (or the
proxy) and the field. A file that is not TOML, or holds the wrong types, is set aside as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streamdesk.core.provider_urls import fault_sentence, profile_url_faults
from streamdesk.core.store.settings import (
    Settings,
    load_settings,
    save_settings,
    settings_path,
    url_faults,
)
from streamdesk.core.store.settings_model import unusable_profile


def write(relay: str, top: str = "") -> bytes:
    """A file as a user keeps it: a theme, two providers (the second one named Relay and
    ending in `relay`'s lines), an MCP server and an assistant."""
    text = f"""# my settings
active_provider = "good"
theme = "dark"
font_size = 14
{top}
[[providers]]
id = "good"
name = "Good"
base_url = "https://good.example/v1"
default_model = "g"
models = [{{ id = "g" }}]

[[providers]]
id = "relay"
name = "Relay"
{relay}

[mcp.servers.files]
command = "mcp-files"
args = ["--root", "/tmp"]

[assistants.reviewer]
name = "Reviewer"
system_prompt = "Review the code."
"""
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(text, encoding="utf-8")
    return text.encode()


def assert_everything_else_kept(settings: Settings) -> None:
    assert settings.theme == "dark" and settings.font_size == 14
    assert settings.active_provider == "good"
    assert [p.id for p in settings.providers] == ["good", "relay"]
    good = settings.profile("good")
    assert good is not None and good.base_url == "https://good.example/v1"
    assert [m.id for m in good.models] == ["g"]
    assert [s.name for s in settings.mcp_servers] == ["files"]
    assert settings.mcp_servers[0].args == ("--root", "/tmp")
    assert [a.name for a in settings.assistants] == ["reviewer"]


UNUSABLE = [
    pytest.param(
        'base_url = "ws://relay.example/v1"',
        "base_url",
        'The SSE base URL of Relay "ws://relay.example/v1" cannot be used: the scheme must be'
        " http or https, not ws; use http://relay.example/v1 instead.",
        id="ws-scheme-base",
    ),
    pytest.param(
        'base_url = "relay.example/v1"',
        "base_url",
        'The SSE base URL of Relay "relay.example/v1" cannot be used: it has no scheme (start it'
        " with https:// or http://); use https://relay.example/v1 instead.",
        id="no-scheme",
    ),
    pytest.param(
        'base_url = "https://relay.example/ v1"',
        "base_url",
        'The SSE base URL of Relay "https://relay.example/ v1" cannot be used: it contains'
        " spaces; use https://relay.example/v1 instead.",
        id="spaces",
    ),
    pytest.param(
        'base_url = "http://127.0.0.1:70000/v1"',
        "base_url",
        'The SSE base URL of Relay "http://127.0.0.1:70000/v1" cannot be used: the port must be'
        " a number from 0 to 65535.",
        id="port",
    ),
    pytest.param(
        'base_url = "http://[::1/v1"',
        "base_url",
        'The SSE base URL of Relay "http://[::1/v1" cannot be used: the host is not a valid IPv6'
        " address.",
        id="ipv6",
    ),
    pytest.param(
        'base_url = "https://relay.example/v1"\nws_url = "https://relay.example/v1/ws/chat"',
        "ws_url",
        'The WebSocket URL of Relay "https://relay.example/v1/ws/chat" cannot be used: the'
        " scheme must be ws or wss, not https; use wss://relay.example/v1/ws/chat instead.",
        id="http-scheme-ws",
    ),
    pytest.param(
        'base_url = "https://relay.example/v1"\nws_url = "ws://127.0.0.1:port/ws"',
        "ws_url",
        'The WebSocket URL of Relay "ws://127.0.0.1:port/ws" cannot be used: the port must be a'
        " number from 0 to 65535.",
        id="ws-port",
    ),
]


@pytest.mark.parametrize(("relay", "field", "sentence"), UNUSABLE)
def test_one_unusable_provider_url_costs_nothing_else(
    relay: str, field: str, sentence: str
) -> None:
    raw = write(relay)
    result = load_settings()
    assert result.warning is None, "said by the URL banner and ask, not as a broken file"
    assert_everything_else_kept(result.settings)
    profile = result.settings.profile("relay")
    assert profile is not None and profile.name == "Relay"
    written = relay.splitlines()[-1].split(" = ", 1)[1].strip('"')
    assert getattr(profile, field) == written, "kept as written, for the form to show"
    (fault,) = profile_url_faults(result.settings.providers)
    assert (fault.provider_id, fault.provider_name, fault.field) == ("relay", "Relay", field)
    assert fault_sentence(fault) == sentence
    assert settings_path().read_bytes() == raw, "loading never rewrites the file"
    assert not list(settings_path().parent.glob("*.bak*")), "nothing was set aside"


def test_the_dialog_refuses_to_save_the_unusable_url_naming_it() -> None:
    write('base_url = "ws://relay.example/v1"')
    problem = unusable_profile(load_settings().settings)
    assert problem is not None
    assert (problem.provider_id, problem.field) == ("relay", "base_url")
    assert problem.message.startswith('The SSE base URL of Relay "ws://relay.example/v1" cannot')


def test_saving_writes_what_was_loaded_the_unusable_url_included() -> None:
    """Another change saved (an import, the window closing) keeps the URL as written and
    every other setting; nothing is put right behind the user's back."""
    write('base_url = "ws://relay.example/v1"')
    settings = load_settings().settings
    settings.font_size = 15
    save_settings(settings)
    text = settings_path().read_text(encoding="utf-8")
    assert "# my settings" in text and 'base_url = "ws://relay.example/v1"' in text
    again = load_settings()
    assert again.warning is None
    assert again.settings.font_size == 15
    again.settings.font_size = 14
    assert_everything_else_kept(again.settings)
    relay = again.settings.profile("relay")
    assert relay is not None and relay.base_url == "ws://relay.example/v1"


def test_an_unusable_manual_proxy_url_is_said_and_costs_nothing_else() -> None:
    raw = write(
        'base_url = "https://relay.example/v1"',
        top='proxy_mode = "manual"\nproxy_url = "proxy.example:3128"',
    )
    result = load_settings()
    assert_everything_else_kept(result.settings)
    assert result.settings.proxy_url == "proxy.example:3128"
    assert result.warning == (
        "settings.toml: field 'proxy_url' 'proxy.example:3128' is not a valid URL: it has no"
        " scheme (start it with http:// or socks5://); use http://proxy.example:3128 instead;"
        " put it right in Settings ▸ Network (every other setting is loaded, and the file is"
        " not changed)"
    )
    assert settings_path().read_bytes() == raw
    assert not list(settings_path().parent.glob("*.bak*"))


@pytest.mark.parametrize("mode", ["system", "none"])
def test_a_proxy_url_not_in_use_is_kept_and_not_said(mode: str) -> None:
    """With the system proxy or none, nothing uses the URL: no warning at load."""
    write(
        'base_url = "https://relay.example/v1"',
        top=f'proxy_mode = "{mode}"\nproxy_url = "proxy.example:3128"',
    )
    result = load_settings()
    assert result.warning is None
    assert result.settings.proxy_url == "proxy.example:3128"
    assert url_faults(result.settings) == []


def test_every_unusable_url_is_a_fault_in_the_order_to_say_them() -> None:
    """The active provider's first, the other providers', the MCP servers', the manual
    proxy's last; each with the URL it most likely means."""
    write(
        'base_url = "https://relay.example/v1/chat/completions"\n'
        "[mcp.servers.remote]\n"
        'url = "htps://tools.example/mcp"',
        top='proxy_mode = "manual"\nproxy_url = "proxy.example:3128"',
    )
    text = settings_path().read_text(encoding="utf-8")
    text = text.replace('base_url = "https://good.example/v1"', 'base_url = "good.example/v1"')
    text = text.replace('active_provider = "good"', 'active_provider = "relay"')
    settings_path().write_text(text, encoding="utf-8")
    result = load_settings()
    faults = url_faults(result.settings)
    assert [(f.field, f.provider_id or f.server, f.fix) for f in faults] == [
        ("base_url", "relay", "https://relay.example/v1"),
        ("base_url", "good", "https://good.example/v1"),
        ("url", "remote", "https://tools.example/mcp"),
        ("proxy_url", "", "http://proxy.example:3128"),
    ]
    assert fault_sentence(faults[2]) == (
        'The URL of the MCP server remote "htps://tools.example/mcp" cannot be used: the scheme'
        " must be http or https, not htps; use https://tools.example/mcp instead."
    )
    assert fault_sentence(faults[3]) == (
        'The proxy URL "proxy.example:3128" cannot be used: it has no scheme (start it with'
        " http:// or socks5://); use http://proxy.example:3128 instead."
    )


def test_a_proxy_password_still_sets_the_file_aside() -> None:
    """A secret in the file is not a typo to keep: the file is set aside, as before."""
    write('base_url = "https://relay.example/v1"', top='proxy_url = "http://u:pw@proxy:1"')
    result = load_settings()
    assert result.settings == Settings()
    assert result.warning is not None and "field 'proxy_url' must not contain a password" in (
        result.warning
    )


@pytest.mark.parametrize(
    ("relay", "said"),
    [
        pytest.param('base_url = "ws://relay.example/v1"\nmodels = [', "not valid TOML", id="toml"),
        pytest.param("base_url = 42", "field 'providers[1].base_url' must be a string", id="type"),
    ],
)
def test_a_file_that_cannot_be_read_is_still_set_aside_with_defaults(relay: str, said: str) -> None:
    raw = write(relay)
    result = load_settings()
    assert result.settings == Settings()
    assert result.warning is not None and said in result.warning
    assert result.warning.endswith("the file was kept as settings.toml.bak and defaults are used")
    assert settings_path().with_name("settings.toml.bak").read_bytes() == raw
    assert settings_path().read_bytes() == raw


def test_a_tool_servers_unusable_url_costs_nothing_else(streamdesk_home: Path) -> None:
    """An MCP server's mistyped URL is kept as written (its start says why); the other
    servers and settings load, and the file is not set aside."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        'theme = "dark"\n\n[mcp.servers.typo]\nurl = "htps://tools.example/mcp"\n\n'
        '[mcp.servers.notes]\ncommand = "notes-server"\n'
    )
    path.write_text(text, encoding="utf-8")
    loaded = load_settings()
    assert not loaded.defaults_only and loaded.settings.theme == "dark"
    assert [(s.name, s.url) for s in loaded.settings.mcp_servers] == [
        ("typo", "htps://tools.example/mcp"),
        ("notes", ""),
    ]
    assert path.read_text(encoding="utf-8") == text
    assert not list(path.parent.glob("*.bak*"))
