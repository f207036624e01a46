"""Settings file: round trip, comments kept, atomic writes, corrupt files set aside, providers."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from streamdesk.core.errors import SettingsError
from streamdesk.core.providers import ModelInfo, builtin
from streamdesk.core.request import AuthStyle, Timeouts
from streamdesk.core.store.settings import (
    ProviderSettings,
    Settings,
    all_providers,
    effective_proxy,
    load_settings,
    resolve_provider,
    save_settings,
    settings_path,
    split_proxy_credentials,
)


def _custom() -> ProviderSettings:
    return ProviderSettings(
        id="my-relay",
        name="My relay",
        base_url="https://relay.example/v1",
        ws_url="wss://relay.example/ws",
        auth=AuthStyle.QUERY_PARAM,
        sign=True,
        models=[ModelInfo("m1", 1.5, 3.0), ModelInfo("m2")],
        default_model="m1",
        timeouts=Timeouts(connect=3.0, first_token=20.0, stall=9.0, write=4.0),
        max_retries=4,
    )


def test_missing_file_gives_defaults_without_warning(streamdesk_home: Path) -> None:
    result = load_settings()
    assert result.settings == Settings() and result.warning is None
    assert settings_path() == streamdesk_home / "config" / "settings.toml"


def test_round_trip_every_field() -> None:
    s = Settings(
        active_provider="my-relay",
        providers=[_custom(), ProviderSettings.from_provider(builtin("ollama"))],
        protocol="ws",
        theme="dark",
        font_size=14,
        proxy_mode="manual",
        proxy_url="socks5://proxy.local:1080",
        ca_bundle="/etc/ssl/custom.pem",
        connect_timeout=2.5,
        first_token_timeout=45.0,
        stall_timeout=12.0,
        max_retries=1,
        window_geometry="AdnQywADAAA=",
    )
    save_settings(s)
    result = load_settings()
    assert result.warning is None
    assert result.settings == s


def test_save_keeps_user_comments_and_unknown_keys() -> None:
    path = settings_path()
    path.write_text(
        "# my own notes\n"
        'theme = "dark"  # I like dark\n'
        "future_option = 3\n\n"
        "[[providers]]\n"
        "# the relay at work\n"
        'id = "work"\n'
        'name = "Work"\n'
        'base_url = "http://10.0.0.2/v1"\n',
        encoding="utf-8",
    )
    loaded = load_settings().settings
    assert loaded.theme == "dark" and loaded.providers[0].name == "Work"
    loaded.font_size = 16
    loaded.providers[0].name = "Work relay"
    save_settings(loaded)
    text = path.read_text(encoding="utf-8")
    for kept in ("# my own notes", "# I like dark", "future_option = 3", "# the relay at work"):
        assert kept in text
    again = load_settings().settings
    assert again.font_size == 16 and again.providers[0].name == "Work relay"


def test_partial_override_of_builtin_inherits_the_rest() -> None:
    settings_path().write_text('[[providers]]\nid = "openai"\nbase_url = "http://gw.local/v1"\n')
    s = load_settings().settings
    p = resolve_provider(s, "openai")
    assert p.base_url == "http://gw.local/v1"
    assert p.name == "OpenAI" and p.models == builtin("openai").models and p.needs_key


@pytest.mark.parametrize(
    ("content", "field_text"),
    [
        ('font_size = "big"\n', "field 'font_size' must be an integer, got 'big'"),
        ("font_size = true\n", "field 'font_size' must be an integer, got True"),
        ('theme = "purple"\n', "field 'theme' must be one of system, light, dark"),
        ("stall_timeout = -1\n", "field 'stall_timeout' must be greater than 0"),
        ('[[providers]]\nid = "x"\nauth = "magic"\n', "field 'providers[0].auth' must be one of"),
        (
            '[[providers]]\nid = "x"\nmodels = [{id = "a", output_price = "cheap"}]\n',
            "field 'providers[0].models[0].output_price' must be a number",
        ),
        ('proxy_url = "http://u:pw@p:1"\n', "field 'proxy_url' must not contain a password"),
        ("theme = \n", "not valid TOML"),
        (b"\xff\xfe bad bytes", "not valid TOML"),
        (
            "connect_timeout = nan\n",
            "field 'connect_timeout' must be at most 86400 seconds, got nan",
        ),
        ("first_token_timeout = nan\n", "field 'first_token_timeout' must be at most 86400 sec"),
        ("stall_timeout = inf\n", "field 'stall_timeout' must be at most 86400 seconds, got inf"),
        ("connect_timeout = -0.5\n", "field 'connect_timeout' must be greater than 0, got -0.5"),
        ("first_token_timeout = 1e300\n", "field 'first_token_timeout' must be at most 86400"),
        (
            '[[providers]]\nid = "x"\ntimeouts = {connect = nan}\n',
            "field 'providers[0].timeouts.connect' must be at most 86400 seconds, got nan",
        ),
        pytest.param(
            "x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply", id="deep-arrays"
        ),
        pytest.param(
            "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "nested too deeply", id="deep-tables"
        ),
        pytest.param(
            'ca_bundle = "' + "A" * 10_000_000 + '"\n',
            "field 'ca_bundle' is too long (10000000 ",
            id="ca-bundle-10MB",
        ),
        pytest.param(
            "font_size = '" + "9" * 100_000 + "'\n",
            "field 'font_size' must be an integer, got '999",
            id="font-size-100k-digits",
        ),
    ],
)
def test_invalid_file_is_kept_as_bak_and_defaults_used(
    content: str | bytes, field_text: str
) -> None:
    path = settings_path()
    raw = content.encode() if isinstance(content, str) else content
    path.write_bytes(raw)
    result = load_settings()
    assert result.settings == Settings()
    assert result.warning is not None
    assert result.warning.startswith("settings.toml: ")
    assert field_text in result.warning
    assert result.warning.endswith("the file was kept as settings.toml.bak and defaults are used")
    assert len(result.warning) < 300  # a huge value is never echoed whole
    assert path.with_name("settings.toml.bak").read_bytes() == raw
    assert path.read_bytes() == raw  # the original is not touched by loading


def test_second_bad_load_does_not_overwrite_first_backup() -> None:
    path = settings_path()
    path.write_text('font_size = "one"\n')
    load_settings()
    path.write_text('font_size = "two"\n')
    warning = load_settings().warning
    assert warning is not None and "settings.toml.bak2" in warning
    assert path.with_name("settings.toml.bak").read_text() == 'font_size = "one"\n'
    assert path.with_name("settings.toml.bak2").read_text() == 'font_size = "two"\n'


def test_save_refuses_proxy_password() -> None:
    with pytest.raises(SettingsError) as info:
        save_settings(Settings(proxy_url="http://me:secret@proxy:8080"))
    assert info.value.field == "proxy_url"
    assert not settings_path().exists()


def test_atomic_write_readers_never_see_partial_file() -> None:
    """A reader polling while large saves happen sees only complete, valid files."""
    big = Settings(
        providers=[
            ProviderSettings(
                f"p{i}",
                f"P{i}",
                f"http://h{i}/v1",
                models=[ModelInfo(f"m{j}", 1.0, 2.0) for j in range(5)],
            )
            for i in range(10)
        ]
    )
    save_settings(big)
    stop = threading.Event()
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            result = load_settings()
            if result.warning or len(result.settings.providers) != 10:
                bad.append(result.warning or "truncated")
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(15):
            big.font_size = 10 + i
            save_settings(big)
    finally:
        stop.set()
        thread.join()
    assert bad == []
    assert load_settings().settings == big
    leftovers = [p.name for p in settings_path().parent.iterdir() if p.name != "settings.toml"]
    assert leftovers == []  # no temporary files left behind


def test_atomic_write_failure_leaves_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    save_settings(Settings(theme="light"))
    before = settings_path().read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch, pytest.raises(OSError, match="disk full"):
        patch.setattr(os, "replace", broken_replace)
        save_settings(Settings(theme="dark"))
    assert settings_path().read_bytes() == before
    assert [p.name for p in settings_path().parent.iterdir()] == ["settings.toml"]


def test_resolve_applies_globals_unless_profile_or_builtin_sets_its_own() -> None:
    s = Settings(connect_timeout=1.0, first_token_timeout=7.0, stall_timeout=3.0, max_retries=5)
    s.providers.append(_custom())
    hs = resolve_provider(s, "holysheep")
    assert hs.timeouts == Timeouts(connect=1.0, first_token=7.0, stall=3.0) and hs.max_retries == 5
    own = resolve_provider(s, "my-relay")
    assert own.timeouts.first_token == 20.0 and own.max_retries == 4 and own.sign
    local = resolve_provider(s, "ollama")
    assert local.timeouts == builtin("ollama").timeouts and local.max_retries == 0 and local.free
    with pytest.raises(KeyError, match="nope"):
        resolve_provider(s, "nope")


def test_all_providers_builtins_first_overrides_in_place() -> None:
    s = Settings(
        providers=[_custom(), ProviderSettings("openai", "OpenAI via gateway", "http://gw/v1")]
    )
    ps = all_providers(s)
    assert [p.id for p in ps][:3] == ["holysheep", "openai", "deepseek"]
    assert ps[-1].id == "my-relay"
    assert ps[1].name == "OpenAI via gateway"


def test_proxy_credentials_stay_out_of_settings() -> None:
    url, cred = split_proxy_credentials("http://alice:s3cret@proxy.local:3128")
    assert url == "http://proxy.local:3128" and cred == "alice:s3cret"
    assert split_proxy_credentials("http://proxy.local:3128") == ("http://proxy.local:3128", None)
    s = Settings(proxy_mode="manual", proxy_url=url)
    save_settings(s)
    assert "s3cret" not in settings_path().read_text()
    assert effective_proxy(s, cred) == "http://alice:s3cret@proxy.local:3128"
    assert effective_proxy(s, None) == url
    assert effective_proxy(Settings(proxy_mode="system"), cred) is None
    assert effective_proxy(Settings(proxy_mode="none", proxy_url=url), cred) == ""


def test_a_profile_names_its_api_and_how_it_resumes() -> None:
    from streamdesk.core.store.settings import parse_settings, resolve_provider

    data = {
        "providers": [
            {
                "id": "claude-box",
                "name": "Claude box",
                "base_url": "https://claude.example/v1",
                "api": "anthropic",
                "resume": "continue",
                "resume_attempts": 4,
            }
        ]
    }
    settings = parse_settings(data)
    provider = resolve_provider(settings, "claude-box")
    assert (provider.api, provider.resume, provider.resume_attempts) == ("anthropic", "continue", 4)
    data["providers"][0]["api"] = "smoke-signals"
    with pytest.raises(SettingsError) as bad:
        parse_settings(data)
    assert bad.value.field == "providers[0].api"


MCP_FILE = """# my tools
theme = "dark"

