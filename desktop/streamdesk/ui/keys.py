"""Finding the key of the active provider without blocking the window.

The Secret Service is a D-Bus round trip (tens of ms, longer when the keychain prompts), so the
lookup runs in a worker thread. One `KeyStore` is shared by the window and the settings dialog,
so a key held in memory for this session (keychain unavailable) is seen by both. `KeyStore.get`
already honours `STREAMDESK_API_KEY` and registers every key with the log redaction filter.
"""

from __future__ import annotations

import asyncio

from streamdesk.core.errors import KeychainUnavailable
from streamdesk.core.store.secrets import KeyStore

_STORE = KeyStore()


def key_store() -> KeyStore:
    """The process-wide key store (its in-memory keys live as long as the app)."""
    return _STORE


def lookup_now(provider_id: str) -> tuple[str | None, str | None]:
    """(key or None, why not) for `provider_id`; "why not" is already one full sentence."""
    try:
        key = _STORE.get(provider_id)
    except KeychainUnavailable as exc:
        return None, str(exc)
    return key or None, None


async def lookup(provider_id: str) -> tuple[str | None, str | None]:
    return await asyncio.to_thread(lookup_now, provider_id)
