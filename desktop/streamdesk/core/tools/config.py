"""MCP server configuration: how to reach one tool server, read from settings.toml
(`[mcp.servers.NAME]`) or from the `mcpServers` JSON other clients use.

A stdio server has `command`, `args`, `env` and `cwd`; a streamable-HTTP server has `url` and
`headers`. Secrets stay out of files: a header or environment value may name where its secret
lives instead of holding it, and the reference is expanded only when the server starts:

- `${env:NAME}` is the environment variable NAME of the Streamdesk process;
- `${keychain:ID}` is the OS keychain entry ID (`streamdesk keys set ID`).

For example `headers = { Authorization = "Bearer ${keychain:mcp-github}" }`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from streamdesk.core.errors import KeychainUnavailable, SettingsError
from streamdesk.core.provider_urls import mcp_url_advice
from streamdesk.core.request import HTTP_SCHEMES, url_problem

DEFAULT_CALL_TIMEOUT = 60.0  # seconds one tool call may run
DEFAULT_START_TIMEOUT = 30.0  # seconds a server has to start and list its tools
MAX_SECONDS = 3600.0
TRANSPORTS = ("stdio", "http")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_REFERENCE = re.compile(r"\$\{(env|keychain):([^}]+)\}")
# Values other clients write for a streamable-HTTP server's `type` (Cherry Studio, VS Code, …).
_HTTP_TYPES = ("http", "streamable-http", "streamablehttp", "streamable_http")

SecretLookup = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class McpServerConfig:
    """One configured MCP server. `env` and `headers` may hold `${env:…}` / `${keychain:…}`
    references (kept unexpanded here, so a saved config never holds the secret)."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = ""
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    start_timeout: float = DEFAULT_START_TIMEOUT
    disabled: bool = False

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    @property
    def where(self) -> str:
        """What it runs or where it is, for lists and messages."""
        if self.url:
            return self.url
        return " ".join([self.command, *self.args])


class KeyReader(Protocol):
    """What reads the keychain (`core.store.secrets.KeyStore` fits)."""

    def get(self, provider_id: str, *, environment: bool = True) -> str | None: ...


def keychain_lookup(keys: KeyReader) -> SecretLookup:
    """`${keychain:ID}` references read through `keys` (None: not set, or no keychain)."""

    def lookup(entry: str) -> str | None:
        try:
            return keys.get(entry, environment=False)
        except KeychainUnavailable:
            return None

    return lookup


class MissingSecret(LookupError):
    """A `${env:…}` or `${keychain:…}` reference names nothing."""


def expand(value: str, keychain: SecretLookup | None, environ: Mapping[str, str]) -> str:
    """`value` with its references replaced by the secrets they name."""

    def one(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2).strip()
        found = environ.get(name) if kind == "env" else (keychain(name) if keychain else None)
        if found is None:
            where = (
                f"the environment variable {name}"
                if kind == "env"
                else f"the keychain entry {name!r} (set it with `streamdesk keys set {name}`)"
            )
            raise MissingSecret(f"{where} is not set")
        return found

    return _REFERENCE.sub(one, value)


def keychain_references(server: McpServerConfig) -> list[str]:
    """The keychain entries `server`'s headers and environment name."""
    values = [*server.headers.values(), *server.env.values()]
    return [
        m.group(2).strip()
        for v in values
        for m in _REFERENCE.finditer(v)
        if m.group(1) == "keychain"
    ]


def has_reference(value: str) -> bool:
    return _REFERENCE.search(value) is not None


_SECRET_NAME = re.compile(r"key|secret|passw|auth|bearer|credential|cookie|token", re.IGNORECASE)


def literal_secrets(server: McpServerConfig) -> list[tuple[str, str]]:
    """(`headers` or `env`, name) of each value that looks like a secret written out in full
    rather than referenced: such a value must not be saved in a file."""
    return [
        (table, k)
        for table, values in (("headers", server.headers), ("env", server.env))
        for k, v in values.items()
        if _SECRET_NAME.search(k) and v and not has_reference(v)
    ]


def keychain_id(server: str, name: str) -> str:
    """The keychain entry that holds the secret `name` (a header or variable) of `server`."""
    return f"mcp.{server}.{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"