[mcp.servers.notes]  # the notes server
command = "python"  # keep me
args = ["notes.py"]
env = { NOTES_TOKEN = "${keychain:notes}" }

[mcp.servers.web]
url = "https://mcp.example.com/mcp"
headers = { Authorization = "Bearer ${env:WEB_TOKEN}" }
timeout = 20
"""


def test_mcp_servers_are_read_and_saved_with_comments_kept() -> None:
    from streamdesk.core.tools import McpServerConfig

    path = settings_path()
    path.write_text(MCP_FILE, encoding="utf-8")
    loaded = load_settings()
    assert loaded.warning is None
    notes, web = loaded.settings.mcp_servers
    assert (notes.name, notes.command, notes.args) == ("notes", "python", ("notes.py",))
    assert web.headers == {"Authorization": "Bearer ${env:WEB_TOKEN}"} and web.call_timeout == 20
    settings = loaded.settings
    settings.mcp_servers = [notes, McpServerConfig("calc", "uvx", ("calc-mcp",))]
    save_settings(settings)
    text = path.read_text(encoding="utf-8")
    assert "# the notes server" in text and "# keep me" in text and "[mcp.servers.web]" not in text
    assert load_settings().settings.mcp_servers == settings.mcp_servers
    settings.mcp_servers = []
    save_settings(settings)
    assert "mcp" not in path.read_text(encoding="utf-8").replace("# my tools", "")


def test_an_mcp_secret_written_out_is_refused_in_the_file() -> None:
    from streamdesk.core.tools import McpServerConfig

    leaky = McpServerConfig("web", url="https://h/mcp", headers={"Authorization": "Bearer sk-1"})
    with pytest.raises(SettingsError) as caught:
        save_settings(Settings(mcp_servers=[leaky]))
    assert caught.value.field == "mcp.servers.web.headers.Authorization"
    assert not settings_path().exists()


def test_a_bad_mcp_server_names_its_field() -> None:
    settings_path().write_text('[mcp.servers.x]\nargs = ["a"]\n', encoding="utf-8")
    loaded = load_settings()
    assert loaded.warning is not None and "mcp.servers.x" in loaded.warning


def test_a_profile_with_models_and_no_default_uses_its_first_model() -> None:
    """`models = [...]` without `default_model`: requests go to the first listed model (the
    header showed "no model" and `ask` asked for --model); no list, no default, as before."""
    from streamdesk.core.store.settings import parse_settings, resolve_provider

    settings = parse_settings(
        {
            "providers": [
                {"id": "relay", "name": "Relay", "base_url": "http://127.0.0.1:9/v1",
                 "models": ["gpt-4.1", "gpt-4.1-mini"]},
                {"id": "bare", "name": "Bare", "base_url": "http://127.0.0.1:9/v1"},
            ]
        }
    )  # fmt: skip
    assert resolve_provider(settings, "relay").default_model == "gpt-4.1"
    assert resolve_provider(settings, "bare").default_model == ""
