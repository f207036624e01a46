"""Keys in a real Secret Service (tests run inside tests/with-keyring.sh), never in a file."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from streamdesk.core.errors import KeychainUnavailable
from streamdesk.core.redact import REDACTED, install_log_redaction
from streamdesk.core.store.secrets import ENV_KEY, INDEX_FILE, SERVICE, InvalidKey, KeyStore
from streamdesk.core.store.settings import Settings, save_settings

_real_backend = keyring.get_keyring()
needs_keychain = pytest.mark.skipif(
    isinstance(_real_backend, keyring.backends.fail.Keyring),
    reason="no Secret Service: run inside tests/with-keyring.sh",
)


@pytest.fixture
def pid() -> Iterator[str]:
    """A provider id no other test uses; its keychain item is removed afterwards."""
    provider_id = f"test-{uuid.uuid4().hex[:10]}"
    yield provider_id
    with contextlib.suppress(keyring.errors.KeyringError):
        keyring.delete_password(SERVICE, provider_id)


@needs_keychain
def test_set_get_delete_in_the_real_keychain(pid: str, streamdesk_home: Path) -> None:
    store = KeyStore()
    assert store.available and "SecretService" in store.backend_name()
    assert store.get(pid) is None
    store.set(pid, "  sk-real-" + pid + "\n")
    assert keyring.get_password(SERVICE, pid) == "sk-real-" + pid  # really in the keychain
    assert KeyStore().get(pid) == "sk-real-" + pid  # a fresh store (new process) finds it
    assert pid in store.list() and store.source(pid) == "keychain"
    index = json.loads((streamdesk_home / "data" / INDEX_FILE).read_text())
    assert index["ids"] == [pid]
    assert store.delete(pid) is True
    assert keyring.get_password(SERVICE, pid) is None
    assert store.delete(pid) is False
    assert store.list() == []


@needs_keychain
def test_list_forgets_keys_removed_outside_the_app(pid: str) -> None:
    store = KeyStore()
    store.set(pid, "sk-gone-soon")
    keyring.delete_password(SERVICE, pid)
    assert store.list() == []


@needs_keychain
def test_environment_overrides_every_provider(pid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = KeyStore()
    store.set(pid, "sk-from-keychain")
    monkeypatch.setenv("STREAMDESK_API_KEY", "sk-from-env")
    assert store.get(pid) == "sk-from-env"
    assert store.get("openai") == "sk-from-env"
    assert store.source(pid) == "environment"
    monkeypatch.delenv("STREAMDESK_API_KEY")
    assert store.get(pid) == "sk-from-keychain"


@needs_keychain
def test_key_never_reaches_any_file_or_log(
    pid: str, streamdesk_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"shapeless{uuid.uuid4().hex}"  # no sk- prefix: only value-based redaction catches it
    install_log_redaction()
    caplog.handler.addFilter(install_log_redaction())
    store = KeyStore()
    with caplog.at_level(logging.DEBUG):
        store.set(pid, secret)
        key = store.get(pid)
        logging.getLogger("streamdesk.test").warning("sending Authorization: %s", key)
        save_settings(Settings(active_provider=pid))
        store.list()
    assert key == secret
    assert secret not in caplog.text and REDACTED in caplog.text
    files = [p for p in streamdesk_home.rglob("*") if p.is_file()]
    assert files  # the index and settings were written
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


def test_unavailable_keychain_is_one_clear_sentence(no_keychain: None, pid: str) -> None:
    store = KeyStore()
    assert not store.available
    for action in (lambda: store.set(pid, "sk-x"), lambda: store.get(pid), store.list):
        with pytest.raises(KeychainUnavailable) as info:
            action()
        assert str(info.value) == (
            "The OS keychain is not available (no Secret Service found): "
            "the key can be kept in memory for this session only."
        )


def test_unavailable_via_environment_backend(
    monkeypatch: pytest.MonkeyPatch, pid: str, streamdesk_home: Path
) -> None:
    """PYTHON_KEYRING_BACKEND chooses the fail backend as a user's environment might."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring.core

    keyring.core.init_backend()  # choose again, as at start-up, so the variable is read
    try:
        store = KeyStore()
        assert not store.available
        with pytest.raises(KeychainUnavailable):
            store.set(pid, "sk-nowhere")
        store.hold_in_memory(pid, "sk-session-only")
        assert store.get(pid) == "sk-session-only"
        assert store.source(pid) == "memory"
        assert store.list() == [pid]
        assert store.delete(pid) is True
        with pytest.raises(KeychainUnavailable):
            store.get(pid)  # the session key is gone and there is no keychain to ask
    finally:
        keyring.set_keyring(_real_backend)
    for path in streamdesk_home.rglob("*"):
        if path.is_file():
            assert b"sk-session-only" not in path.read_bytes()


