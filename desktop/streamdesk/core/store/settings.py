"""User settings in one hand-editable TOML file: `config_dir()/settings.toml`.

Read with `tomllib` (strict, stdlib), written with `tomlkit` on top of the existing document so a
user's comments and key order survive a save. Writes are atomic (temporary file in the same
directory, fsync, `os.replace`), so a crash never leaves half a file. A file that cannot be read
is copied to `settings.toml.bak` before defaults are used, and the warning names the bad field.
No secret is ever stored here: keys and proxy credentials live in the OS keychain.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from streamdesk.core.errors import SettingsError
from streamdesk.core.paths import config_dir
from streamdesk.core.providers import (
    BUILTIN_PROVIDERS,
    DEFAULT_PROVIDER_ID,
    ModelInfo,
    Provider,
)
from streamdesk.core.request import AuthStyle, Timeouts
from streamdesk.core.store import atomic_write_text

if TYPE_CHECKING:  # tomlkit (~20 ms to import) is loaded only when settings are saved
    from tomlkit.items import Table

SETTINGS_FILE = "settings.toml"
PROXY_KEY_ID = "proxy"  # keychain username holding "user:password" for the manual proxy
PROTOCOLS = ("sse", "ws")
THEMES = ("system", "light", "dark")
PROXY_MODES = ("system", "none", "manual")
_DEFAULT_TIMEOUTS = Timeouts()
_DEFAULT_RETRIES = 2
_SHARED_FIELDS = ("id", "name", "base_url", "ws_url", "auth", "sign", "needs_key", "default_model")
_HEADER = "Streamdesk settings. Keys and proxy passwords live in the OS keychain, never here."


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

    def profile(self, provider_id: str) -> ProviderSettings | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def timeouts(self) -> Timeouts:
        return Timeouts(
            connect=self.connect_timeout,
            first_token=self.first_token_timeout,
            stall=self.stall_timeout,
        )


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    warning: str | None = None  # one sentence for the user when the file was set aside


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


# --- validation: TOML data -> dataclasses, with the bad field named -------------------------

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _get(data: dict[str, Any], key: str, kind: type, default: Any, where: str = "") -> Any:
    if key not in data:
        return default
    value = data[key]
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        got = value if isinstance(value, str | int | float) else type(value).__name__
        raise SettingsError(f"must be {_TYPE_NAMES[kind]}, got {got!r}", f"{where}{key}")
    return value


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value: str = _get(data, key, str, default)
    if value not in choices:
        raise SettingsError(f"must be one of {', '.join(choices)}, got {value!r}", key)
    return value


def _positive(value: float, key: str) -> float:
    if value <= 0:
        raise SettingsError(f"must be greater than 0, got {value!r}", key)
    return value


def _retries(value: int, key: str) -> int:
    if not 0 <= value <= 10:
        raise SettingsError(f"must be between 0 and 10, got {value!r}", key)
    return value


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
        models = []
        for j, m in enumerate(data["models"]):
            mw = f"{where}models[{j}]."
            if isinstance(m, str):
                models.append(ModelInfo(m))
                continue
            if not isinstance(m, dict):
                raise SettingsError("must be a table or a model name", mw[:-1])
            models.append(
                ModelInfo(
                    _get(m, "id", str, "", mw),
                    _get(m, "input_price", float, None, mw),
                    _get(m, "output_price", float, None, mw),
                )
            )
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
        base_url=_get(data, "base_url", str, d.base_url, where),
        ws_url=_get(data, "ws_url", str, d.ws_url, where) or None,
        auth=auth,
        sign=_get(data, "sign", bool, d.sign, where),
        needs_key=_get(data, "needs_key", bool, d.needs_key, where),
        models=models,
        default_model=_get(data, "default_model", str, d.default_model, where),
        timeouts=timeouts,
        max_retries=retries,
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
    proxy_url: str = _get(data, "proxy_url", str, d.proxy_url)
    if proxy_password(proxy_url):
        raise SettingsError(
            "must not contain a password (it belongs in the keychain: streamdesk keys set proxy)",
            "proxy_url",
        )
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
    )


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
    """The settings, or defaults plus a warning when the file is unreadable or invalid."""
    path = settings_path() if path is None else path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(Settings())
    try:
        settings = parse_settings(tomllib.loads(raw.decode("utf-8")))
    except SettingsError as exc:
        problem = f"field '{exc.field}' {exc}" if exc.field else str(exc)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problem = f"not valid TOML ({exc})"
    else:
        return LoadResult(settings)
    bak = _backup(path)
    warning = f"{path.name}: {problem}; the file was kept as {bak.name} and defaults are used"
    return LoadResult(Settings(), warning)


def _set(table: Any, key: str, value: Any) -> None:
    """Set or remove (None) a key without disturbing its neighbours' comments."""
    if value is None:
        if key in table:
            del table[key]
    elif key not in table or table[key] != value:
        table[key] = value


def _model_item(m: ModelInfo) -> Any:
    import tomlkit

    item = tomlkit.inline_table()
    item["id"] = m.id
    if m.input_price is not None:
        item["input_price"] = m.input_price
    if m.output_price is not None:
        item["output_price"] = m.output_price
    return item


def _provider_table(p: ProviderSettings, table: Table) -> Table:
    import tomlkit

    for key in ("id", "name", "base_url", "ws_url", "sign", "needs_key", "default_model"):
        _set(table, key, getattr(p, key))
    _set(table, "auth", p.auth.value)
    models = tomlkit.array()
    models.extend(_model_item(m) for m in p.models)
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
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError):
        doc = tomlkit.document()
        doc.add(tomlkit.comment(_HEADER))
    for f in dataclasses.fields(Settings):
        if f.name != "providers":
            _set(doc, f.name, getattr(settings, f.name))
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


# --- providers ---------------------------------------------------------------------------------


def _from_profile(ps: ProviderSettings, settings: Settings) -> Provider:
    base = next((b for b in BUILTIN_PROVIDERS if b.id == ps.id), None)
    return Provider(
        **{name: getattr(ps, name) for name in _SHARED_FIELDS},
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


def proxy_password(url: str) -> bool:
    """True when a URL carries a password in its userinfo."""
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False


def split_proxy_credentials(url: str) -> tuple[str, str | None]:
    """`(url without userinfo, "user:password" or None)`: the dialog stores the second part."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    return urlunsplit(parts._replace(netloc=hostport)), userinfo


def effective_proxy(settings: Settings, credentials: str | None) -> str | None:
    """The `Endpoint.proxy` value: None = environment, "" = none, else the URL with credentials.

    `credentials` is the "user:password" kept in the keychain under `PROXY_KEY_ID`.
    """
    if settings.proxy_mode == "system":
        return None
    if settings.proxy_mode == "none" or not settings.proxy_url:
        return ""
    if not credentials:
        return settings.proxy_url
    parts = urlsplit(settings.proxy_url)
    return urlunsplit(parts._replace(netloc=f"{credentials}@{parts.netloc}"))
