"""How many times this process changed an API key (stored, deleted, held in memory).

Answers about keys read before a change are stale from then on: the window's head start
(streamdesk/head_start.py) read the keychain while the window was built, and its answers stand
only while this count is what it was when they were taken. A module of its own, loaded before
the first frame: the key store's (with keyring) loads much later.
"""

from __future__ import annotations

_changes = 0


def changed() -> None:
    """A key was stored, deleted or held in memory (`core.store.secrets.KeyStore`)."""
    global _changes
    _changes += 1


def count() -> int:
    return _changes
