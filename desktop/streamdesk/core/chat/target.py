"""Where a conversation's requests go, and how that becomes an `Endpoint` at send time.

A `Target` is what a conversation is held with: the provider profile (base URL, WebSocket URL,
auth style, signing, prices), the model, the protocol and the request parameters. It is stored
with the conversation, so continuing, regenerating or editing reuses it and a conversation is
never sent to another host unless the user switches it on purpose.

`resolve_endpoint` is the one place that turns a target into what a transport needs: the key
(from the keychain, in a worker thread: a D-Bus round trip must never block a GUI loop), the
signing flag, the proxy (manual credentials from the keychain), the CA bundle, the timeouts and
the retries. A provider that needs a key it does not have is `MissingKey`, never the mock.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Protocol

from streamdesk.core.errors import KeychainUnavailable
from streamdesk.core.providers import DEFAULT_PROVIDER_ID, MOCK_PROVIDER_ID, Provider
from streamdesk.core.request import AuthStyle, Endpoint, Timeouts
from streamdesk.core.store.settings import PROXY_KEY_ID, Settings, proxy_for

log = logging.getLogger(__name__)

BASE_URL_PROVIDER_ID = "custom"


class KeySource(Protocol):
    """Where keys come from (core.store.secrets.KeyStore fits); `get` may block (D-Bus)."""

    def get(self, provider_id: str, *, environment: bool = True) -> str | None: ...
    def list(self) -> builtins.list[str]: ...


class MissingKey(Exception):
    """The provider needs an API key and none is set: nothing was sent anywhere."""

    def __init__(self, provider_id: str, provider_name: str, reason: str | None = None) -> None:
        self.provider_id = provider_id
        self.provider_name = provider_name
        self.reason = reason  # why the keychain could not be read, when that is the cause
        super().__init__(f"no API key for {provider_id}")


@dataclass(frozen=True, slots=True)
class Network:
    """The settings' network policy at send time: a snapshot, so a later settings change applies
    to the next request, never to one already streaming."""

    proxy_mode: str = "system"  # system | none | manual (credentials: keychain PROXY_KEY_ID)
    proxy_url: str = ""  # the manual proxy, without credentials
    ca_bundle: str = ""
    timeouts: Timeouts | None = None  # the global timeouts, for the built-in mock
    max_retries: int | None = None  # the global retries, for the built-in mock

    @classmethod
    def of(cls, settings: Settings) -> Network:
        return cls(
            proxy_mode=settings.proxy_mode,
            proxy_url=settings.proxy_url,
            ca_bundle=settings.ca_bundle,
            timeouts=settings.timeouts(),
            max_retries=settings.max_retries,
        )


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how one conversation's requests go."""

    provider: Provider
    model: str
    protocol: str = "sse"  # "sse" | "ws"
    api_key: str | None = field(default=None, repr=False)  # given: the keychain is not asked
    timeouts: Timeouts | None = None  # None: the provider's
    max_retries: int | None = None  # None: the provider's
    sign: bool | None = None  # None: as the provider's profile says
    scenario: str | None = None  # mock fault, sent as the model suffix "MODEL#SCENARIO"
    network: Network = field(default_factory=Network)
    resume: str | None = None  # after a cut: None = the provider's way (Provider.resume)

    @property
    def request_model(self) -> str:
        return f"{self.model}#{self.scenario}" if self.scenario else self.model

    @property
    def is_mock(self) -> bool:
        return self.provider.id == MOCK_PROVIDER_ID

    def with_provider(self, provider: Provider) -> Target:
        return dataclasses.replace(self, provider=provider)


def base_url_provider(base_url: str, ws_url: str | None = None) -> Provider:
    """A provider for a bare OpenAI-compatible base URL: no key needed (a local server), no
    signing, no known prices. A key, when one is given, is sent as a Bearer token."""
    base = base_url.rstrip("/")
    return Provider(
        id=BASE_URL_PROVIDER_ID,
        name=base,
        base_url=base,
        ws_url=ws_url or websocket_url_for(base),
        auth=AuthStyle.BEARER,
        sign=False,
        needs_key=False,
        models=(),
        default_model="",
    )


def at_base_url(provider: Provider, base_url: str, ws_url: str | None = None) -> Provider:
    """`provider`'s profile (auth, signing, prices) served from another base URL."""
    base = base_url.rstrip("/")
    return dataclasses.replace(provider, base_url=base, ws_url=ws_url or websocket_url_for(base))


def with_api(provider: Provider, api: str) -> Provider:
    """`provider` speaking another of its APIs (OpenAI's Responses, or the built-in mock's
    dialects, which live on the same port: Gemini's under /v1beta). WebSocket is chat only."""
    if api == provider.api:
        return provider
    base = provider.base_url
    if provider.id == MOCK_PROVIDER_ID and api == "gemini" and base.rstrip("/").endswith("/v1"):
        base = base.rstrip("/") + "beta"
    return dataclasses.replace(
        provider, api=api, base_url=base, ws_url=provider.ws_url if api == "chat" else None
    )


