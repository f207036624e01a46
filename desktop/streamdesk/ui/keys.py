"""Finding the key of the active provider without blocking the window.

The Secret Service is a D-Bus round trip (tens of ms, longer when the keychain prompts), so the
lookup runs in a worker thread. One `KeyStore` is shared by the window and the settings dialog,
so a key held in memory for this session (keychain unavailable) is seen by both. `KeyStore.get`
already honours `STREAMDESK_API_KEY` and registers every key with the log redaction filter.
"""

from __future__ import annotations

from streamdesk.core.store.secrets import KeyStore

_STORE = KeyStore()


def key_store() -> KeyStore:
    """The process-wide key store (its in-memory keys live as long as the app)."""
    return _STORE
