"""Settings ▸ Network in real chats: proxy (system, none, manual + keychain credentials), CA
bundle and global timeouts apply to every request from the window, not only Test connection.

A user profile points at a real mock server started here; the key comes from
STREAMDESK_API_KEY, so the window is online (not the offline demo) and talks to that profile.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import KEY, PROMPT, chat, online_window, open_window, recording_proxy

from streamdesk.core.chat import Turn
from streamdesk.core.events import FailureKind
from streamdesk.core.store.settings import PROXY_KEY_ID, Settings
from streamdesk.mock import reply_for
from streamdesk.ui.keys import key_store

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMDESK_API_KEY", KEY)
    for name in (*PROXY_ENV, "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def refused_by_proxy(turn: Turn, port: int) -> bool:
    failure = turn.reply.failure
    return (
        turn.reply.status.value == "error"
        and failure is not None
        and failure.kind is FailureKind.CONNECTION_REFUSED
        and f"proxy 127.0.0.1:{port}" in failure.message
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_a_manual_proxy_carries_the_chat(
    qtbot: QtBot, env_key: None, dead_port: int, protocol: str
) -> None:
    proxy = f"http://127.0.0.1:{dead_port}"
    async with online_window(qtbot, proxy_mode="manual", proxy_url=proxy) as window:
        turn = await chat(window, protocol)
        assert refused_by_proxy(turn, dead_port), turn.reply.failure
        assert "Nothing is listening at the proxy" in window.current_session().view.toPlainText()
        banner = window.settings_ui.banner
        assert banner.isVisible() and "proxy" in banner.label.text()


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_no_proxy_ignores_the_environment_and_system_honours_it(
    qtbot: QtBot, env_key: None, dead_port: int, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    for name in PROXY_ENV:
        monkeypatch.setenv(name, f"http://127.0.0.1:{dead_port}")
    async with online_window(qtbot, proxy_mode="none") as window:
        turn = await chat(window, protocol)
        assert turn.reply.status.value == "complete", turn.reply.failure
        assert turn.reply.text == "".join(reply_for(PROMPT))
        # The same environment with the "system" setting goes to the (dead) proxy: the
        # variables above are live, so the success above is the "none" setting's doing.
        window.settings.proxy_mode = "system"
        turn = await chat(window, protocol)
        assert refused_by_proxy(turn, dead_port), turn.reply.failure


@pytest.mark.asyncio
async def test_manual_proxy_credentials_come_from_the_keychain(qtbot: QtBot, env_key: None) -> None:
    seen: asyncio.Queue[bytes] = asyncio.Queue()
    server = await recording_proxy(seen)
    port = server.sockets[0].getsockname()[1]
    store = key_store()
    await asyncio.to_thread(store.set, PROXY_KEY_ID, "alice:pr0xy-s3cret")
    try:
        url = f"http://127.0.0.1:{port}"
        async with online_window(qtbot, proxy_mode="manual", proxy_url=url) as window:
            turn = await chat(window)
            head = (await asyncio.wait_for(seen.get(), 10)).decode("latin-1")
            assert turn.reply.status.value == "error" and turn.reply.failure is not None
            assert "pr0xy-s3cret" not in turn.reply.failure.message
            assert "pr0xy-s3cret" not in window.current_session().view.toPlainText()
    finally:
        await asyncio.to_thread(store.delete, PROXY_KEY_ID)
        server.close()
        await server.wait_closed()
    expected = base64.b64encode(b"alice:pr0xy-s3cret").decode()
    assert f"proxy-authorization: basic {expected}".lower() in head.lower()


@pytest.mark.asyncio
async def test_a_missing_ca_bundle_is_a_tls_failure_naming_the_file(
    qtbot: QtBot, env_key: None, tmp_path: Any
) -> None:
    bundle = tmp_path / "no-such-ca.pem"
    async with online_window(qtbot, proxy_mode="none", ca_bundle=str(bundle)) as window:
        turn = await chat(window)
        assert turn.reply.status.value == "error" and turn.reply.failure is not None
        assert turn.reply.failure.kind is FailureKind.TLS_ERROR
        assert (
            str(bundle) in turn.reply.failure.message
            and "Settings ▸ Network" in turn.reply.failure.message
        )
        assert "TLS failed" in window.current_session().view.toPlainText()
        banner = window.settings_ui.banner
        assert banner.isVisible() and "CA bundle" in banner.label.text()


@pytest.mark.asyncio
async def test_saved_network_settings_apply_to_the_next_chat(
    qtbot: QtBot, env_key: None, dead_port: int
) -> None:
    async with online_window(qtbot, proxy_mode="none") as window:
        assert (await chat(window)).reply.status.value == "complete"
        changed = Settings(
            active_provider="loopback",
            providers=window.settings.providers,
            proxy_mode="manual",
            proxy_url=f"http://127.0.0.1:{dead_port}",
        )
        window.settings_ui.apply(changed)  # what the dialog's "saved" signal does
        await window.wait_idle()  # the provider's key is looked up again
        assert refused_by_proxy(await chat(window), dead_port)


@pytest.mark.asyncio
async def test_global_timeouts_and_retries_apply_to_the_offline_demo(qtbot: QtBot) -> None:
    async with open_window(qtbot, tokens_per_second=0.0, first_token_delay=30.0) as window:
        window.settings.first_token_timeout = 0.3
        window.settings.max_retries = 0
        turn = await chat(window)
        assert turn.reply.failure is not None, turn.reply.status.value
        assert turn.reply.failure.kind is FailureKind.FIRST_TOKEN_TIMEOUT
        assert turn.reply.trace is not None and turn.reply.trace.attempts == 1
