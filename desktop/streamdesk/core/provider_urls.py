"""The URLs of settings.toml as the Settings forms and their Save judge them (a provider's
base and WebSocket URLs, an MCP server's URL, the proxy's): what stops one from working (a
clause), the URL it most likely means, and where a usable provider URL's requests go.

Loading the settings file keeps every such URL as written, so one mistyped URL costs nothing
else; these checks say at load what is wrong with one, and refuse it at Save, naming the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from streamdesk.core.request import HTTP_SCHEMES, PROXY_SCHEMES, WS_SCHEMES, shown, url_problem

# The paths Streamdesk adds after a base URL (`request_url`): a base URL that already ends in
# one was pasted from an API reference whole, and the request would go to that path twice.
ENDPOINT_PATHS = ("/chat/completions", "/completions", "/responses", "/messages", "/models")
_OTHER_SCHEME = {"ws": "http", "wss": "https", "http": "ws", "https": "wss"}
_LOCAL_HOSTS = ("localhost", "127.", "0.0.0.0", "10.", "192.168.", "[::1]", "host.docker.internal")


@dataclass(frozen=True, slots=True)
class _UrlKind:
    """What a field's URL must be: its schemes, the scheme a bare host most likely wants (a
    remote one, a local one), an example, and whether it is a base URL (Streamdesk extends it
    with the API's path, so it must not hold that path or a query)."""

    schemes: tuple[str, ...]
    remote: str
    local: str
    named: str  # the schemes to start it with, as the no-scheme clause names them
    example: str
    base: bool = False


_BASE = _UrlKind(
    HTTP_SCHEMES, "https", "http", "https:// or http://", "https://api.example.com/v1", base=True
)
_WS = _UrlKind(WS_SCHEMES, "wss", "ws", "wss:// or ws://", "wss://api.example.com/v1/ws/chat")
_MCP = _UrlKind(HTTP_SCHEMES, "https", "http", "https:// or http://", "https://example.com/mcp")
_PROXY = _UrlKind(
    PROXY_SCHEMES, "http", "http", "http:// or socks5://", "http://proxy.example:3128"
)


@dataclass(frozen=True, slots=True)
class UrlAdvice:
    """What the form says of a typed URL."""

    problem: str | None = None  # why it cannot be used (a clause); None when it can
    fix: str | None = None  # the URL it most likely means, when the mistake is a common one
    hint: str = ""  # for a usable URL: where requests go, or what most servers want


def request_url(base_url: str, api: str, model: str) -> str:
    """Where a streaming request for `model` goes: the base URL joined as the SSE transport
    joins it (`{base}/chat/completions`, or the native API's own path)."""
    base = base_url.rstrip("/")
    if api == "chat":
        return base + "/chat/completions"
    from streamdesk.core.dialects import dialect  # on first use, not with the settings

    return base + dialect(api).request_path(model)


def _is_local_host(host: str) -> bool:
    return host.lower().startswith(_LOCAL_HOSTS) or host.lower().endswith(".local")


def _looks_like_host(host: str) -> bool:
    """A bare "api.example.com", "localhost:8080" or "10.0.0.2" (not "my server")."""
    return bool(host) and ("." in host or ":" in host or host.lower() == "localhost")


def _either(schemes: tuple[str, ...]) -> str:
    """ "http or https"; "http, https, socks5 or socks5h"."""
    return " or ".join([", ".join(schemes[:-1]), schemes[-1]] if len(schemes) > 1 else schemes)


def _meant_scheme(scheme: str, schemes: tuple[str, ...]) -> str | None:
    """The scheme a mistyped or swapped one most likely means ("htps" → https, "wss" in an
    HTTP field → https), or None."""
    other = _OTHER_SCHEME.get(scheme)
    if other in schemes:
        return other
    close = difflib.get_close_matches(scheme, schemes, n=1, cutoff=0.75)
    return close[0] if close else None


def _first_mistake(url: str, kind: _UrlKind) -> tuple[str, str | None] | None:
    """The first thing that stops `url` from working: (why, the URL with it put right, or None
    when that cannot be guessed); None when it works."""
    schemes = kind.schemes
    if any(c.isspace() for c in url):
        return "it contains spaces", "".join(url.split())
    if "://" not in url:
        host = url.split("/", 1)[0]
        scheme = kind.local if _is_local_host(host) else kind.remote
        fixed = f"{scheme}://{url}" if _looks_like_host(host) else None
        return f"it has no scheme (start it with {kind.named})", fixed
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in schemes:
        meant = _meant_scheme(scheme.lower(), schemes)
        fixed = f"{meant}://{rest}" if meant else None
        return f"the scheme must be {_either(schemes)}, not {scheme}", fixed
    problem = url_problem(url, schemes)
    if problem is not None:
        return problem, None
    return _path_mistake(url) if kind.base else None


def _path_mistake(url: str) -> tuple[str, str | None] | None:
    """A base URL that holds what Streamdesk adds to it: the API's path, or a query."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    lower = path.lower()
    cut = None
    if ":" in lower.rsplit("/", 1)[-1] and "/models/" in lower:  # ":streamGenerateContent"
        why, cut = "it is a model's whole request URL", path[: lower.index("/models/")]
    for suffix in ENDPOINT_PATHS:
        if cut is None and lower.endswith(suffix):
            why, cut = f"it ends in {suffix}, which Streamdesk adds itself", path[: -len(suffix)]
    if cut is not None:
        return why, urlunsplit(parts._replace(path=cut, query="", fragment=""))  # and its query
    if parts.query or parts.fragment:
        fixed = urlunsplit(parts._replace(query="", fragment=""))
        return "it has a query or fragment, and the API's path would come after it", fixed
    return None


def _advice(url: str, kind: _UrlKind) -> UrlAdvice:
    """The mistakes in `url`, and the URL with every one put right when each could be (a
    pasted "api.example.com/v1/chat/completions" has two)."""
    first = _first_mistake(url, kind)
    if first is None:
        return UrlAdvice()
    whys, fixed = [first[0]], first[1]
    for _ in range(len(ENDPOINT_PATHS) + 4):  # each step puts one mistake right
        step = None if fixed is None else _first_mistake(fixed, kind)
        if step is None:
            break
        whys.append(step[0])
        fixed = step[1]
    if fixed is None and "://" not in url:  # words, not an address with a mistake in it
        return UrlAdvice(f"it is not a URL (one looks like {kind.example})")
    return UrlAdvice(", and ".join(whys), fixed)


def _password_note(url: str) -> UrlAdvice | None:
    """A usable URL that carries a password (sent as Basic auth) is said, not refused: the
    file keeps it in plain text."""
    parts = urlsplit(url)
    if parts.password is None:
        return None
    return UrlAdvice(
        fix=urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])),
        hint="It holds a password, kept in settings.toml as plain text (a key belongs in the"
        " API key box below)",
    )


def base_url_advice(url: str, api: str = "chat", model: str = "") -> UrlAdvice:
    """What is wrong with an SSE base URL as typed, or where its requests go. A base URL
    without a path is accepted (some servers answer at the root), with /v1 suggested."""
    url = url.strip()
    if not url:
        return UrlAdvice()
    advice = _advice(url, _BASE)
    if advice.problem is not None:
        return advice
    password = _password_note(url)
    if password is not None:
        return password
    target = request_url(url, api, model or "MODEL")
    if urlsplit(url).path.strip("/"):
        return UrlAdvice(hint=f"Requests go to {target}")
    version = "/v1beta" if api == "gemini" else "/v1"
    return UrlAdvice(
        fix=url.rstrip("/") + version,
        hint=f"Requests go to {target}; most servers want a path such as {version}",
    )


def ws_url_advice(url: str) -> UrlAdvice:
    """What is wrong with a WebSocket URL as typed ("" is fine: the profile has none)."""
    url = url.strip()
    advice = _advice(url, _WS) if url else UrlAdvice()
    return advice if advice.problem is not None else _password_note(url) or advice


def mcp_url_advice(url: str) -> UrlAdvice:
    """What is wrong with an MCP server's streamable-HTTP URL ("" is not a URL)."""
    return _advice(url.strip(), _MCP)


def proxy_url_advice(url: str) -> UrlAdvice:
    """What is wrong with a proxy URL as typed ("" is fine: none is set). A bare host gets
    http://, the scheme most proxies speak."""
    url = url.strip()
    return _advice(url, _PROXY) if url else UrlAdvice()


def url_sentence(what: str, url: str, advice: UrlAdvice) -> str:
    """`advice.problem` as a sentence naming the field (`what`), with the fix when there is
    one."""
    sentence = f'The {what} "{shown(url.strip())}" cannot be used: {advice.problem}.'
    return sentence[:-1] + f"; use {advice.fix} instead." if advice.fix else sentence


@dataclass(frozen=True, slots=True)
class UrlFault:
    """A URL of settings.toml that cannot be used, as facts for the window and the command
    line to say: a provider profile's, an MCP server's or the proxy's."""

    field: str  # "base_url" | "ws_url" (a provider's), "url" (an MCP server's), "proxy_url"
    url: str  # as written
    problem: str  # why it cannot be used (a clause); "" for an empty base URL
    fix: str | None = None  # the URL it most likely means
    provider_id: str = ""
    provider_name: str = ""  # "" when no profile is named
    server: str = ""  # the MCP server's name, for its "url"


class UrlProfile(Protocol):
    """What a provider profile's URLs are judged by (a profile from the settings, or a
    provider)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def ws_url(self) -> str | None: ...
    @property
    def api(self) -> str: ...


def endpoint_fault(base_url: str, ws_url: str | None, api: str) -> UrlFault | None:
    """The first URL of a profile that cannot be used; None when both can. A profile needs a
    base URL; a WebSocket URL is optional."""
    if not base_url.strip():
        return UrlFault("base_url", base_url, "")
    base = base_url_advice(base_url, api)
    if base.problem is not None:
        return UrlFault("base_url", base_url, base.problem, base.fix)
    ws = ws_url_advice(ws_url or "")
    if ws.problem is not None:
        return UrlFault("ws_url", ws_url or "", ws.problem, ws.fix)
    return None


def fault_sentence(fault: UrlFault) -> str:
    """The fault as one sentence naming the field and the profile (when named), with the URL
    to write instead when there is one: the words of the form's Save, the window's banner
    and `streamdesk ask` alike."""
    if fault.field == "proxy_url":
        return url_sentence("proxy URL", fault.url, UrlAdvice(fault.problem, fault.fix))
    if fault.field == "url":
        what = f"URL of the MCP server {fault.server}"
        return url_sentence(what, fault.url, UrlAdvice(fault.problem, fault.fix))
    of = f" of {fault.provider_name}" if fault.provider_name else ""
    if not fault.url.strip():
        return f"Enter the SSE base URL{of} (such as https://api.example.com/v1)."
    what = "SSE base URL" if fault.field == "base_url" else "WebSocket URL"
    return url_sentence(what + of, fault.url, UrlAdvice(fault.problem, fault.fix))


def endpoint_problem(
    base_url: str, ws_url: str | None, api: str, owner: str = ""
) -> tuple[str, str] | None:
    """`endpoint_fault` as (its field, its sentence naming the `owner` profile when given)."""
    fault = endpoint_fault(base_url, ws_url, api)
    if fault is None:
        return None
    return fault.field, fault_sentence(replace(fault, provider_name=owner))


def profile_url_faults(profiles: Iterable[UrlProfile]) -> list[UrlFault]:
    """Each profile's first URL that the form would refuse, the profile named, in the
    profiles' order. A settings file written by hand or by an older version loads with such
    URLs as written (even one no request can use) and keeps them until the user saves."""
    faults = []
    for p in profiles:
        fault = endpoint_fault(p.base_url, p.ws_url, p.api)
        if fault is not None:
            faults.append(replace(fault, provider_id=p.id, provider_name=p.name))
    return faults


class NamedUrl(Protocol):
    """An MCP server as its URL is judged (`McpServerConfig`)."""

    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...


def mcp_url_faults(servers: Iterable[NamedUrl]) -> list[UrlFault]:
    """Each streamable-HTTP server's URL that the MCP servers page would refuse, in the
    servers' order (settings.toml keeps such a URL as written; starting the server fails)."""
    faults = []
    for server in servers:
        advice = mcp_url_advice(server.url) if server.url else UrlAdvice()
        if advice.problem is not None:
            faults.append(
                UrlFault("url", server.url, advice.problem, advice.fix, server=server.name)
            )
    return faults


def proxy_url_fault(url: str) -> UrlFault | None:
    """The proxy URL's fault, or None when it can be used or none is set."""
    advice = proxy_url_advice(url)
    if advice.problem is None:
        return None
    return UrlFault("proxy_url", url, advice.problem, advice.fix)
