"""Where `streamdesk ask` sends its request: provider, key, proxy, CA bundle and timeouts.

The same settings.toml the window uses: `--provider` resolves user profiles and overrides, the
default is the settings' active provider, and the global timeouts, retries, proxy (manual
credentials from the keychain) and CA bundle apply unless a flag says otherwise. The file is
only read here, never written. Core modules are imported inside functions so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING

from streamdesk.cli._common import warn

if TYPE_CHECKING:
    from streamdesk.core.providers import Provider
    from streamdesk.core.request import Endpoint
    from streamdesk.core.store.secrets import KeyStore
    from streamdesk.core.store.settings import Settings


class UsageError(Exception):
    """A bad combination of arguments: exit 2 with one line."""


class KeychainNeeded(Exception):
    """An explicitly asked-for provider needs a key and the keychain cannot be read."""


def add_network_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--proxy",
        metavar="URL",
        help='"none", "system" (environment) or a proxy URL (default: Settings ▸ Network)',
    )
    p.add_argument("--ca-bundle", metavar="PATH", help="extra trusted CA certificates (PEM)")


def load_cli_settings() -> Settings:
    """settings.toml, or the defaults with the file's problem on stderr (the file is kept)."""
    from streamdesk.core.store.settings import load_settings

    loaded = load_settings()
    if loaded.warning:
        warn(loaded.warning)
    return loaded.settings


def pick_provider(settings: Settings, asked: str | None) -> Provider:
    """`--provider`, else the settings' active provider, else the built-in default."""
    from streamdesk.core.providers import DEFAULT_PROVIDER_ID, MOCK_PROVIDER_ID
    from streamdesk.core.store.settings import resolve_provider

    if asked:
        try:
            return resolve_provider(settings, asked)
        except KeyError as exc:
            raise UsageError(exc.args[0]) from None
    active = settings.active_provider
    if active and active != MOCK_PROVIDER_ID:
        try:
            return resolve_provider(settings, active)
        except KeyError:
            warn(f"the active provider {active!r} in the settings is unknown; using the default")
    return resolve_provider(settings, DEFAULT_PROVIDER_ID)


def find_key(
    provider: Provider, args: argparse.Namespace, store: KeyStore
) -> tuple[str | None, str | None]:
    """(the provider's key or None, why the keychain could not be read or None).

    `STREAMDESK_API_KEY` first, then the keychain. A provider that needs no key (a local
    server) never fails for want of a keychain. `KeychainNeeded` when the user asked for a
    provider by name that needs a key and the keychain cannot be read.
    """
    from streamdesk.core.errors import KeychainUnavailable

    try:
        return store.get(provider.id), None
    except KeychainUnavailable as exc:
        note = keychain_problem(exc)
        if provider.needs_key and args.provider and not args.base_url:
            raise KeychainNeeded(note) from None
        # a local server or one of --base-url may need no key; the offline demo needs none
        return None, note if provider.needs_key else None


def keychain_problem(exc: Exception) -> str:
    """The keychain's failure without the window's "kept in memory for this session" advice."""
    text = str(exc).strip().replace(": the key can be kept in memory for this session only.", "")
    return text[:1].lower() + text[1:].rstrip(".")


def network(
    settings: Settings, args: argparse.Namespace, store: KeyStore
) -> tuple[str | None, str | None]:
    """(Endpoint.proxy, CA bundle): the flags, else the settings (credentials: keychain)."""
    from streamdesk.core.errors import KeychainUnavailable
    from streamdesk.core.store.settings import PROXY_KEY_ID, effective_proxy

    if args.proxy is not None:
        proxy: str | None = {"system": None, "none": ""}.get(args.proxy, args.proxy)
    else:
        credentials = None
        if settings.proxy_mode == "manual" and settings.proxy_url:
            try:
                credentials = store.get(PROXY_KEY_ID, environment=False)
            except KeychainUnavailable as exc:
                warn(f"{exc} Connecting to the proxy without credentials.")
        proxy = effective_proxy(settings, credentials)
    ca = settings.ca_bundle if args.ca_bundle is None else args.ca_bundle
    return proxy, ca or None


def endpoint_for(
    provider: Provider,
    key: str | None,
    settings: Settings,
    args: argparse.Namespace,
    store: KeyStore,
) -> Endpoint:
    """The endpoint of a configured provider, or of `--base-url` with its auth settings."""
    proxy, ca = network(settings, args, store)
    endpoint = provider.endpoint(key, proxy=proxy, ca_bundle=ca)
    if args.base_url:
        base = args.base_url.rstrip("/")
        endpoint = dataclasses.replace(
            endpoint, base_url=base, ws_url=args.ws_url or _ws_url_for(base)
        )
    elif args.ws_url:
        endpoint = dataclasses.replace(endpoint, ws_url=args.ws_url)
    return endpoint


def mock_endpoint(provider: Provider, settings: Settings) -> Endpoint:
    """The in-process mock: loopback, so no proxy or CA bundle; the global timeouts apply."""
    return dataclasses.replace(
        provider.endpoint(None, proxy=""),
        timeouts=settings.timeouts(),
        max_retries=settings.max_retries,
    )


def _ws_url_for(base_url: str) -> str:
    """The mock's and the relay's convention: the WebSocket lives at {base}/ws/chat."""
    scheme, sep, rest = base_url.partition("://")
    ws_scheme = {"https": "wss", "http": "ws"}.get(scheme, scheme)
    return f"{ws_scheme}{sep}{rest}/ws/chat"
