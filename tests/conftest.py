"""Fixtures shared by every test: each test gets its own STREAMDESK_HOME."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def streamdesk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test reads or writes the user's real config, data or cache."""
    home = tmp_path / "streamdesk-home"
    home.mkdir()
    monkeypatch.setenv("STREAMDESK_HOME", str(home))
    monkeypatch.delenv("STREAMDESK_API_KEY", raising=False)
    yield home


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening, held for the test)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def no_keychain() -> Iterator[None]:
    """keyring's fail backend, as on a machine without any Secret Service."""
    import keyring
    import keyring.backends.fail

    real = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(real)
