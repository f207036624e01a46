"""User settings in one hand-editable TOML file: `config_dir()/settings.toml`.

Read with `tomllib` (strict, stdlib), written with `tomlkit` on top of the existing document so a
user's comments and key order survive a save. Writes are atomic (temporary file in the same
directory, fsync, `os.replace`), so a crash never leaves half a file. A file that cannot be read
is copied to `settings.toml.bak` before defaults are used, and the warning names the bad field;
a URL that cannot be used loads as written instead, and is said (see `load_settings`).
No secret is ever stored here: keys and proxy credentials live in the OS keychain.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from streamdesk.core.errors import SettingsError
from streamdesk.core.paths import UnusableDirectory, config_dir
from streamdesk.core.provider_urls import (
    UrlFault,
    mcp_url_faults,
    profile_url_faults,
    proxy_url_fault,
)
from streamdesk.core.providers import (
    BUILTIN_PROVIDERS,
    ModelInfo,
    Provider,
    context_window_problem,
    known_window,
)
from streamdesk.core.request import shown
from streamdesk.core.store import atomic_write_text
from streamdesk.core.store.settings_model import (
    _SHARED_FIELDS,
    PROTOCOLS,
    PROXY_MODES,
    THEMES,
    LoadResult,
    ProviderSettings,
    Settings,
    parse_settings,
    proxy_password,
)
from streamdesk.core.tools.config import literal_secrets, server_table

if TYPE_CHECKING:  # tomlkit (~20 ms to import) is loaded only when settings are saved
    from tomlkit.items import Table

SETTINGS_FILE = "settings.toml"
PROXY_KEY_ID = "proxy"  # keychain username holding "user:password" for the manual proxy
__all__ = [  # the dataclasses and parsing live in settings_model.py; importable from here too
    "PROTOCOLS",
    "PROXY_KEY_ID",
    "PROXY_MODES",
    "SETTINGS_FILE",
    "THEMES",
    "LoadResult",
    "ProviderSettings",
    "Settings",
    "all_providers",
    "effective_proxy",
    "load_settings",
    "parse_settings",
    "proxy_fault",
    "proxy_for",
    "proxy_password",
    "resolve_provider",
    "save_settings",
    "settings_path",
    "split_proxy_credentials",
    "url_faults",
]
_HEADER = "Streamdesk settings. Keys and proxy passwords live in the OS keychain, never here."


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


# --- files -------------------------------------------------------------------------------------


def _backup(path: Path) -> Path:
    """Copy `path` to the first free `.bak` name: an older backup is never overwritten, and
    the same bad file read again (every `streamdesk ask`) reuses its backup."""
    candidate = path.with_name(path.name + ".bak")
    n = 2
    content = path.read_bytes()
    while candidate.exists():
        with contextlib.suppress(OSError):
            if candidate.read_bytes() == content:
                return candidate
        candidate = path.with_name(f"{path.name}.bak{n}")
        n += 1
    shutil.copy2(path, candidate)
    return candidate


def load_settings(path: Path | None = None) -> LoadResult:
    """The settings, or defaults plus a warning when the file is unreadable or invalid.

    A URL that cannot be used costs nothing else: it loads as written and the file is left
    alone. Each is a fact of `url_faults` (the window's banner; `streamdesk ask` says the
    profile it uses); the proxy's, which every request shares, is in the warning too when the
    manual proxy is chosen (the URL is not used otherwise)."""
    try:
        path = settings_path() if path is None else path
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(Settings())
    except UnusableDirectory as exc:  # nothing to read there: defaults, and say why
        return LoadResult(Settings(), f"{exc}; defaults are used", defaults_only=True)
    try:
        settings = parse_settings(tomllib.loads(raw.decode("utf-8")))
    except SettingsError as exc:
        problem = f"field '{exc.field}' {exc}" if exc.field else str(exc)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problem = f"not valid TOML ({exc})"
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        problem = "nested too deeply"
    else:
        fault = proxy_fault(settings)
        if fault is None:
            return LoadResult(settings)
        use = f"; use {fault.fix} instead" if fault.fix else ""
        return LoadResult(
            settings,
            f"{path.name}: field 'proxy_url' {shown(settings.proxy_url)!r} is not a valid URL:"
            f" {fault.problem}{use}; put it right in Settings ▸ Network (every other setting is"
            " loaded, and the file is not changed)",
        )
    bak = _backup(path)
    warning = f"{path.name}: {problem}; the file was kept as {bak.name} and defaults are used"
    return LoadResult(Settings(), warning, defaults_only=True)


def proxy_fault(settings: Settings) -> UrlFault | None:
    """The proxy URL's fault when the manual proxy is chosen; None when it can be used or is
    not used (system or no proxy)."""
    return proxy_url_fault(settings.proxy_url) if settings.proxy_mode == "manual" else None


def url_faults(settings: Settings) -> list[UrlFault]:
    """Every URL of the settings that cannot be used, in the order to say them: the active
    provider's, the other providers', the MCP servers', then the proxy's when it is used."""
    providers = profile_url_faults(settings.providers)
    active = [f for f in providers if f.provider_id == settings.active_provider]
    others = [f for f in providers if f.provider_id != settings.active_provider]
    proxy = proxy_fault(settings)
    return [*active, *others, *mcp_url_faults(settings.mcp_servers), *([proxy] if proxy else [])]


def _set(table: Any, key: str, value: Any) -> None:
    """Set or remove (None) a key without disturbing its neighbours' comments."""
    if value is None:
        if key in table:
            del table[key]
    elif key not in table or table[key] != value:
        table[key] = value


