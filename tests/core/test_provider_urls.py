"""Provider URLs as the Providers form and its Save judge them: what cannot work is refused with
the URL it most likely means, what can work is accepted (with where its requests go), and the
settings file written by hand or by older versions still loads."""

from __future__ import annotations

import pytest

from streamdesk.core.provider_urls import (
    UrlFault,
    base_url_advice,
    endpoint_problem,
    fault_sentence,
    mcp_url_advice,
    profile_url_faults,
    proxy_url_advice,
    ws_url_advice,
)
from streamdesk.core.providers import ModelInfo
from streamdesk.core.store.settings import ProviderSettings, Settings, load_settings, settings_path
from streamdesk.core.store.settings_model import unusable_profile


@pytest.mark.parametrize(
    ("typed", "problem", "fix"),
    [
        ("not a url", "it is not a URL (one looks like https://api.example.com/v1)", None),
        (
            "https://api.openai.com/v1/chat/completions",
            "it ends in /chat/completions, which Streamdesk adds itself",
            "https://api.openai.com/v1",
        ),
        (  # two mistakes: both put right
            "api.openai.com/v1/chat/completions/",
            "it has no scheme (start it with https:// or http://), and it ends in"
            " /chat/completions, which Streamdesk adds itself",
            "https://api.openai.com/v1",
        ),
        (
            "localhost:11434/v1",
            "it has no scheme (start it with https:// or http://)",
            "http://localhost:11434/v1",
        ),
        ("https://api.openai.com/ v1", "it contains spaces", "https://api.openai.com/v1"),
        (
            "wss://relay.example/v1",
            "the scheme must be http or https, not wss",
            "https://relay.example/v1",
        ),
        ("ftp://example.com/v1", "the scheme must be http or https, not ftp", None),
        (
            "https://res.example/openai/deployments/d?api-version=2024-10-21",
            "it has a query or fragment, and the API's path would come after it",
            "https://res.example/openai/deployments/d",
        ),
        (
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
            ":streamGenerateContent?alt=sse",
            "it is a model's whole request URL",
            "https://generativelanguage.googleapis.com/v1beta",
        ),
        (
            "https://api.anthropic.com/v1/messages",
            "it ends in /messages, which Streamdesk adds itself",
            "https://api.anthropic.com/v1",
        ),
        ("http://127.0.0.1:70000/v1", "the port must be a number from 0 to 65535", None),
    ],
)
def test_a_base_url_that_cannot_work_says_why_and_what_it_likely_means(
    typed: str, problem: str, fix: str | None
) -> None:
    advice = base_url_advice(typed)
    assert advice.problem == problem
    assert advice.fix == fix


def test_the_plain_websocket_scheme_becomes_plain_http() -> None:
    assert base_url_advice("ws://localhost:8080/v1").fix == "http://localhost:8080/v1"


@pytest.mark.parametrize(
    ("typed", "api", "hint"),
    [
        ("https://relay.example/v1", "chat", "Requests go to https://relay.example/v1/chat/completions"),
        ("https://relay.example/v1/", "responses", "Requests go to https://relay.example/v1/responses"),
        ("https://api.anthropic.com/v1", "anthropic", "Requests go to https://api.anthropic.com/v1/messages"),
        (  # a path under /models/ that is no request URL (Hugging Face's router)
            "https://router.example/models/meta/v1",
            "chat",
            "Requests go to https://router.example/models/meta/v1/chat/completions",
        ),
    ],
)  # fmt: skip
def test_a_usable_base_url_says_where_requests_go(typed: str, api: str, hint: str) -> None:
    advice = base_url_advice(typed, api, "m")
    assert advice.problem is None
    assert advice.fix is None
    assert advice.hint == hint


def test_a_base_url_without_a_path_is_accepted_with_the_usual_path_suggested() -> None:
    """Some servers answer at the root; most want /v1 (Gemini /v1beta): a hint, not a refusal."""
    advice = base_url_advice("https://api.openai.com")
    assert advice.problem is None
    assert advice.fix == "https://api.openai.com/v1"
    assert advice.hint == (
        "Requests go to https://api.openai.com/chat/completions; most servers want a path"
        " such as /v1"
    )
    gemini = base_url_advice("https://generativelanguage.googleapis.com/", "gemini", "g")
    assert gemini.problem is None
    assert gemini.fix == "https://generativelanguage.googleapis.com/v1beta"


def test_a_password_in_a_url_is_said_but_not_refused() -> None:
    """It works (Basic auth) but sits in settings.toml as plain text: the form says so."""
    for advice, fix in (
        (base_url_advice("https://me:secret@gw.example/v1"), "https://gw.example/v1"),
        (ws_url_advice("wss://me:secret@gw.example/ws"), "wss://gw.example/ws"),
    ):
        assert advice.problem is None
        assert advice.fix == fix
        assert "plain text" in advice.hint
    assert endpoint_problem("https://me:secret@gw.example/v1", None, "chat") is None