class KeyWriter(Protocol):
    """What keeps a secret (`core.store.secrets.KeyStore` fits)."""

    def set(self, provider_id: str, key: str) -> None: ...

    def hold_in_memory(self, provider_id: str, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class KeptSecrets:
    """A server whose written-out secrets were moved: `moved` names each header or variable,
    `in_memory` those only held for this session because no keychain could take them."""

    server: McpServerConfig
    moved: tuple[str, ...] = ()
    in_memory: tuple[str, ...] = ()


def secrets_to_keychain(
    server: McpServerConfig, keys: KeyWriter, *, memory_fallback: bool = False
) -> KeptSecrets:
    """`server` with every secret written out in full (`literal_secrets`) moved to the keychain
    and a `${keychain:ID}` reference in its place; a scheme before it ("Bearer sk-…") stays,
    only the secret moves. Without a keychain: held in memory with `memory_fallback`,
    else `KeychainUnavailable` is raised."""
    headers, env = dict(server.headers), dict(server.env)
    moved: list[str] = []
    in_memory: list[str] = []
    for table, name in literal_secrets(server):
        values = headers if table == "headers" else env
        entry = keychain_id(server.name, name)
        scheme, _, secret = values[name].strip().rpartition(" ")
        try:
            keys.set(entry, secret)
        except KeychainUnavailable:
            if not memory_fallback:
                raise
            keys.hold_in_memory(entry, secret)
            in_memory.append(name)
        moved.append(name)
        values[name] = f"{scheme} ${{keychain:{entry}}}" if scheme else f"${{keychain:{entry}}}"
    if not moved:
        return KeptSecrets(server)
    kept = dataclasses.replace(server, headers=headers, env=env)
    return KeptSecrets(kept, tuple(moved), tuple(in_memory))


# --- parsing -------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise SettingsError("must be a string", f"{where}.{key}")
    return value


def _strings(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise SettingsError("must be a table of strings", f"{where}.{key}")
    return dict(value)


def _seconds(data: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError("must be a number of seconds", f"{where}.{key}")
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise SettingsError(f"must be above 0 and at most {MAX_SECONDS:g}", f"{where}.{key}")
    return float(value)


def parse_server(
    name: str, data: object, where: str, *, url_as_written: bool = False
) -> McpServerConfig:
    """One server from a TOML table or an `mcpServers` entry; the error names the field.
    `url_as_written`: a URL that cannot be used is kept (settings.toml: one mistyped URL must
    not cost the rest of the file); starting the server then says why (`url_fault`)."""
    if not _NAME.match(name):
        raise SettingsError(
            "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            where,
        )
    if not isinstance(data, Mapping):
        raise SettingsError("must be a table", where)
    kind = _text(data, "type", where).lower().replace(" ", "")
    url = _text(data, "url", where) or _text(data, "baseUrl", where)
    command = _text(data, "command", where)
    if kind == "sse":
        raise SettingsError(
            "uses the old HTTP+SSE transport; only stdio and streamable HTTP are supported",
            f"{where}.type",
        )
    if kind and kind not in (*_HTTP_TYPES, "stdio"):
        raise SettingsError(f"must be stdio or http, got {kind!r}", f"{where}.type")
    if bool(url) == bool(command):
        raise SettingsError("needs either `command` (stdio) or `url` (streamable HTTP)", where)
    if url and not url_as_written:
        problem = url_problem(url, HTTP_SCHEMES)
        if problem is not None:
            raise SettingsError(f"is not a valid URL: {problem}", f"{where}.url")
    args = data.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise SettingsError("must be a list of strings", f"{where}.args")
    disabled = data.get("disabled", False)
    if not isinstance(disabled, bool):
        raise SettingsError("must be true or false", f"{where}.disabled")
    return McpServerConfig(
        name=name,
        command=command,
        args=tuple(args),
        env=_strings(data, "env", where),
        cwd=_text(data, "cwd", where),
        url=url,
        headers=_strings(data, "headers", where),
        call_timeout=_seconds(data, "timeout", where, DEFAULT_CALL_TIMEOUT),
        start_timeout=_seconds(data, "start_timeout", where, DEFAULT_START_TIMEOUT),
        disabled=disabled,
    )


def parse_servers(
    data: object, where: str, *, url_as_written: bool = False
) -> list[McpServerConfig]:
    """A table of servers by name (`[mcp.servers]` or the value of `mcpServers`)."""
    if not isinstance(data, Mapping):
        raise SettingsError("must be a table of servers by name", where)
    return [
        parse_server(str(name), value, f"{where}.{name}", url_as_written=url_as_written)
        for name, value in data.items()
    ]


def url_fault(config: McpServerConfig) -> str | None:
    """Why the server's URL cannot be used (kept as written in settings.toml), with the URL
    it most likely means when there is one; None when it can."""
    advice = mcp_url_advice(config.url) if config.url else None
    if advice is None or advice.problem is None:
        return None
    return f"{advice.problem}; use {advice.fix} instead" if advice.fix else advice.problem


def parse_mcp_json(data: object) -> list[McpServerConfig]:
    """The `{"mcpServers": {...}}` shape of Claude Desktop, Cherry Studio and others."""
    if not isinstance(data, Mapping) or "mcpServers" not in data:
        raise SettingsError('has no "mcpServers" object', "mcpServers")
    return parse_servers(data["mcpServers"], "mcpServers")


def server_table(server: McpServerConfig) -> dict[str, Any]:
    """The settings.toml table of `server`: only what differs from the defaults."""
    table: dict[str, Any] = {}
    if server.url:
        table["url"] = server.url
        if server.headers:
            table["headers"] = dict(server.headers)
    else:
        table["command"] = server.command
        if server.args:
            table["args"] = list(server.args)
        if server.env:
            table["env"] = dict(server.env)
        if server.cwd:
            table["cwd"] = server.cwd
    if server.call_timeout != DEFAULT_CALL_TIMEOUT:
        table["timeout"] = server.call_timeout
    if server.start_timeout != DEFAULT_START_TIMEOUT:
        table["start_timeout"] = server.start_timeout
    if server.disabled:
        table["disabled"] = True
    return table