def _model_item(m: ModelInfo, provider_id: str) -> Any:
    """A model as an inline table; its context window only where it is the user's own (one a
    built-in profile knows is left to the built-in, which may learn a better figure)."""
    import tomlkit

    item = tomlkit.inline_table()
    item["id"] = m.id
    if m.input_price is not None:
        item["input_price"] = m.input_price
    if m.output_price is not None:
        item["output_price"] = m.output_price
    if m.cached_input_price is not None:
        item["cached_input_price"] = m.cached_input_price
    if m.reasoning_price is not None:
        item["reasoning_price"] = m.reasoning_price
    if not m.vision:
        item["vision"] = False
    if m.context_window is not None and m.context_window != known_window(m.id, provider_id):
        item["context_window"] = m.context_window
    return item


def _provider_table(p: ProviderSettings, table: Table) -> Table:
    import tomlkit

    for key in (
        "id", "name", "base_url", "ws_url", "sign", "needs_key", "default_model",
        "resume", "resume_attempts", "continuation", "api",
    ):  # fmt: skip
        _set(table, key, getattr(p, key))
    _set(table, "auth", p.auth.value)
    models = tomlkit.array()
    models.extend(_model_item(m, p.id) for m in p.models)
    if len(p.models) > 1:
        models.multiline(True)
    _set(table, "models", models)
    _set(table, "max_retries", p.max_retries)
    if p.timeouts is None:
        _set(table, "timeouts", None)
    else:
        inline = tomlkit.inline_table()
        inline.update(dataclasses.asdict(p.timeouts))
        _set(table, "timeouts", inline)
    return table


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically, keeping the comments and unknown keys of the file already there."""
    import tomlkit
    from tomlkit.items import AoT

    path = settings_path() if path is None else path
    if proxy_password(settings.proxy_url):
        raise SettingsError("proxy credentials belong in the keychain, not the file", "proxy_url")
    _check_windows(settings.providers)
    for server in settings.mcp_servers:
        for table, name in literal_secrets(server):
            raise SettingsError(
                "holds a secret; write ${keychain:ID} or ${env:NAME} in its place",
                f"mcp.servers.{server.name}.{table}.{name}",
            )
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError):
        doc = tomlkit.document()
        doc.add(tomlkit.comment(_HEADER))
    for f in dataclasses.fields(Settings):
        if f.name not in ("providers", "mcp_servers", "assistants"):
            _set(doc, f.name, getattr(settings, f.name))
    _save_mcp_servers(doc, settings)
    _save_assistants(doc, settings)
    existing: dict[str, Table] = {}
    old = doc.get("providers")
    if isinstance(old, AoT):
        existing = {str(t.get("id")): t for t in old}
    if settings.providers:
        aot = tomlkit.aot()
        for p in settings.providers:
            aot.append(_provider_table(p, existing.get(p.id) or tomlkit.table()))
        doc["providers"] = aot
    elif "providers" in doc:
        del doc["providers"]
    atomic_write_text(path, tomlkit.dumps(doc))


def _check_windows(providers: list[ProviderSettings]) -> None:
    """Refuse a context window that parsing would refuse (the dialog says which and why)."""
    for index, p in enumerate(providers):
        for j, m in enumerate(p.models):
            problem = None if m.context_window is None else context_window_problem(m.context_window)
            if problem is not None:
                raise SettingsError(
                    f"the context window of {m.id} ({p.name}) {problem}",
                    f"providers[{index}].models[{j}].context_window",
                )


def _save_mcp_servers(doc: Any, settings: Settings) -> None:
    """`[mcp.servers.NAME]` tables; the `mcp` table dropped when it ends up empty."""
    import tomlkit

    mcp = doc.get("mcp")
    if mcp is None and not settings.mcp_servers:
        return
    if mcp is None:
        mcp = doc["mcp"] = tomlkit.table(is_super_table=True)
    if "servers" not in mcp:
        mcp["servers"] = tomlkit.table(is_super_table=True)
    _sync_tables(mcp, "servers", {s.name: server_table(s) for s in settings.mcp_servers})
    if not mcp:
        del doc["mcp"]


def _save_assistants(doc: Any, settings: Settings) -> None:
    """`[assistants.NAME]` tables of the user's assistants (built-ins are never written)."""
    import tomlkit

    if "assistants" not in doc:
        if not settings.assistants:
            return
        doc["assistants"] = tomlkit.table(is_super_table=True)
    _sync_tables(doc, "assistants", {a.name: a.table() for a in settings.assistants})