@pytest.mark.parametrize(
    ("typed", "problem", "fix"),
    [
        ("https://relay.example/ws", "the scheme must be ws or wss, not https", "wss://relay.example/ws"),
        ("http://localhost:8080/ws", "the scheme must be ws or wss, not http", "ws://localhost:8080/ws"),
        ("relay.example/ws", "it has no scheme (start it with wss:// or ws://)", "wss://relay.example/ws"),
        ("wss://relay.example/ws?model=x", None, None),
        ("", None, None),
    ],
)  # fmt: skip
def test_a_websocket_url_must_be_ws_or_wss(
    typed: str, problem: str | None, fix: str | None
) -> None:
    advice = ws_url_advice(typed)
    assert (advice.problem, advice.fix) == (problem, fix)


@pytest.mark.parametrize(
    ("typed", "problem", "fix"),
    [
        ("htps://tools.example/mcp", "the scheme must be http or https, not htps", "https://tools.example/mcp"),
        ("hhtps://tools.example/mcp", "the scheme must be http or https, not hhtps", "https://tools.example/mcp"),
        ("htp://localhost:3000/mcp", "the scheme must be http or https, not htp", "http://localhost:3000/mcp"),
        ("ftp://tools.example/mcp", "the scheme must be http or https, not ftp", None),
        ("tools.example/mcp", "it has no scheme (start it with https:// or http://)", "https://tools.example/mcp"),
        ("https://tools.example/mcp?key=1", None, None),
    ],
)  # fmt: skip
def test_an_mcp_server_url_gets_the_scheme_it_most_likely_means(
    typed: str, problem: str | None, fix: str | None
) -> None:
    advice = mcp_url_advice(typed)
    assert (advice.problem, advice.fix) == (problem, fix)


@pytest.mark.parametrize(
    ("typed", "problem", "fix"),
    [
        ("proxy.example:3128", "it has no scheme (start it with http:// or socks5://)", "http://proxy.example:3128"),
        ("localhost:8080", "it has no scheme (start it with http:// or socks5://)", "http://localhost:8080"),
        ("socks://127.0.0.1:1080", "the scheme must be http, https, socks5 or socks5h, not socks", "socks5://127.0.0.1:1080"),
        ("socks5://127.0.0.1:1080", None, None),
        ("", None, None),
    ],
)  # fmt: skip
def test_a_proxy_url_without_a_scheme_gets_http(
    typed: str, problem: str | None, fix: str | None
) -> None:
    advice = proxy_url_advice(typed)
    assert (advice.problem, advice.fix) == (problem, fix)


def test_endpoint_problem_names_the_field_and_the_profile() -> None:
    assert endpoint_problem("", None, "chat", "Relay") == (
        "base_url",
        "Enter the SSE base URL of Relay (such as https://api.example.com/v1).",
    )
    assert endpoint_problem("https://relay.example/v1", "https://relay.example/ws", "chat") == (
        "ws_url",
        'The WebSocket URL "https://relay.example/ws" cannot be used: the scheme must be ws or'
        " wss, not https; use wss://relay.example/ws instead.",
    )
    assert endpoint_problem("https://relay.example/v1", "wss://relay.example/ws", "chat") is None


def _profile(pid: str, base_url: str, *models: str) -> ProviderSettings:
    return ProviderSettings(pid, pid.title(), base_url, models=[ModelInfo(m) for m in models])


def test_save_refuses_a_profile_that_cannot_work_naming_it_and_the_field() -> None:
    bad_url = Settings(providers=[_profile("relay", "not a url", "m")])
    problem = unusable_profile(bad_url)
    assert problem is not None
    assert (problem.provider_id, problem.field) == ("relay", "base_url")
    assert problem.message.startswith('The SSE base URL of Relay "not a url" cannot be used: ')
    no_model = Settings(
        active_provider="relay", providers=[_profile("relay", "https://r.example/v1")]
    )
    problem = unusable_profile(no_model)
    assert problem is not None
    assert (problem.provider_id, problem.field) == ("relay", "models")
    assert problem.message == (
        "Relay is used for chat but has no model: add one, or press Refresh models to fill the"
        " list from the server."
    )
    custom = Settings(active_provider="custom")  # the built-in "Custom" names no URL
    problem = unusable_profile(custom)
    assert problem is not None and (problem.provider_id, problem.field) == ("custom", "base_url")


