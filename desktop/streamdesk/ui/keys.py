"""Finding the key of the active provider without blocking the window.

The Secret Service is a D-Bus round trip (tens of ms, longer when the keychain prompts), so the
lookup runs in a worker thread. Any failure to reach the keychain is reported as one sentence;
the window then offers the offline demo instead of failing.
"""

from __future__ import annotations

import asyncio
import os

from streamdesk.core.errors import KeychainUnavailable

ENV_KEY = "STREAMDESK_API_KEY"


def lookup_now(provider_id: str) -> tuple[str | None, str | None]:
    """(key or None, why not) for `provider_id`; the environment overrides the keychain."""
    env = os.environ.get(ENV_KEY)
    if env:
        return env, None
    try:
        from streamdesk.core.store.secrets import KeyStore
    except ImportError:  # the keychain module is not there (yet): behave as "no key"
        return None, None
    try:
        key: str | None = KeyStore().get(provider_id)
    except KeychainUnavailable as exc:
        return None, f"The keychain is unavailable ({exc})."
    return key or None, None


async def lookup(provider_id: str) -> tuple[str | None, str | None]:
    return await asyncio.to_thread(lookup_now, provider_id)