def _sync_tables(parent: Any, key: str, wanted: dict[str, dict[str, Any]]) -> None:
    """Make `parent[key]` hold one table per name of `wanted`: changed keys set in place
    (comments kept), names no longer wanted removed, `parent[key]` dropped when empty. A
    multi-line string is written as one (a system prompt stays readable), a dict inline."""
    import tomlkit

    tables = parent[key]
    for name in [n for n in tables if n not in wanted]:
        del tables[name]
    for name, values in wanted.items():
        table = tables.get(name)
        if table is None:
            table = tables[name] = tomlkit.table()
        for old in [k for k in table if k not in values]:
            del table[old]
        for field, value in values.items():
            if isinstance(value, dict):
                inline = tomlkit.inline_table()
                inline.update(value)
                value = inline
            elif isinstance(value, str) and "\n" in value:
                value = tomlkit.string(value, multiline=True)
            _set(table, field, value)
    if not tables:
        del parent[key]


# --- providers ---------------------------------------------------------------------------------


def _from_profile(ps: ProviderSettings, settings: Settings) -> Provider:
    base = next((b for b in BUILTIN_PROVIDERS if b.id == ps.id), None)
    shared = {name: getattr(ps, name) for name in _SHARED_FIELDS}
    if not ps.default_model and ps.models:  # a list and no default: its first, as a picker would
        shared["default_model"] = ps.models[0].id
    return Provider(
        **shared,
        models=tuple(ps.models),
        timeouts=ps.timeouts or settings.timeouts(),
        max_retries=settings.max_retries if ps.max_retries is None else ps.max_retries,
        free=base.free if base else False,
    )


def resolve_provider(settings: Settings, provider_id: str) -> Provider:
    """The provider as the user configured it: their profile, else the built-in.

    Global timeouts and retries apply wherever the profile sets none; built-ins whose values
    differ from the defaults (local servers: long first-token wait, no retries) keep theirs.
    """
    profile = settings.profile(provider_id)
    if profile is None:
        base = next((b for b in BUILTIN_PROVIDERS if b.id == provider_id), None)
        if base is None:
            raise KeyError(f"unknown provider {provider_id!r}; add it in Settings ▸ Providers")
        profile = ProviderSettings.from_provider(base)
    return _from_profile(profile, settings)


def all_providers(settings: Settings) -> list[Provider]:
    """Built-ins in their usual order (with the user's overrides), then the user's own profiles."""
    builtin_ids = {b.id for b in BUILTIN_PROVIDERS}
    ids = [b.id for b in BUILTIN_PROVIDERS] + [
        p.id for p in settings.providers if p.id not in builtin_ids
    ]
    return [resolve_provider(settings, pid) for pid in ids]


# --- proxy -------------------------------------------------------------------------------------


def split_proxy_credentials(url: str) -> tuple[str, str | None]:
    """`(url without userinfo, "user:password" or None)`: the dialog stores the second part."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    return urlunsplit(parts._replace(netloc=hostport)), userinfo


def effective_proxy(settings: Settings, credentials: str | None) -> str | None:
    """The `Endpoint.proxy` value of `settings` (see `proxy_for`)."""
    return proxy_for(settings.proxy_mode, settings.proxy_url, credentials)


def proxy_for(mode: str, url: str, credentials: str | None) -> str | None:
    """The `Endpoint.proxy` value: None = environment, "" = none, else the URL with credentials.

    `credentials` is the "user:password" kept in the keychain under `PROXY_KEY_ID`.
    """
    if mode == "system":
        return None
    if mode == "none" or not url:
        return ""
    if not credentials:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{credentials}@{parts.netloc}"))
