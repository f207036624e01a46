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
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from streamdesk.core import key_changes
from streamdesk.core.errors import KeychainUnavailable
from streamdesk.core.providers import DEFAULT_PROVIDER_ID
from streamdesk.core.store.secrets import SERVICE, KeyStore
from streamdesk.core.store.settings import ProviderSettings, Settings, save_settings
from streamdesk.head_start import KeychainAnswers, wanted
from streamdesk.ui.window.keys_on_use import KeysOnUse

needs_keychain = pytest.mark.skipif(
    isinstance(keyring.get_keyring(), keyring.backends.fail.Keyring),
    reason="no Secret Service: run inside tests/with-keyring.sh",
)
needs_head_start = pytest.mark.skipif(
    not wanted(), reason="no head start here (one core, not Linux, or turned off)"
)
NO_KEYCHAIN = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
TESTS = Path(__file__).resolve().parent

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
            report["listed"] = keys.list() if keys.knows_list() else "not asked"
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
    if "STREAMDESK_HEAD_START" not in env:
        full.pop("STREAMDESK_HEAD_START", None)
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


@needs_head_start
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


@needs_head_start
@needs_keychain
def test_the_chosen_providers_stored_key_is_answered_and_no_demo_runs(
    stored_key: tuple[str, str],
) -> None:
    """Settings choose a provider whose key is in the keychain: the answer has it, nothing
    more is asked (no list: the window would not ask it), no demo runs, and the child has
    left once it answered."""
    provider_id, key = stored_key
    profile = ProviderSettings(id=provider_id, name="Mine", base_url="http://127.0.0.1:9/v1")
    save_settings(Settings(active_provider=provider_id, providers=[profile]))
    report = run_head_start(PROVIDER=provider_id, EXPECTED_KEY=key)
    assert report["answered"] and report["knows"] is True
    assert report["key_matches"] is True
    assert report["listed"] == "not asked" and "problem" not in report
    assert report["demo"] is False
    assert report["child_left"] is True


@needs_head_start
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


@needs_head_start
@needs_keychain
def test_the_reopened_chats_provider_is_the_one_asked(stored_key: tuple[str, str]) -> None:
    """The window starts with the provider of the chat changed last (it reopens it): that is
    the key the child reads, not the saved choice's."""
    from streamdesk.core.store.history import HistoryStore, default_path

    provider_id, key = stored_key
    profile = ProviderSettings(id=provider_id, name="Mine", base_url="http://127.0.0.1:9/v1")
    save_settings(Settings(providers=[profile]))  # the saved choice stays the relay
    with HistoryStore(default_path()) as store:
        store.create_conversation(title="Older", provider=DEFAULT_PROVIDER_ID)
        store.create_conversation(title="Last", provider=provider_id)
    report = run_head_start(PROVIDER=provider_id, EXPECTED_KEY=key)
    assert report["knows"] is True and report["key_matches"] is True
    assert report["demo"] is False


@needs_head_start
def test_a_locked_keychain_is_asked_once(tmp_path: Path) -> None:
    """Every question of a locked keychain is a prompt to unlock: the child stops at the
    first refusal and answers the rest with it (the window would have asked once too)."""
    log = tmp_path / "calls.log"
    save_settings(Settings(proxy_mode="manual", proxy_url="http://127.0.0.1:3128"))
    report = run_head_start(
        PYTHON_KEYRING_BACKEND="counting_keyring.Locked",
        PYTHONPATH=f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        COUNTING_KEYRING_LOG=str(log),
        PROVIDER=DEFAULT_PROVIDER_ID,
    )
    assert "locked" in str(report["problem"])
    assert report["demo"] is True  # nothing readable is stored: the offline demo
    assert log.read_text().splitlines() == [f"get {DEFAULT_PROVIDER_ID}"]


@needs_head_start
def test_the_environments_key_is_answered_without_the_keychain(tmp_path: Path) -> None:
    """STREAMDESK_API_KEY stands for every provider's key: the keychain is not asked."""
    log = tmp_path / "calls.log"
    env = dict(
        PYTHON_KEYRING_BACKEND="counting_keyring.Locked",
        PYTHONPATH=f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        COUNTING_KEYRING_LOG=str(log),
        PROVIDER=DEFAULT_PROVIDER_ID,
    )
    report = run_head_start(**env, STREAMDESK_API_KEY="sk-from-env", EXPECTED_KEY="sk-from-env")
    assert report["key_matches"] is True and report["demo"] is False
    assert not log.exists()
    refused = run_head_start(**env, STREAMDESK_API_KEY="sk-with\ttab")  # as KeyStore refuses it
    assert "spaces or control characters" in str(refused["problem"])


def test_the_answers_give_what_the_key_store_gave_and_end_with_a_key_change() -> None:
    """Each answer for what was asked (environment or not), a problem raised again; what was
    not asked is left to the keychain itself, and a key changed in this process ends them."""
    answers = KeychainAnswers.from_message(
        {
            "answers": [
                ["openai", True, "sk-a", None],
                ["proxy", False, "me:pw", None],
                ["anthropic", True, None, "It is locked."],
            ],
            "listed": None,
            "list_problem": None,
        }
    )
    assert answers.knows("openai") and answers.knows("anthropic")
    assert not answers.knows("openai", environment=False) and not answers.knows("x")
    assert not answers.knows_list()
    assert answers.get("openai") == "sk-a" and answers.secrets() == ["sk-a", "me:pw"]
    assert answers.get("proxy", environment=False) == "me:pw"
    with pytest.raises(KeychainUnavailable, match="It is locked"):
        answers.get("anthropic")
    keys = KeysOnUse()
    keys.take_early(answers)
    assert keys.get("openai") == "sk-a"
    key_changes.changed()  # a key stored, deleted or held in memory
    assert keys.early is None


def test_a_child_that_answers_nothing_usable_leaves_the_window_to_look_itself() -> None:
    """A line that is not the child's answer (or none: it died) gives no result, and closing
    still ends and reaps the process."""
    import asyncio

    from streamdesk.head_start import HeadStart

    answer_r, answer_w = os.pipe()
    lifeline_r, lifeline_w = os.pipe()
    go_r, go_w = os.pipe()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.write(answer_w, b"not the answer\n")
    for fd in (answer_w, lifeline_r, go_r):
        os.close(fd)
    head = HeadStart(child.pid, answer_r, lifeline_w, go_w)

    async def main() -> object:
        result = await head.result()
        await head.close()
        return result

    result = asyncio.run(main())
    with pytest.raises(ChildProcessError):  # reaped by close()
        os.waitpid(child.pid, os.WNOHANG)
    assert result is None
