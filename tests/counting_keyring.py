"""A keyring backend for the head start's tests: a locked keychain that writes one line to
$COUNTING_KEYRING_LOG for every call it gets (PYTHON_KEYRING_BACKEND=counting_keyring.Locked,
with this folder on PYTHONPATH). A real backend, loaded by keyring as a user's would be."""

from __future__ import annotations

import os

import keyring.backend
import keyring.errors


class Locked(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def _called(self, what: str) -> None:
        with open(os.environ["COUNTING_KEYRING_LOG"], "a", encoding="utf-8") as log:
            log.write(what + "\n")

    def get_password(self, service: str, username: str) -> str | None:
        self._called(f"get {username}")
        raise keyring.errors.KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._called(f"set {username}")
        raise keyring.errors.KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        self._called(f"delete {username}")
        raise keyring.errors.KeyringLocked("the collection is locked")