def test_save_lets_through_what_can_work() -> None:
    assert unusable_profile(Settings()) is None
    unused = Settings(providers=[_profile("spare", "https://r.example/v1")])  # not used for chat
    assert unusable_profile(unused) is None
    # A local server's built-in names no model: the window takes the server's only one.
    assert unusable_profile(Settings(active_provider="llamacpp")) is None
    with_default = _profile("relay", "https://r.example/v1")
    with_default.default_model = "m"
    assert unusable_profile(Settings(active_provider="relay", providers=[with_default])) is None


def test_a_file_from_an_older_version_loads_as_it_is() -> None:
    """What Save now refuses but an older version saved (a model-less provider used for chat,
    a pasted /chat/completions URL) loads unchanged, without setting the file aside: the
    dialog says what to fix when the user next saves."""
    settings_path().write_text(
        'active_provider = "relay"\n'
        "[[providers]]\n"
        'id = "relay"\n'
        'name = "Relay"\n'
        'base_url = "https://relay.example/v1/chat/completions"\n'
    )
    result = load_settings()
    assert result.warning is None
    assert result.settings.active_provider == "relay"
    profile = result.settings.profile("relay")
    assert profile is not None and profile.models == []
    assert profile.base_url == "https://relay.example/v1/chat/completions"
    problem = unusable_profile(result.settings)
    assert problem is not None and problem.field == "base_url"


def test_a_provider_url_no_request_can_use_loads_as_written_and_is_told() -> None:
    """Not even a URL: the profile loads as written (the form shows it), nothing is set aside,
    and the fault names the profile and the field."""
    text = '[[providers]]\nid = "relay"\nbase_url = "not a url"\n'
    settings_path().write_text(text)
    result = load_settings()
    assert result.warning is None
    profile = result.settings.profile("relay")
    assert profile is not None and profile.base_url == "not a url"
    (fault,) = profile_url_faults(result.settings.providers)
    assert fault_sentence(fault) == (
        'The SSE base URL of relay "not a url" cannot be used: it is not a URL (one looks like'
        " https://api.example.com/v1)."
    )
    assert settings_path().read_text() == text
    assert not settings_path().with_name("settings.toml.bak").exists()


def test_a_loaded_file_s_unusable_urls_are_told_as_facts_and_the_file_is_kept() -> None:
    """What the window's banner and `ask` say of a hand-written file: which profile, which
    field, why, and the URL to write instead; the file itself is not touched."""
    text = (
        "[[providers]]\n"
        'id = "relay"\n'
        'name = "Relay"\n'
        'base_url = "https://api.openai.com/v1/chat/completions"\n'
        "[[providers]]\n"
        'id = "fine"\n'
        'name = "Fine"\n'
        'base_url = "https://fine.example/v1"\n'
        "[[providers]]\n"
        'id = "azure"\n'
        'name = "Azure"\n'
        'base_url = "https://res.example/openai/deployments/d?api-version=2024-10-21"\n'
    )
    settings_path().write_text(text)
    loaded = load_settings()
    assert loaded.warning is None
    faults = profile_url_faults(loaded.settings.providers)
    assert faults == [
        UrlFault(
            "base_url",
            "https://api.openai.com/v1/chat/completions",
            "it ends in /chat/completions, which Streamdesk adds itself",
            "https://api.openai.com/v1",
            "relay",
            "Relay",
        ),
        UrlFault(
            "base_url",
            "https://res.example/openai/deployments/d?api-version=2024-10-21",
            "it has a query or fragment, and the API's path would come after it",
            "https://res.example/openai/deployments/d",
            "azure",
            "Azure",
        ),
    ]
    assert fault_sentence(faults[0]) == (
        'The SSE base URL of Relay "https://api.openai.com/v1/chat/completi…" cannot be used:'
        " it ends in /chat/completions, which Streamdesk adds itself; use"
        " https://api.openai.com/v1 instead."
    )
    assert settings_path().read_text() == text


def test_the_loaded_faults_are_the_forms_own_refusals() -> None:
    """One check: each fault's sentence is the one Save refuses the profile with."""
    profiles = [
        _profile("empty", ""),
        _profile("pasted", "https://api.anthropic.com/v1/messages"),
        ProviderSettings("relay", "Relay", "https://relay.example/v1", ws_url="wss://r.example/ws"),
    ]
    faults = profile_url_faults(profiles)
    assert [f.provider_id for f in faults] == ["empty", "pasted"]
    for fault, profile in zip(faults, profiles, strict=False):
        refused = unusable_profile(Settings(providers=[profile]))
        assert refused is not None
        assert (refused.field, refused.message) == (fault.field, fault_sentence(fault))
    assert fault_sentence(faults[0]) == (
        "Enter the SSE base URL of Empty (such as https://api.example.com/v1)."
    )
    assert profile_url_faults([]) == []
