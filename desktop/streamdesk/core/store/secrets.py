"""API keys in the OS keychain (via `keyring`), and nowhere else.

Service "streamdesk", username = provider id ("proxy" holds the manual proxy's "user:password").
Keyring cannot enumerate items, so the ids that have a key (ids only, never a secret) are kept in
`data_dir()/keychain-index.json`. When the keychain is missing or locked, `KeychainUnavailable`
says so in one sentence and the caller may `hold_in_memory()` a key for this session instead.
`STREAMDESK_API_KEY` overrides every provider's key for one run. Every key handed out is
registered with the redaction of logs and failure messages.

A key is checked wherever it enters (keychain, environment, `keys set`, the settings dialog):
whitespace around it (a key file with CRLF ends, a paste with a newline) is removed with a
one-line notice, and a key with whitespace or control characters inside is refused, naming the
provider and never echoing the key: sent as a header it would fail with the key quoted.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import sys
import threading
import unicodedata

import keyring
import keyring.backend
import keyring.core
import keyring.errors

from streamdesk.core import key_changes
from streamdesk.core.errors import KeychainUnavailable
from streamdesk.core.paths import data_dir
from streamdesk.core.redact import remember_secret
from streamdesk.core.store import atomic_write_text

# One keychain call at a time: the window, the settings dialog and their worker threads share
# the Secret Service, and concurrent D-Bus sessions from several threads crashed the process.
_KEYCHAIN_LOCK = threading.Lock()
SERVICE = "streamdesk"
ENV_KEY = "STREAMDESK_API_KEY"
INDEX_FILE = "keychain-index.json"
_PROBE_ID = "streamdesk-probe"  # never stored; looked up only to see if the keychain answers
_log = logging.getLogger(__name__)
_DBUS_MODULES = ("secretstorage", "jeepney", "dbus")


def _no_backend_reason() -> str:
    if sys.platform.startswith("linux"):
        return "no Secret Service found"
    return "no keyring backend found"


def _unavailable(reason: str) -> KeychainUnavailable:
    return KeychainUnavailable(
        f"The OS keychain is not available ({reason}): "
        "the key can be kept in memory for this session only."
    )


def _is_keychain_failure(exc: BaseException) -> bool:
    """Keyring's own errors, plus D-Bus / socket failures some backends let escape."""
    if isinstance(exc, keyring.errors.KeyringError | OSError):
        return True
    module = type(exc).__module__ or ""
    return module.split(".")[0] in _DBUS_MODULES


def _reason(exc: BaseException) -> str:
    if isinstance(exc, keyring.errors.NoKeyringError):
        return _no_backend_reason()
    if isinstance(exc, keyring.errors.KeyringLocked):
        return "it is locked"
    text = str(exc).strip().rstrip(".")
    return text[:120] if text else type(exc).__name__


class InvalidKey(KeychainUnavailable):
    """A key with whitespace or control characters inside. A kind of `KeychainUnavailable`
    because to every reader it is a key that cannot be used: each says why and goes on
    without it."""


