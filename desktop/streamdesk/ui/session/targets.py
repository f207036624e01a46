"""From a `Target` and a conversation's turns to what goes on the wire: the request and endpoint.

The endpoint carries the settings' network policy (proxy, CA bundle) and timeouts, so chat
requests behave exactly like Settings ▸ Test connection. The manual proxy's credentials live in
the keychain; they are read in a worker thread at send time (a D-Bus round trip must never
block the window) and never cached beyond the request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from streamdesk.core.errors import KeychainUnavailable
from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.request import ChatRequest, Endpoint, Message
from streamdesk.core.store.settings import PROXY_KEY_ID, Settings, effective_proxy
from streamdesk.ui.keys import key_store
from streamdesk.ui.session.turns import Network, Target, Turn

log = logging.getLogger(__name__)


def network_of(settings: Settings) -> Network:
    """The snapshot of `settings` a `Target` carries."""
    return Network(
        proxy_mode=settings.proxy_mode,
        proxy_url=settings.proxy_url,
        ca_bundle=settings.ca_bundle,
        timeouts=settings.timeouts(),
        max_retries=settings.max_retries,
    )


def proxy_credentials_now() -> str | None:
    """ "user:password" for the manual proxy, or None (blocking: call in a worker thread)."""
    try:
        return key_store().get(PROXY_KEY_ID, environment=False)
    except KeychainUnavailable as exc:
        log.warning("proxy credentials unavailable, connecting without them: %s", exc)
        return None


async def resolve_proxy(network: Network) -> str | None:
    """`Endpoint.proxy` for `network`: None = environment, "" = none, else the URL."""
    probe = Settings(proxy_mode=network.proxy_mode, proxy_url=network.proxy_url)
    if network.proxy_mode != "manual" or not network.proxy_url:
        return effective_proxy(probe, None)  # no keychain round trip when none is needed
    return effective_proxy(probe, await asyncio.to_thread(proxy_credentials_now))


async def resolve_endpoint(target: Target) -> Endpoint:
    """The endpoint of one chat request: key, proxy, CA bundle, timeouts and retries.

    The built-in mock runs in this process on loopback: it takes the global timeouts and
    retries (it stands in for the provider the user chose) but never a proxy or a CA bundle,
    so the offline demo works behind any proxy setting.
    """
    provider, network = target.provider, target.network
    if provider.id == MOCK_PROVIDER_ID:
        endpoint = provider.endpoint(target.api_key, proxy="")
        endpoint = replace(
            endpoint,
            timeouts=network.timeouts or endpoint.timeouts,
            max_retries=endpoint.max_retries
            if network.max_retries is None
            else network.max_retries,
        )
    else:
        proxy = await resolve_proxy(network)
        endpoint = provider.endpoint(target.api_key, proxy=proxy, ca_bundle=network.ca_bundle)
    if target.timeouts is not None:
        endpoint = replace(endpoint, timeouts=target.timeouts)
    if target.max_retries is not None:
        endpoint = replace(endpoint, max_retries=target.max_retries)
    return endpoint


def build_request(
    turns: list[Turn],
    index: int,
    turn: Turn,
    system_prompt: str,
    params: dict[str, Any],
    *,
    prefix: str = "",
) -> ChatRequest:
    """History up to `turns[index]` (superseded and empty replies left out) plus `turn`'s prompt.

    A non-empty `prefix` (a partial reply being continued) is the last message, the assistant's:
    the server continues it, as `streamdesk ask --continue ID` does.
    """
    messages: list[Message] = []
    for earlier in turns[:index]:
        if earlier.superseded:
            continue
        messages.append(Message("user", earlier.prompt))
        if earlier.parts:
            messages.append(Message("assistant", earlier.text))
        else:
            messages.pop()  # a prompt that got no reply would leave two user turns in a row
    messages.append(Message("user", turn.prompt))
    if prefix:
        messages.append(Message("assistant", prefix))
    if system_prompt.strip():
        messages.insert(0, Message("system", system_prompt))
    return ChatRequest(
        model=turn.target.request_model,
        messages=tuple(messages),
        max_tokens=params.get("max_tokens") or None,
        temperature=params.get("temperature"),
    )


async def close_transport(transport: Any) -> None:
    """Close even when cancelled again while closing (window closing during a Stop)."""
    task = asyncio.ensure_future(transport.aclose())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
    except Exception:
        log.exception("closing the transport failed")
