"""The window's source of API keys: the keychain, loaded once on a worker thread when first
asked, or (right after start) what the head start's process read from it.

Sessions and the provider switcher exist before the keychain's modules load (they are work no
frame should wait on), and requests read keys on worker threads. While the head start's
answers stand (streamdesk/head_start.py) they answer for the providers they know, so neither
start-up nor a prompt sent at once waits for the keychain's modules; `load()` (the window runs
it right after start) ends them, and from then on every key is read from the keychain itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamdesk.head_start import KeychainAnswers


class KeysOnUse:
    """A `KeySource` (core.chat.target) over `ui.keys.key_store()`. `prepare`: chooses the
    keychain's backend (ui/app.py), run once by `load()`; `early`: the head start's answers."""

    def __init__(self) -> None:
        self.prepare: Callable[[], None] | None = None
        self.early: KeychainAnswers | None = None
        self._lock = threading.Lock()
        self._loaded = False

    def load(self) -> None:
        """Load the keychain once (blocks: imports and D-Bus; call it on a worker thread); the
        head start's answers end here."""
        with self._lock:
            if self._loaded:
                return
            if self.prepare is not None:
                self.prepare()
            self._loaded = True
            self.early = None

    def get(self, provider_id: str, *, environment: bool = True) -> str | None:
        early = self.early
        if early is not None and early.knows(provider_id):
            return early.get(provider_id, environment=environment)
        self.load()
        from streamdesk.ui.keys import key_store

        return key_store().get(provider_id, environment=environment)

    def list(self) -> list[str]:
        early = self.early
        if early is not None:
            return early.list()
        self.load()
        from streamdesk.ui.keys import key_store

        return key_store().list()

    def lookup(self, provider_id: str) -> tuple[str | None, str | None]:
        """(key or None, why not: one full sentence), for a worker thread."""
        from streamdesk.core.errors import KeychainUnavailable

        try:
            return self.get(provider_id) or None, None
        except KeychainUnavailable as exc:
            return None, str(exc)
