"""A known key streams through the CLI and the window; no file, log or output ever holds it.

The key is random and has no `sk-` prefix, so only redaction by known value can hide it. It
lives in the real test keychain; the mock server demands it. Both runs are real processes with
DEBUG logs to a file; afterwards every file under STREAMDESK_HOME (settings, SQLite history and
its WAL, exports, keychain index), the logs and the captured stdout/stderr are grepped for the
key and for every request signature the server received.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.errors
import pytest

from streamdesk.core.request import AuthStyle
from streamdesk.core.store.secrets import SERVICE, KeyStore
from streamdesk.core.store.settings import ProviderSettings, Settings, save_settings
from streamdesk.mock import MockServer, reply_for, run_mock_in_thread

pytestmark = pytest.mark.skipif(
    isinstance(keyring.get_keyring(), keyring.backends.fail.Keyring),
    reason="no Secret Service: run inside tests/with-keyring.sh",
)

CLI_PROVIDER = "openai"  # `ask` takes built-in ids; --base-url points it at the mock
WINDOW_PROVIDER = "e2e-relay"  # a user profile in settings.toml, signing on
PROMPT = "leak check"

_CLI = "import logging, sys\n" + textwrap.dedent(
    """
    logging.basicConfig(level=logging.DEBUG, filename=sys.argv[1])
    from streamdesk.cli import main
    logging.getLogger("streamdesk.e2e").debug("argv %s", sys.argv[2:])
    sys.exit(main(sys.argv[2:]))
    """
)

_WINDOW = textwrap.dedent(
    """
    import asyncio, json, logging, os, sys
    from pathlib import Path
    logging.basicConfig(level=logging.DEBUG, filename=sys.argv[1])
    import qasync
    from streamdesk.core.redact import install_log_redaction
    from streamdesk.core.store.history import HistoryStore
    from streamdesk.ui.app import make_app
    from streamdesk.ui.window.main_window import MainWindow

    install_log_redaction()
    app = make_app(["streamdesk"])
    app.setQuitOnLastWindowClosed(False)

    async def main() -> None:
        window = MainWindow()
        window.show()
        await window.start()
        print("PROVIDER", window.provider.id, "OFFLINE", window.offline)
        session = window.current_session()
        session.send(sys.argv[2])
        await session.task
        turn = session.turns[-1]
        print("STATUS", turn.reply.status.value)
        print("REPLY", turn.reply.text)
        dialog = window.settings_ui.open_dialog()
        await dialog.wait_idle()
        dialog.providers.test_connection()
        await dialog.wait_idle()
        print("TEST", dialog.providers.test_label.text())
        dialog.save(close=True)
        await dialog.wait_idle()
        exports = Path(os.environ["STREAMDESK_HOME"]) / "exports"
        exports.mkdir(exist_ok=True)
        with HistoryStore() as history:
            for conv in history.list_conversations():
                data = history.export_json(conv.id)
                (exports / f"{conv.id}.json").write_text(json.dumps(data))
                (exports / f"{conv.id}.md").write_text(history.export_markdown(conv.id))
                print("EXPORTED", conv.id)
        window.close()
        await window.shutdown()

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook, finalizer=loop._asyncgen_finalizer_hook
    )
    with loop:
        loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_asyncgens())
    """
)


@pytest.fixture
def key() -> Iterator[str]:
    """A random key with no recognisable shape, stored for both providers, removed afterwards."""
    value = "k" + secrets.token_hex(20)
    store = KeyStore()
    for pid in (CLI_PROVIDER, WINDOW_PROVIDER):
        store.set(pid, value)
    yield value
    for pid in (CLI_PROVIDER, WINDOW_PROVIDER):
        with contextlib.suppress(keyring.errors.KeyringError):
            keyring.delete_password(SERVICE, pid)


@pytest.fixture
def mock(key: str) -> Iterator[MockServer]:
    server, stop = run_mock_in_thread(api_key=key, tokens_per_second=0, first_token_delay=0)
    try:
        yield server
    finally:
        stop()


def _run(script: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, STREAMDESK_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    env.pop("STREAMDESK_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _files_holding(root: Path, needles: list[str]) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.relative_to(root)}: {n[:6]}…" for n in needles if n.encode() in data]
    return found


def test_the_key_and_signatures_appear_in_no_file_log_or_output(
    key: str, mock: MockServer, streamdesk_home: Path, tmp_path: Path
) -> None:
    profile = ProviderSettings(
        WINDOW_PROVIDER, "E2E relay", mock.sse_base_url, ws_url=mock.ws_url, sign=True
    )
    profile.default_model = "gpt-4.1"
    save_settings(Settings(active_provider=WINDOW_PROVIDER, providers=[profile]))
    logs = tmp_path / "logs"
    logs.mkdir()
    cli = _run(
        _CLI,
        str(logs / "cli.log"),
        "ask",
        PROMPT,
        "--provider",
        CLI_PROVIDER,
        "--base-url",
        mock.sse_base_url,
        "--sign",
        "--model",
        "gpt-4.1",
        home=streamdesk_home,
    )
    expected = "".join(reply_for(PROMPT))
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == expected.strip()
    window = _run(_WINDOW, str(logs / "window.log"), PROMPT, home=streamdesk_home)
    assert window.returncode == 0, window.stderr[-3000:]
    assert f"PROVIDER {WINDOW_PROVIDER} OFFLINE False" in window.stdout, window.stdout
    assert "STATUS complete" in window.stdout and expected.strip()[:80] in window.stdout
    assert "TEST OK · " in window.stdout
    # The server saw the key and the signatures: the runs really used them.
    sent = [r for r in mock.requests if r.path.endswith("/chat/completions")]
    assert len(sent) >= 3 and all(r.headers.get("authorization") == f"Bearer {key}" for r in sent)
    signatures = [r.headers["x-signature"] for r in sent if "x-signature" in r.headers]
    assert len(signatures) >= 3
    needles = [key, *signatures]
    assert (logs / "cli.log").stat().st_size > 0 and (logs / "window.log").stat().st_size > 0
    assert _files_holding(streamdesk_home, needles) == []
    assert _files_holding(logs, needles) == []
    for output in (cli.stdout, cli.stderr, window.stdout, window.stderr):
        assert not any(n in output for n in needles)
    assert (streamdesk_home / "config" / "settings.toml").exists() or any(
        streamdesk_home.rglob("settings.toml")
    )


QUERY_PROVIDER = "e2e-query"  # a profile with `auth = "query"`: the key goes in the WS URL
_PLAIN_CLI = "import sys\nfrom streamdesk.cli import main\nsys.exit(main(sys.argv[2:]))\n"


@pytest.fixture
def crlf_key() -> Iterator[str]:
    """A random key stored with the CR of a CRLF key file, as a keychain item can hold it."""
    value = "q" + secrets.token_hex(20)
    for pid in (CLI_PROVIDER, QUERY_PROVIDER):
        keyring.set_password(SERVICE, pid, value + "\r")
    yield value
    for pid in (CLI_PROVIDER, QUERY_PROVIDER):
        with contextlib.suppress(keyring.errors.KeyringError):
            keyring.delete_password(SERVICE, pid)


def test_a_key_in_a_failure_reaches_no_output_history_or_export(
    crlf_key: str, streamdesk_home: Path, tmp_path: Path
) -> None:
    """A key read with a trailing CR is sent without it (one notice); a failure that quotes
    the key (a WebSocket URL carrying `?api_key=` that websockets refuses) shows it nowhere:
    stderr, stdout, `--json`, the history file, `history show` and both exports."""
    server, stop = run_mock_in_thread(api_key=crlf_key, tokens_per_second=0, first_token_delay=0)
    try:
        profile = ProviderSettings(
            QUERY_PROVIDER,
            "E2E query",
            server.sse_base_url,
            ws_url=server.ws_url + "#fragment",  # a fragment: websockets rejects the URI
            sign=True,
        )
        profile.auth = AuthStyle.QUERY_PARAM
        profile.default_model = "gpt-4.1"
        save_settings(Settings(active_provider=QUERY_PROVIDER, providers=[profile]))
        logs = tmp_path / "logs"
        logs.mkdir()
        ok = _run(  # the CLI's own logging: warnings on stderr
            _PLAIN_CLI, "-", "ask", PROMPT, "--provider", CLI_PROVIDER,
            "--base-url", server.sse_base_url, "--model", "gpt-4.1", home=streamdesk_home,
        )  # fmt: skip
        failed = [
            _run(_CLI, str(logs / f"ws{n}.log"), "ask", PROMPT, "--protocol", "ws", *extra,
                 home=streamdesk_home)
            for n, extra in enumerate(([], ["--json"]))
        ]  # fmt: skip
    finally:
        stop()
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "".join(reply_for(PROMPT)).strip()
    notice = f"The API key for {CLI_PROVIDER} had whitespace around it; it was removed."
    assert ok.stderr.count(notice) == 1, ok.stderr
    for run in failed:
        assert run.returncode == 9, run.stderr
        assert "Bad WebSocket address: " in run.stderr + run.stdout
        assert "api_key=[redacted]" in run.stderr + run.stdout
    assert '"type": "failure"' in failed[1].stdout
    listed = _run(_CLI, str(logs / "list.log"), "history", "list", home=streamdesk_home)
    ids = [line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()]
    assert len(ids) == 3, listed.stdout
    outputs = [ok.stdout, ok.stderr, *(r.stdout + r.stderr for r in failed)]
    for cid in ids:
        outputs.append(_run(_CLI, str(logs / "show.log"), "history", "show", cid,
                            home=streamdesk_home).stdout)  # fmt: skip
        for fmt in ("md", "json"):
            out = streamdesk_home / "exports" / f"{cid}.{fmt}"
            out.parent.mkdir(exist_ok=True)
            export = _run(_CLI, str(logs / "export.log"), "history", "export", cid,
                          "--format", fmt, "--out", str(out), home=streamdesk_home)  # fmt: skip
            assert export.returncode == 0, export.stderr
    assert any("api_key=[redacted]" in text for text in outputs[4:]), outputs[4:]
    assert not [text for text in outputs if crlf_key in text]
    assert _files_holding(streamdesk_home, [crlf_key]) == []
    assert _files_holding(logs, [crlf_key]) == []
