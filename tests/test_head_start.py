"""The head start: a process started before Qt reads the keychain and serves the offline demo.

Each test starts it from a fresh interpreter (as the app does, before anything of Qt), against
the real Secret Service of tests/with-keyring.sh or keyring's fail backend.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import uuid
from collections.abc import Iterator

import keyring
import keyring.backends.fail
import pytest

from streamdesk.core.errors import KeychainUnavailable
from streamdesk.core.providers import DEFAULT_PROVIDER_ID
from streamdesk.core.store.secrets import SERVICE, KeyStore
from streamdesk.head_start import KeychainAnswers

needs_keychain = pytest.mark.skipif(
    isinstance(keyring.get_keyring(), keyring.backends.fail.Keyring),
    reason="no Secret Service: run inside tests/with-keyring.sh",
)
NO_KEYCHAIN = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

# Starts it, reads the answer, reports it (never a key: whether it matched), uses the demo if any.
SCRIPT = """
import asyncio, json, os, sys
from streamdesk.head_start import HeadStart

head = HeadStart.begin()
if head is None:
    print(json.dumps({"started": False}))
    sys.exit(0)
expected = os.environ.get("EXPECTED_KEY", "")
provider = os.environ.get("PROVIDER", "")

async def main():
    result = await head.result()
    report = {"started": True, "pid": head.pid, "answered": result is not None}
    if result is not None:
        keys = result.keys
        report["knows"] = keys.knows(provider) if provider else None
        try:
            report["key_matches"] = keys.get(provider) == expected if provider else None
            report["listed"] = keys.list()
        except Exception as exc:
            report["problem"] = str(exc)
        report["demo"] = result.demo is not None
        if result.demo is not None:
            import httpx
            async with httpx.AsyncClient() as client:
                models = await client.get(result.demo.sse_base_url + "/models")
            report["models"] = [m["id"] for m in models.json()["data"]]
            if os.environ.get("LEAVE_DEMO"):
                print(json.dumps(report), flush=True)
                os._exit(0)  # as a killed window: the demo's pipe closes with it
            await result.demo.close()
    try:
        os.kill(head.pid, 0)
        report["child_left"] = False
    except ProcessLookupError:
        report["child_left"] = True
    print(json.dumps(report), flush=True)

asyncio.run(main())
"""


def run_head_start(**env: str) -> dict[str, object]:
    full = {**os.environ, **env}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, env=full
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    for value in env.values():  # no key reaches the output
        if value.startswith("sk-"):
            assert value not in result.stdout + result.stderr
    return report


@pytest.fixture
def stored_key() -> Iterator[tuple[str, str]]:
    """A key stored for a provider id no other test uses (listed in this home's key index)."""
    provider_id = f"test-{uuid.uuid4().hex[:10]}"
    key = f"sk-head-start-{uuid.uuid4().hex}"
    KeyStore().set(provider_id, key)
    yield provider_id, key
    with contextlib.suppress(keyring.errors.KeyringError):
        keyring.delete_password(SERVICE, provider_id)


def test_with_nothing_configured_the_child_serves_the_demo_until_closed() -> None:
    """No keychain at all: nothing is configured, so the child answers (every look-up with
    the keychain's own sentence) and serves the offline demo, a real server, until the
    window closes it; it is then gone."""
    report = run_head_start(**NO_KEYCHAIN, PROVIDER=DEFAULT_PROVIDER_ID)
    assert report["started"] and report["answered"]
    assert report["knows"] is True
    assert "The OS keychain is not available" in str(report["problem"])
    assert report["demo"] is True
    assert "gpt-4.1" in report["models"]  # type: ignore[operator]
    assert report["child_left"] is True


@needs_keychain
def test_a_stored_key_is_answered_and_no_demo_runs(stored_key: tuple[str, str]) -> None:
    """A key in the keychain: the answer has it (and lists its provider), something is
    configured so no demo runs, and the child has left once it answered."""
    provider_id, key = stored_key
    report = run_head_start(PROVIDER=provider_id, EXPECTED_KEY=key)
    assert report["answered"] and report["knows"] is True
    assert report["key_matches"] is True
    assert provider_id in report["listed"]  # type: ignore[operator]
    assert report["demo"] is False
    assert report["child_left"] is True


def test_the_demo_ends_when_the_window_dies_without_closing_it() -> None:
    """A window killed (or ending without its shutdown) closes the demo's pipe with it."""
    report = run_head_start(**NO_KEYCHAIN, LEAVE_DEMO="1")
    assert report["demo"] is True
    pid = int(report["pid"])  # type: ignore[call-overload]
    try:
        watch = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone
    try:
        readable, _, _ = select.select([watch], [], [], 10)  # readable once it has exited
    finally:
        os.close(watch)
    assert readable, "the demo's process outlived its window"


def test_it_is_off_when_asked() -> None:
    assert run_head_start(STREAMDESK_HEAD_START="0") == {"started": False}


def test_the_answers_give_what_the_key_store_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's key first (not for the proxy's credentials), the keychain's problem
    as the keychain would raise it, unknown providers left to the keychain itself."""
    answers = KeychainAnswers(
        {"openai": "sk-a", "proxy": "me:pw"}, {"anthropic": "It is locked."}, ["openai"], None
    )
    assert answers.knows("openai") and answers.knows("anthropic") and not answers.knows("x")
    assert answers.get("openai") == "sk-a" and answers.list() == ["openai"]
    with pytest.raises(KeychainUnavailable, match="It is locked"):
        answers.get("anthropic")
    monkeypatch.setenv("STREAMDESK_API_KEY", "sk-env")
    assert answers.get("anthropic") == "sk-env"
    assert answers.get("proxy", environment=False) == "me:pw"
    unlisted = KeychainAnswers({}, {}, None, "The OS keychain is not available (no).")
    with pytest.raises(KeychainUnavailable, match="not available"):
        unlisted.list()