def websocket_url_for(base_url: str) -> str:
    """The mock's and the relay's convention: the WebSocket lives at {base}/ws/chat."""
    scheme, sep, rest = base_url.rstrip("/").partition("://")
    ws_scheme = {"https": "wss", "http": "ws"}.get(scheme, scheme)
    return f"{ws_scheme}{sep}{rest}/ws/chat"


def _read_key(keys: KeySource, provider: Provider) -> tuple[str | None, str | None]:
    try:
        return keys.get(provider.id) or None, None
    except KeychainUnavailable as exc:
        return None, str(exc)


def _read_proxy_credentials(keys: KeySource) -> str | None:
    try:
        return keys.get(PROXY_KEY_ID, environment=False)
    except KeychainUnavailable as exc:
        log.warning("proxy credentials unavailable, connecting without them: %s", exc)
        return None


async def resolve_endpoint(
    target: Target, keys: KeySource | None, problems: list[str] | None = None
) -> Endpoint:
    """The endpoint of one request: key, signing, proxy, CA bundle, timeouts and retries.

    A configured provider carries its timeouts and retries (the settings' global values where
    its profile sets none). The built-in mock runs in this process on loopback: it takes the
    global timeouts and retries (it stands in for the provider the user chose) but never a
    proxy, a CA bundle or a key, so the offline demo works behind any proxy setting. Raises
    `MissingKey` when the provider needs a key and none is given or stored; when one that
    needs none goes without because the keychain cannot be read, the reason is appended to
    `problems` (a 401 then has an explanation).
    """
    provider, network = target.provider, target.network
    if target.is_mock:
        endpoint = provider.endpoint(None, proxy="")
    else:
        key, reason = target.api_key, None
        if key is None and keys is not None:
            key, reason = await asyncio.to_thread(_read_key, keys, provider)
        if key is None and provider.needs_key:
            raise MissingKey(provider.id, provider.name, reason)
        if reason is not None and problems is not None:
            problems.append(reason)
        credentials = None
        if network.proxy_mode == "manual" and network.proxy_url and keys is not None:
            credentials = await asyncio.to_thread(_read_proxy_credentials, keys)
        endpoint = provider.endpoint(
            key,
            proxy=proxy_for(network.proxy_mode, network.proxy_url, credentials),
            ca_bundle=network.ca_bundle,
        )
    if target.is_mock and network.timeouts is not None:
        endpoint = dataclasses.replace(endpoint, timeouts=network.timeouts)
    if target.is_mock and network.max_retries is not None:
        endpoint = dataclasses.replace(endpoint, max_retries=network.max_retries)
    if target.timeouts is not None:
        endpoint = dataclasses.replace(endpoint, timeouts=target.timeouts)
    if target.max_retries is not None:
        endpoint = dataclasses.replace(endpoint, max_retries=max(0, target.max_retries))
    if target.sign is not None and not target.is_mock:
        endpoint = dataclasses.replace(endpoint, sign=target.sign)
    return endpoint


@dataclass(frozen=True, slots=True)
class StoredTarget:
    """What the history keeps of a conversation's target: enough to send it to the same host
    with the same model again (never a key: that stays in the keychain)."""

    provider_id: str
    base_url: str
    ws_url: str | None
    model: str
    protocol: str = "sse"

    @classmethod
    def of(cls, target: Target) -> StoredTarget:
        p = target.provider
        return cls(p.id, p.base_url, p.ws_url, target.model, target.protocol)

    def provider(self, profile: Provider | None, mock: Provider | None = None) -> Provider:
        """The provider to send to: the stored host with `profile`'s auth, signing and prices.

        `profile` is the provider of that id as the settings define it now (None: no longer
        known, then the stored base URL alone). The offline demo's mock moves to a new port
        each run, so a mock conversation goes to the running mock (`mock`).
        """
        if self.provider_id == MOCK_PROVIDER_ID and mock is not None:
            return mock
        if profile is None or self.provider_id == BASE_URL_PROVIDER_ID:
            return base_url_provider(self.base_url, self.ws_url)
        if not self.base_url or profile.base_url.rstrip("/") == self.base_url.rstrip("/"):
            return profile
        return at_base_url(profile, self.base_url, self.ws_url)


def unconfigured(settings: Settings, keys: KeySource) -> bool:
    """The user has configured nothing at all: no provider chosen or defined, no key stored.

    Only then does the offline demo (the built-in mock) stand in; a provider the user chose
    that lacks a key is an error the user can fix, never silently the mock.
    """
    if settings.providers or settings.active_provider not in (
        DEFAULT_PROVIDER_ID,
        MOCK_PROVIDER_ID,
    ):
        return False
    try:
        if keys.get(DEFAULT_PROVIDER_ID):
            return False
        return not keys.list()
    except KeychainUnavailable:
        return True  # nothing stored that can be read


async def only_server_model(target: Target, keys: KeySource | None) -> str | None:
    """The model of a server that serves exactly one (llama.cpp, LM Studio with one loaded), for
    a provider with no default model; None when the list cannot be read or holds several."""
    from streamdesk.core.errors import StreamError
    from streamdesk.core.models_api import fetch_models

    try:
        models = await fetch_models(await resolve_endpoint(target, keys))
    except (StreamError, MissingKey) as exc:
        log.info("no model list from %s: %s", target.provider.base_url, exc)
        return None
    return models[0] if len(models) == 1 else None