def _unusable(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def clean_key(provider_id: str, raw: str) -> tuple[str, str | None]:
    """(the key without surrounding whitespace, a notice when some was removed, else None).

    Raises `InvalidKey` for a key with whitespace or control characters inside.
    """
    key = raw.strip()
    if any(_unusable(c) for c in key):
        raise InvalidKey(
            f"The API key for {provider_id} contains spaces or control characters; "
            f"set it again (streamdesk keys set {provider_id}, or Settings ▸ Providers)."
        )
    if key == raw or not key:
        return key, None
    return key, f"The API key for {provider_id} had whitespace around it; it was removed."


KEYRING_ENV = "PYTHON_KEYRING_BACKEND"
_KEYRINGS_OWN = "keyring.backends."


def _secret_service_is_keyrings_choice() -> bool:
    """Keyring would pick the Secret Service here: Linux, no backend named in its environment
    variable or config file, no third-party backend installed, not KDE (KWallet ranks above)."""
    if not sys.platform.startswith("linux") or os.environ.get(KEYRING_ENV):
        return False
    if "KDE" in os.environ.get("XDG_CURRENT_DESKTOP", "").split(":"):
        return False
    from importlib.metadata import entry_points

    from keyring.util.platform_ import config_root

    if (config_root() / "keyringrc.cfg").exists():
        return False
    backends = entry_points(group="keyring.backends")
    return all(point.value.startswith(_KEYRINGS_OWN) for point in backends)


def load_backend() -> keyring.backend.KeyringBackend:
    """Choose the keychain backend now (the app calls it on a worker thread at start-up).

    Keyring's own detection imports and probes every backend it knows, macOS's too (which runs
    ldconfig and a compiler to find its library); on Linux, where it would choose the Secret
    Service anyway, that backend is taken directly when its daemon answers. Anything else
    (another system, a backend named by the user, no Secret Service) goes through keyring."""
    if _secret_service_is_keyrings_choice():
        try:  # raises unless the daemon answers
            chosen = keyring.core.load_keyring("keyring.backends.SecretService.Keyring")
        except Exception:  # keyring's detection below says what is missing
            _log.debug("the Secret Service did not answer", exc_info=True)
        else:
            keyring.set_keyring(chosen)
    return keyring.get_keyring()


def _is_fail_backend(backend: keyring.backend.KeyringBackend) -> bool:
    name = type(backend).__module__ + "." + type(backend).__name__
    return name in ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring")


class KeyStore:
    """Get, set, delete and list API keys. Thread-safe; cheap to create."""

    def __init__(self) -> None:
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        self._noticed: set[str] = set()  # providers whose stripped key was reported once

    # -- backend ----------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False when keyring has no usable backend. A locked keychain shows only on use."""
        return not _is_fail_backend(keyring.get_keyring())

    def backend_name(self) -> str:
        backend = keyring.get_keyring()
        name = getattr(backend, "name", "") or type(backend).__name__
        return str(name)

    def _keychain(self, method: str, *args: str) -> str | None:
        """Call one backend method, turning every keychain failure into KeychainUnavailable."""
        backend = keyring.get_keyring()
        if _is_fail_backend(backend):
            raise _unavailable(_no_backend_reason())
        try:
            with _KEYCHAIN_LOCK:
                result: str | None = getattr(backend, method)(SERVICE, *args)
        except keyring.errors.PasswordDeleteError:
            raise
        except Exception as exc:
            if not _is_keychain_failure(exc):
                raise
            raise _unavailable(_reason(exc)) from None
        return result

    # -- keys --------------------------------------------------------------------------------

    def get(self, provider_id: str, *, environment: bool = True) -> str | None:
        """The key to use: `STREAMDESK_API_KEY`, else a session key, else the keychain's.

        `environment=False` skips the variable (the proxy's credentials are not an API key).
        Raises `InvalidKey` for a key that cannot be sent (see `clean_key`).
        """
        key = (os.environ.get(ENV_KEY) if environment else None) or self._memory.get(provider_id)
        if not key:
            key = self._keychain("get_password", provider_id)
        if not key:
            return None
        remember_secret(key)
        key, notice = clean_key(provider_id, key)
        if notice and provider_id not in self._noticed:
            self._noticed.add(provider_id)
            _log.warning("%s", notice)
        return key or None

    def source(self, provider_id: str) -> str | None:
        """Where `get` would find the key: "environment", "memory", "keychain" or None."""
        if os.environ.get(ENV_KEY):
            return "environment"
        if provider_id in self._memory:
            return "memory"
        return "keychain" if self.get(provider_id) else None

    def set(self, provider_id: str, key: str) -> None:
        """Store in the keychain (and drop any session copy). Raises KeychainUnavailable, and
        `InvalidKey` for a key that cannot be sent."""
        key_changes.changed()
        remember_secret(key)
        key, _ = clean_key(provider_id, key)
        if not provider_id or not key:
            raise ValueError("a provider id and a non-empty key are needed")
        self._keychain("set_password", provider_id, key)
        with self._lock:
            self._memory.pop(provider_id, None)
            self._update_index(add=provider_id)
        _log.info("stored the key for %s in %s", provider_id, self.backend_name())

    def delete(self, provider_id: str) -> bool:
        """Remove the key everywhere; False when there was none."""
        key_changes.changed()
        with self._lock:
            had_memory = self._memory.pop(provider_id, None) is not None
        try:
            self._keychain("delete_password", provider_id)
            deleted = True
        except keyring.errors.PasswordDeleteError:
            deleted = False
        except KeychainUnavailable:
            if had_memory:
                return True
            raise
        with self._lock:
            self._update_index(remove=provider_id)
        return deleted or had_memory

    def list(self) -> list[str]:
        """Sorted ids with a key this session: in the keychain (checked) or held in memory."""
        with self._lock:
            ids = set(self._read_index()) | set(self._memory)
            if self._memory and not self.available:
                return sorted(self._memory)
        if not ids:
            self._keychain("get_password", _PROBE_ID)  # raises when the keychain is unreachable
        present: list[str] = []
        stale: list[str] = []
        for pid in sorted(ids):
            if pid in self._memory:
                present.append(pid)
                continue
            found = self._keychain("get_password", pid) is not None
            (present if found else stale).append(pid)
        if stale:  # deleted behind our back (e.g. with seahorse): forget the ids
            with self._lock:
                for pid in stale:
                    self._update_index(remove=pid)
        return present

    def hold_in_memory(self, provider_id: str, key: str) -> None:
        """Keep a key for this process only (the keychain is unavailable); never written.
        Raises `InvalidKey` for a key that cannot be sent."""
        key_changes.changed()
        remember_secret(key)
        key, _ = clean_key(provider_id, key)
        if not key:
            raise ValueError("an empty key cannot be held")
        with self._lock:
            self._memory[provider_id] = key

    # -- the id index (ids only, never secrets) -----------------------------------------------

    def _read_index(self) -> builtins.list[str]:
        try:
            data = json.loads((data_dir() / INDEX_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        ids = data.get("ids", []) if isinstance(data, dict) else []
        return [i for i in ids if isinstance(i, str)]

    def _update_index(self, *, add: str | None = None, remove: str | None = None) -> None:
        ids = set(self._read_index())
        before = set(ids)
        if add:
            ids.add(add)
        if remove:
            ids.discard(remove)
        if ids != before:
            text = json.dumps({"service": SERVICE, "ids": sorted(ids)}, indent=2) + "\n"
            atomic_write_text(data_dir() / INDEX_FILE, text)
