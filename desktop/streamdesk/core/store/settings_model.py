"""The settings as dataclasses, and their strict parsing from TOML data (settings.py reads and
writes the file and re-exports every public name here).

Parsing names the bad field (`SettingsError.field`) so the warning can say what to fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streamdesk.core.assistants import Assistant, parse_table
from streamdesk.core.errors import SettingsError
from streamdesk.core.provider_urls import endpoint_problem
from streamdesk.core.providers import (
    BUILTIN_PROVIDERS,
    DEFAULT_PROVIDER_ID,
    ModelInfo,
    Provider,
    context_window_problem,
    known_window,
)
from streamdesk.core.request import (
    CONTINUATIONS,
    AuthStyle,
    Timeouts,
    shown,
)
from streamdesk.core.tools.config import McpServerConfig, parse_servers

PROTOCOLS = ("sse", "ws")
THEMES = ("system", "light", "dark")
PROXY_MODES = ("system", "none", "manual")
_DEFAULT_TIMEOUTS = Timeouts()
_DEFAULT_RETRIES = 2
_SHARED_FIELDS = (
    "id", "name", "base_url", "ws_url", "auth", "sign", "needs_key", "default_model",
    "resume", "resume_attempts", "continuation", "api",
)  # fmt: skip
API_NAMES = ("chat", "responses", "anthropic", "gemini")
RESUME_STRATEGIES = ("continue", "restart", "off")


@dataclass
class ProviderSettings:
    """A user profile, or the user's override of a built-in with the same id.

    `timeouts` / `max_retries` None means "use the global values in Settings".
    """

    id: str
    name: str
    base_url: str
    ws_url: str | None = None
    auth: AuthStyle = AuthStyle.BEARER
    sign: bool = False
    needs_key: bool = True
    models: list[ModelInfo] = field(default_factory=list)
    default_model: str = ""
    timeouts: Timeouts | None = None
    max_retries: int | None = None
    resume: str = "restart"  # after a cut mid-reply: continue | restart | off
    resume_attempts: int = 2
    continuation: str = "assistant"  # how a continuation is sent: assistant | prefix | vllm
    api: str = "chat"  # chat | responses | anthropic | gemini

    @classmethod
    def from_provider(cls, provider: Provider) -> ProviderSettings:
        """An editable copy (the dialog's "duplicate" and "edit a built-in" start here)."""
        return cls(
            **{name: getattr(provider, name) for name in _SHARED_FIELDS},
            models=list(provider.models),
            timeouts=None if provider.timeouts == _DEFAULT_TIMEOUTS else provider.timeouts,
            max_retries=None if provider.max_retries == _DEFAULT_RETRIES else provider.max_retries,
        )


@dataclass
class Settings:
    active_provider: str = DEFAULT_PROVIDER_ID
    providers: list[ProviderSettings] = field(default_factory=list)
    protocol: str = "sse"
    theme: str = "system"
    font_size: int = 11
    proxy_mode: str = "system"
    proxy_url: str = ""  # never with credentials: those go to the keychain as "proxy"
    ca_bundle: str = ""
    connect_timeout: float = _DEFAULT_TIMEOUTS.connect
    first_token_timeout: float = _DEFAULT_TIMEOUTS.first_token
    stall_timeout: float = _DEFAULT_TIMEOUTS.stall
    max_retries: int = _DEFAULT_RETRIES
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    # MCP tool servers, `[mcp.servers.NAME]` tables (see core.tools.config for the keys)
    mcp_servers: list[McpServerConfig] = field(default_factory=list)
    # the user's assistants and edits of built-ins, `[assistants.NAME]` (core.assistants)
    assistants: list[Assistant] = field(default_factory=list)

    def profile(self, provider_id: str) -> ProviderSettings | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def mcp_server(self, name: str) -> McpServerConfig | None:
        return next((s for s in self.mcp_servers if s.name == name), None)

    def timeouts(self) -> Timeouts:
        return Timeouts(
            connect=self.connect_timeout,
            first_token=self.first_token_timeout,
            stall=self.stall_timeout,
        )


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    # one sentence for the user: the file was set aside, or a value in it cannot be used
    warning: str | None = None
    # the file was not read (set aside as a backup, or its folder unusable): what is loaded
    # is the defaults, and writing them would lose what the user had
    defaults_only: bool = False


# --- validation: TOML data -> dataclasses, with the bad field named -------------------------

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
MAX_TEXT = 4096  # characters of any one text value (a path, a URL, a name)
MAX_SECONDS = 86400.0  # a timeout longer than a day is a typo


def _shown(value: Any) -> str:
    """A bad value for a message: repr of a number, a string cut to a few dozen characters."""
    if isinstance(value, str):
        return repr(shown(value))
    return repr(value) if isinstance(value, int | float) else type(value).__name__


def _get(data: dict[str, Any], key: str, kind: type, default: Any, where: str = "") -> Any:
    if key not in data:
        return default
    value = data[key]
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise SettingsError(f"must be {_TYPE_NAMES[kind]}, got {_shown(value)}", f"{where}{key}")
    if kind is str and len(value) > MAX_TEXT:
        raise SettingsError(f"is too long ({len(value)} characters)", f"{where}{key}")
    return value


def _choice(
    data: dict[str, Any], key: str, choices: tuple[str, ...], default: str, where: str = ""
) -> str:
    value: str = _get(data, key, str, default, where)
    if value not in choices:
        raise SettingsError(
            f"must be one of {', '.join(choices)}, got {_shown(value)}", f"{where}{key}"
        )
    return value


def _positive(value: float, key: str) -> float:
    """Seconds: above 0, finite, at most a day (nan would make every request time out)."""
    if not math.isfinite(value) or value > MAX_SECONDS:
        raise SettingsError(f"must be at most {MAX_SECONDS:g} seconds, got {value!r}", key)
    if value <= 0:
        raise SettingsError(f"must be greater than 0, got {value!r}", key)
    return value


def _url_as_written(data: dict[str, Any], key: str, default: str, where: str = "") -> str:
    """A URL kept as the user wrote it, usable or not: one mistyped URL must not cost the rest
    of the file. What is wrong with it is said at load (`settings.url_faults`: the window's
    banner, `streamdesk ask`), and a request that would use it fails naming it."""
    value: str = _get(data, key, str, default, where)
    return value


def _retries(value: int, key: str) -> int:
    if not 0 <= value <= 10:
        raise SettingsError(f"must be between 0 and 10, got {value!r}", key)
    return value


def _parse_model(data: Any, provider_id: str, where: str) -> ModelInfo:
    """A model entry: a name, or a table of its prices, vision and context window. A model a
    built-in profile knows keeps the built-in's window unless the entry gives one."""
    if isinstance(data, str):
        return ModelInfo(data, context_window=known_window(data, provider_id))
    if not isinstance(data, dict):
        raise SettingsError("must be a table or a model name", where)
    mw = f"{where}."
    model_id: str = _get(data, "id", str, "", mw)
    window: int | None = _get(data, "context_window", int, None, mw)
    problem = None if window is None else context_window_problem(window)
    if problem is not None:
        raise SettingsError(problem, f"{mw}context_window")
    return ModelInfo(
        model_id,
        _get(data, "input_price", float, None, mw),
        _get(data, "output_price", float, None, mw),
        _get(data, "cached_input_price", float, None, mw),
        _get(data, "reasoning_price", float, None, mw),
        _get(data, "vision", bool, True, mw),
        context_window=known_window(model_id, provider_id) if window is None else window,
    )


def _parse_provider(data: Any, index: int) -> ProviderSettings:
    where = f"providers[{index}]."
    if not isinstance(data, dict):
        raise SettingsError("must be a table", f"providers[{index}]")
    pid: str = _get(data, "id", str, "", where)
    if not pid.strip():
        raise SettingsError("must be a non-empty string", f"{where}id")
    base = next((p for p in BUILTIN_PROVIDERS if p.id == pid), None)
    d = ProviderSettings.from_provider(base) if base else ProviderSettings(pid, pid, "")
    auth_value: str = _get(data, "auth", str, d.auth.value, where)
    try:
        auth = AuthStyle(auth_value)
    except ValueError:
        allowed = ", ".join(a.value for a in AuthStyle)
        raise SettingsError(
            f"must be one of {allowed}, got {auth_value!r}", f"{where}auth"
        ) from None
    models = d.models
    if "models" in data:
        if not isinstance(data["models"], list):
            raise SettingsError("must be a list of tables", f"{where}models")
        models = [_parse_model(m, pid, f"{where}models[{j}]") for j, m in enumerate(data["models"])]
    timeouts = d.timeouts
    if "timeouts" in data:
        t = data["timeouts"]
        if not isinstance(t, dict):
            raise SettingsError("must be a table", f"{where}timeouts")
        tw = f"{where}timeouts."
        dt = d.timeouts or _DEFAULT_TIMEOUTS
        timeouts = Timeouts(
            connect=_positive(_get(t, "connect", float, dt.connect, tw), f"{tw}connect"),
            first_token=_positive(
                _get(t, "first_token", float, dt.first_token, tw), f"{tw}first_token"
            ),
            stall=_positive(_get(t, "stall", float, dt.stall, tw), f"{tw}stall"),
            write=_positive(_get(t, "write", float, dt.write, tw), f"{tw}write"),
        )
    retries = d.max_retries
    if "max_retries" in data:
        retries = _retries(_get(data, "max_retries", int, 0, where), f"{where}max_retries")
    return ProviderSettings(
        id=pid,
        name=_get(data, "name", str, d.name, where),
        base_url=_url_as_written(data, "base_url", d.base_url, where),
        ws_url=_url_as_written(data, "ws_url", d.ws_url or "", where) or None,
        auth=auth,
        sign=_get(data, "sign", bool, d.sign, where),
        needs_key=_get(data, "needs_key", bool, d.needs_key, where),
        models=models,
        default_model=_get(data, "default_model", str, d.default_model, where),
        timeouts=timeouts,
        max_retries=retries,
        resume=_choice(data, "resume", RESUME_STRATEGIES, d.resume, where),
        resume_attempts=_retries(
            _get(data, "resume_attempts", int, d.resume_attempts, where),
            f"{where}resume_attempts",
        ),
        continuation=_choice(data, "continuation", CONTINUATIONS, d.continuation, where),
        api=_choice(data, "api", API_NAMES, d.api, where),
    )


def parse_settings(data: dict[str, Any]) -> Settings:
    """Validate a parsed TOML document; `SettingsError.field` names the first bad entry."""
    d = Settings()
    raw_providers = data.get("providers", [])
    if not isinstance(raw_providers, list):
        raise SettingsError("must be an array of tables ([[providers]])", "providers")
    providers = [_parse_provider(p, i) for i, p in enumerate(raw_providers)]
    ids = [p.id for p in providers]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup is not None:
        raise SettingsError(f"lists the id {dup!r} twice", "providers")
    font_size: int = _get(data, "font_size", int, d.font_size)
    if not 6 <= font_size <= 72:
        raise SettingsError(f"must be between 6 and 72, got {font_size!r}", "font_size")
    proxy_url = _url_as_written(data, "proxy_url", d.proxy_url)
    if proxy_password(proxy_url):
        raise SettingsError(
            "must not contain a password (it belongs in the keychain: streamdesk keys set proxy)",
            "proxy_url",
        )
    mcp = data.get("mcp", {})
    if not isinstance(mcp, dict):
        raise SettingsError("must be a table ([mcp.servers.NAME])", "mcp")
    return Settings(
        active_provider=_get(data, "active_provider", str, d.active_provider),
        providers=providers,
        protocol=_choice(data, "protocol", PROTOCOLS, d.protocol),
        theme=_choice(data, "theme", THEMES, d.theme),
        font_size=font_size,
        proxy_mode=_choice(data, "proxy_mode", PROXY_MODES, d.proxy_mode),
        proxy_url=proxy_url,
        ca_bundle=_get(data, "ca_bundle", str, d.ca_bundle),
        connect_timeout=_positive(
            _get(data, "connect_timeout", float, d.connect_timeout), "connect_timeout"
        ),
        first_token_timeout=_positive(
            _get(data, "first_token_timeout", float, d.first_token_timeout), "first_token_timeout"
        ),
        stall_timeout=_positive(
            _get(data, "stall_timeout", float, d.stall_timeout), "stall_timeout"
        ),
        max_retries=_retries(_get(data, "max_retries", int, d.max_retries), "max_retries"),
        window_geometry=_get(data, "window_geometry", str, d.window_geometry),
        mcp_servers=parse_servers(mcp.get("servers", {}), "mcp.servers", url_as_written=True),
        assistants=parse_table(data.get("assistants", {})),
    )


# --- what the settings dialog refuses to save ------------------------------------------------


@dataclass(frozen=True)
class ProfileProblem:
    """Why a provider profile cannot be saved: the profile, its field and a sentence saying
    what to do."""

    provider_id: str
    field: str  # "base_url" | "ws_url" | "models"
    message: str


def unusable_profile(settings: Settings) -> ProfileProblem | None:
    """The first provider profile that cannot work: a URL the form refuses (loading keeps any,
    as written), or the provider used for chat without a model.
    A local server's built-in profile may have none: the window takes the server's only one."""
    active = settings.profile(settings.active_provider)
    builtin = next((b for b in BUILTIN_PROVIDERS if b.id == settings.active_provider), None)
    if active is None and builtin is not None:  # a built-in used as it comes ("Custom")
        active = ProviderSettings.from_provider(builtin)
    checked = settings.providers if active is None else [*settings.providers, active]
    for p in checked:
        problem = endpoint_problem(p.base_url, p.ws_url, p.api, p.name)
        if problem is not None:
            return ProfileProblem(p.id, *problem)
    local_server = builtin is not None and builtin.free
    if active is None or active.models or active.default_model or local_server:
        return None
    return ProfileProblem(
        active.id,
        "models",
        f"{active.name} is used for chat but has no model: add one, or press Refresh models"
        " to fill the list from the server.",
    )


def proxy_password(url: str) -> bool:
    """True when a URL carries a password in its userinfo."""
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False
