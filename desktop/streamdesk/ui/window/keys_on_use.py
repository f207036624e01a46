"""The window's source of API keys: the keychain, loaded once on a worker thread when first
asked, or (right after start) what the head start's process read from it.

Sessions and the provider switcher exist before the keychain's modules load (they are work no
frame should wait on), and requests read keys on worker threads. While the head start's
answers stand (streamdesk/head_start.py) they answer what they were asked, so neither
start-up nor a prompt sent at once waits for the keychain's modules; `load()` (the window runs
it right after start) or any key changed in this process (`core.key_changes`) ends them, and
from then on every key is read from the keychain itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from streamdesk.core import key_changes

if TYPE_CHECKING:
    from streamdesk.head_start import KeychainAnswers


class KeysOnUse:
    """A `KeySource` (core.chat.target) over `ui.keys.key_store()`. `prepare`: chooses the
    keychain's backend (ui/app.py), run once by `load()`."""

    def __init__(self) -> None:
        self.prepare: Callable[[], None] | None = None
        self._early: KeychainAnswers | None = None
        self._early_changes = 0  # key_changes.count() when they were taken
        self._lock = threading.Lock()
        self._loaded = False

    def take_early(self, answers: KeychainAnswers) -> None:
        """Answer from the head start's `answers` until `load()` or a key changes."""
        self._early_changes = key_changes.count()
        self._early = answers

    @property
    def early(self) -> KeychainAnswers | None:
        """The head start's answers while they stand."""
        early = self._early
        if early is not None and key_changes.count() != self._early_changes:
            self._early = early = None
        return early

    def load(self) -> None:
        """Load the keychain once (blocks: imports and D-Bus; call it on a worker thread); the
        head start's answers end here."""
        with self._lock:
            if self._loaded:
                return
            if self.prepare is not None:
                self.prepare()
            self._loaded = True
            self._early = None

    def get(self, provider_id: str, *, environment: bool = True) -> str | None:
        early = self.early
        if early is not None and early.knows(provider_id, environment=environment):
            return early.get(provider_id, environment=environment)
        self.load()
        from streamdesk.ui.keys import key_store

        return key_store().get(provider_id, environment=environment)

    def list(self) -> list[str]:
        early = self.early
        if early is not None and early.knows_list():
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