def test_empty_key_rejected(pid: str) -> None:
    with pytest.raises(ValueError):
        KeyStore().set(pid, "   ")
    with pytest.raises(ValueError):
        KeyStore().hold_in_memory(pid, "")


@needs_keychain
def test_whitespace_around_a_key_is_removed_where_it_enters(
    pid: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A keychain item or STREAMDESK_API_KEY with CRLF, a tab or spaces around the key: the key
    is used without them and the person is told once per provider."""
    keyring.set_password(SERVICE, pid, "sk-crlf-key-1234\r\n")
    store = KeyStore()
    with caplog.at_level(logging.WARNING, logger="streamdesk.core.store.secrets"):
        assert store.get(pid) == "sk-crlf-key-1234"
        assert store.get(pid) == "sk-crlf-key-1234"
    notice = f"The API key for {pid} had whitespace around it; it was removed."
    assert [r.getMessage() for r in caplog.records] == [notice]
    monkeypatch.setenv(ENV_KEY, "  env-key-5678\t")
    assert KeyStore().get(pid) == "env-key-5678"
    store.set(pid, " sk-typed-9012 \n")
    assert keyring.get_password(SERVICE, pid) == "sk-typed-9012"


@pytest.mark.parametrize("key", ["sk-with space-1234", "sk-tab\there", "sk-ctl\x01x", "sk\u200bzw"])
def test_a_key_with_whitespace_or_control_characters_inside_is_refused(
    key: str, pid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = (
        f"The API key for {pid} contains spaces or control characters; set it again "
        f"(streamdesk keys set {pid}, or Settings ▸ Providers)."
    )
    for action in (lambda: KeyStore().set(pid, key), lambda: KeyStore().hold_in_memory(pid, key)):
        with pytest.raises(InvalidKey) as info:
            action()
        assert str(info.value) == expected
    monkeypatch.setenv(ENV_KEY, key)
    with pytest.raises(InvalidKey):
        KeyStore().get(pid)


BACKEND_OF = """
import sys
if sys.argv[1] == "app":
    from streamdesk.core.store.secrets import load_backend
    backend = load_backend()
else:
    import keyring
    backend = keyring.get_keyring()
print(type(backend).__module__ + "." + type(backend).__qualname__)
print("keyring.backends.macOS" in sys.modules)
"""


def _chosen(who: str, env: dict[str, str]) -> tuple[str, bool]:
    """(the backend class a fresh process chooses, whether it loaded keyring's macOS backend)."""
    result = subprocess.run(
        [sys.executable, "-c", BACKEND_OF, who],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    name, mac = result.stdout.split()
    return name, mac == "True"


@needs_keychain
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the direct choice is Linux's")
def test_start_up_takes_the_secret_service_without_probing_every_backend() -> None:
    """Where keyring would choose the Secret Service, the app takes it directly (keyring's
    detection loads macOS's backend too, which runs ldconfig and a compiler)."""
    env = {"XDG_CURRENT_DESKTOP": "GNOME"}
    assert _chosen("app", env) == ("keyring.backends.SecretService.Keyring", False)
    assert _chosen("keyring", env) == ("keyring.backends.SecretService.Keyring", True)


@pytest.mark.parametrize("case", ["environment", "config file", "no secret service", "KDE"])
def test_start_up_chooses_the_backend_keyring_would(case: str, tmp_path: Path) -> None:
    """A backend the user names (PYTHON_KEYRING_BACKEND, keyringrc.cfg), a session without a
    Secret Service and KDE (KWallet may rank first) all go through keyring's own choice."""
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    if case == "environment":
        env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    elif case == "config file":
        config = tmp_path / "python_keyring" / "keyringrc.cfg"
        config.parent.mkdir()
        config.write_text("[backend]\ndefault-keyring=keyring.backends.null.Keyring\n")
    elif case == "no secret service":
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-bus'}"
    else:
        env["XDG_CURRENT_DESKTOP"] = "KDE"
    app, _ = _chosen("app", env)
    assert app == _chosen("keyring", env)[0]
    if case == "config file":
        assert app == "keyring.backends.null.Keyring"
