"""Where `streamdesk ask` (and `bench`) send their requests: the target, from flags and settings.

The same settings.toml the window uses: `--provider` resolves user profiles and overrides, the
default is the settings' active provider, and the global timeouts, retries, proxy and CA bundle
apply unless a flag says otherwise. `--base-url` alone is a bare OpenAI-compatible server: no
key needed, no signing. A conversation continued with `--continue ID` goes to the host it was
held with unless `--provider` or `--base-url` switch it on purpose. The offline demo (the
built-in mock) runs only when the user has configured nothing at all. The file is only read
here, never written. Core modules are imported inside functions so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING

from streamdesk.cli._common import warn

if TYPE_CHECKING:
    from streamdesk.core.chat import KeySource, Network, StoredTarget
    from streamdesk.core.providers import Provider
    from streamdesk.core.request import Timeouts
    from streamdesk.core.store.settings import Settings


class UsageError(Exception):
    """A bad combination of arguments: exit 2 with one line."""


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


def resolve(settings: Settings, provider_id: str) -> Provider:
    from streamdesk.core.store.settings import resolve_provider

    try:
        return resolve_provider(settings, provider_id)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None


def pick_provider(
    settings: Settings,
    args: argparse.Namespace,
    keys: KeySource,
    stored: StoredTarget | None = None,
) -> Provider | None:
    """The provider to send to; None means the offline demo (nothing configured at all).

    `--provider` (with `--base-url`: that profile at another host), else `--base-url` alone,
    else the stored target of a continued conversation, else the settings' active provider.
    """
    from streamdesk.core.chat import at_base_url, base_url_provider, unconfigured
    from streamdesk.core.providers import DEFAULT_PROVIDER_ID, MOCK_PROVIDER_ID

    base_url: str | None = getattr(args, "base_url", None)
    ws_url: str | None = getattr(args, "ws_url", None)
    if args.provider:
        provider = resolve(settings, args.provider)
        return at_base_url(provider, base_url, ws_url) if base_url else _with_ws(provider, ws_url)
    if base_url:
        return base_url_provider(base_url, ws_url)
    if stored is not None:
        if stored.provider_id == MOCK_PROVIDER_ID:
            return None
        profile = None
        try:
            profile = resolve(settings, stored.provider_id)
        except UsageError:
            warn(f"provider {stored.provider_id!r} is no longer configured; using its stored URL")
        return _with_ws(stored.provider(profile), ws_url)
    if unconfigured(settings, keys):
        return None
    active = settings.active_provider
    if active == MOCK_PROVIDER_ID:
        return None
    try:
        return _with_ws(resolve(settings, active), ws_url)
    except UsageError:
        warn(f"the active provider {active!r} in the settings is unknown; using the default")
        return _with_ws(resolve(settings, DEFAULT_PROVIDER_ID), ws_url)


def _with_ws(provider: Provider, ws_url: str | None) -> Provider:
    return dataclasses.replace(provider, ws_url=ws_url) if ws_url else provider


def network_of(settings: Settings, args: argparse.Namespace) -> Network:
    """The settings' proxy and CA bundle, with `--proxy` and `--ca-bundle` on top."""
    from streamdesk.core.chat import Network

    network = Network.of(settings)
    proxy: str | None = getattr(args, "proxy", None)
    if proxy is not None:
        if proxy in ("system", "none"):
            network = dataclasses.replace(network, proxy_mode=proxy, proxy_url="")
        else:  # a URL: credentials in it are used as given, none are read from the keychain
            network = dataclasses.replace(network, proxy_mode="url", proxy_url=proxy)
    ca_bundle: str | None = getattr(args, "ca_bundle", None)
    if ca_bundle is not None:
        network = dataclasses.replace(network, ca_bundle=ca_bundle)
    return network


def timeouts_of(provider: Provider, args: argparse.Namespace) -> Timeouts | None:
    """The provider's timeouts with `--first-token-timeout` / `--stall-timeout` on top."""
    first = getattr(args, "first_token_timeout", None)
    stall = getattr(args, "stall_timeout", None)
    for flag, value in (("--first-token-timeout", first), ("--stall-timeout", stall)):
        if value is not None and not (0 < value <= 86_400):  # nan and inf fail this too
            raise UsageError(f"{flag} must be a number of seconds above 0, at most 86400")
    if first is None and stall is None:
        return None
    timeouts = provider.timeouts
    if first is not None:
        timeouts = dataclasses.replace(timeouts, first_token=first)
    if stall is not None:
        timeouts = dataclasses.replace(timeouts, stall=stall)
    return timeouts


def keychain_problem(exc: Exception | str) -> str:
    """The keychain's failure without the window's "kept in memory for this session" advice."""
    text = str(exc).strip().replace(": the key can be kept in memory for this session only.", "")
    return text[:1].lower() + text[1:].rstrip(".")
