"""`streamdesk keys` in a subprocess against the real Secret Service of tests/with-keyring.sh."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.errors
import pytest

from streamdesk.core.store.settings import ProviderSettings, Settings, save_settings

SERVICE = "streamdesk"
needs_keychain = pytest.mark.skipif(
    isinstance(keyring.get_keyring(), keyring.backends.fail.Keyring),
    reason="no Secret Service: run inside tests/with-keyring.sh",
)


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "keys", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.fixture
def pid() -> Iterator[str]:
    """A user profile with a unique id, so tests never touch each other's keychain items."""
    provider_id = f"cli-{uuid.uuid4().hex[:10]}"
    save_settings(
        Settings(providers=[ProviderSettings(provider_id, "Test", "http://127.0.0.1:9/v1")])
    )
    yield provider_id
    with contextlib.suppress(keyring.errors.KeyringError):
        keyring.delete_password(SERVICE, provider_id)


@needs_keychain
def test_set_list_delete_round_trip(pid: str, streamdesk_home: Path) -> None:
    secret = f"sk-cli-{uuid.uuid4().hex}"
    done = run("set", pid, stdin=secret + "\n")
    assert done.returncode == 0, done.stderr
    assert keyring.get_password(SERVICE, pid) == secret
    listed = run("list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("backend: ") and "SecretService" in lines[0]
    assert pid in lines[1:]
    assert run("list", pid).returncode == 0
    for out in (done, listed):
        assert secret not in out.stdout + out.stderr
    for path in streamdesk_home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    deleted = run("delete", pid)
    assert deleted.returncode == 0 and keyring.get_password(SERVICE, pid) is None
    again = run("delete", pid)
    assert again.returncode == 1 and "no key stored" in again.stderr
    assert run("list", pid).returncode == 1


def test_key_is_never_an_argument(pid: str) -> None:
    done = run("set", pid, "sk-on-the-command-line")
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr


def test_empty_stdin_and_unknown_provider_are_usage_errors(pid: str) -> None:
    empty = run("set", pid, stdin="\n")
    assert empty.returncode == 2 and "no key given" in empty.stderr
    unknown = run("set", "no-such-provider", stdin="sk-x\n")
    assert unknown.returncode == 2
    assert "unknown provider 'no-such-provider'" in unknown.stderr and "holysheep" in unknown.stderr


def test_keychain_unavailable_is_one_line_and_exit_6(pid: str) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for args, stdin in ((("set", pid), "sk-x\n"), (("list",), ""), (("delete", pid), "")):
        done = run(*args, stdin=stdin, env=env)
        assert done.returncode == 6, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("streamdesk: The OS keychain is not available")
        assert "STREAMDESK_API_KEY" in lines[0]


@needs_keychain
def test_terminal_prompt_is_hidden(pid: str) -> None:
    """On a terminal the key is read with echo off, after a prompt on stderr."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamdesk", "keys", "set", pid],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # no controlling terminal: getpass uses the pty on stdin
    )
    os.close(slave)
    try:
        assert proc.stderr is not None
        seen = b""
        while b"(input hidden): " not in seen:
            chunk = proc.stderr.read1(256)
            assert chunk, seen
            seen += chunk
        os.write(master, b"sk-typed-secret\n")
        assert proc.wait(timeout=30) == 0
        echoed = b""
        while select.select([master], [], [], 0)[0]:
            try:
                data = os.read(master, 1024)
            except OSError:
                break
            if not data:
                break
            echoed += data
        assert b"sk-typed-secret" not in echoed
        assert keyring.get_password(SERVICE, pid) == "sk-typed-secret"
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@needs_keychain
def test_set_strips_a_crlf_key_with_one_notice(pid: str) -> None:
    done = run("set", pid, stdin="sk-crlf-file-key\r\n")
    assert done.returncode == 0, done.stderr
    assert keyring.get_password(SERVICE, pid) == "sk-crlf-file-key"
    assert done.stderr.splitlines()[0] == (
        f"streamdesk: The API key for {pid} had whitespace around it; it was removed."
    )
    assert "sk-crlf-file-key" not in done.stderr + done.stdout


def test_set_refuses_a_key_with_inner_whitespace_without_echoing_it(pid: str) -> None:
    done = run("set", pid, stdin="sk-half one\x07two\n")
    assert done.returncode == 2
    assert done.stderr == (
        f"streamdesk: The API key for {pid} contains spaces or control characters; "
        f"set it again (streamdesk keys set {pid}, or Settings ▸ Providers).\n"
    )
    assert "sk-half" not in done.stdout
