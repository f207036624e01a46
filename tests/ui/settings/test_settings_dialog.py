"""The settings dialog on the qasync loop: real keyring, real mock server, real settings file."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.errors
import pytest
import pytest_asyncio
from PySide6.QtWidgets import QApplication, QTableWidgetItem
from pytestqt.qtbot import QtBot
from settings_dialogs import close_later, open_dialog
from ui_helpers import open_window, wait_reply

from streamdesk.core.events import FailureKind
from streamdesk.core.providers import ModelInfo
from streamdesk.core.request import AuthStyle
from streamdesk.core.store.secrets import SERVICE, KeyStore
from streamdesk.core.store.settings import (
    PROXY_KEY_ID,
    ProviderSettings,
    Settings,
    load_settings,
    resolve_provider,
    settings_path,
)
from streamdesk.mock import MockServer, reply_for
from streamdesk.ui.keys import key_store
from streamdesk.ui.settings.ops import CheckResult
from streamdesk.ui.settings.provider_form import CONTEXT_COLUMN, ProviderForm

_real_backend = keyring.get_keyring()
needs_keychain = pytest.mark.skipif(
    isinstance(_real_backend, keyring.backends.fail.Keyring),
    reason="no Secret Service: run inside tests/with-keyring.sh",
)


@pytest.fixture
def pid() -> Iterator[str]:
    """A user provider id no other test uses; its keychain item goes afterwards."""
    provider_id = f"test-{uuid.uuid4().hex[:8]}"
    yield provider_id
    for name in (provider_id, PROXY_KEY_ID):
        with contextlib.suppress(Exception):
            key_store().delete(name)
        with contextlib.suppress(keyring.errors.KeyringError):
            keyring.delete_password(SERVICE, name)


@pytest.fixture(autouse=True)
def keep_running(qapp: QApplication) -> Iterator[None]:
    """As in run_app: closing the dialog (the only window here) must not stop the loop."""
    qapp.setQuitOnLastWindowClosed(False)
    yield


@pytest_asyncio.fixture(autouse=True)
async def shutdown_asyncgens() -> AsyncIterator[None]:
    """As run_app does: async generators still suspended (httpx streams) end on this loop.

    The loop is a QtEventLoop (tests/ui/conftest.py), which installs asyncio's async-generator
    hooks while it runs.
    """
    yield
    await asyncio.get_running_loop().shutdown_asyncgens()


def _settings_with(pid: str, base_url: str = "", **extra: object) -> Settings:
    profile = ProviderSettings(
        pid,
        "Test relay",
        base_url,
        models=[ModelInfo("gpt-4.1", 2.0, 8.0)],
        **extra,  # type: ignore[arg-type]
    )
    profile.default_model = "gpt-4.1"
    return Settings(active_provider=pid, providers=[profile])


def _all_files_text(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


@pytest.mark.asyncio
async def test_editing_providers_and_saving_round_trips_through_the_file(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, Settings())
    page = dialog.providers
    page.select("ollama")  # a built-in, edited as an override
    page.form.base_edit.setText("http://127.0.0.1:11999/v1")
    page.add_provider()
    page.form.name_edit.setText("My relay")
    page.form.base_edit.setText("https://relay.example/v1")
    page.form.ws_edit.setText("wss://relay.example/v1/ws/chat")
    page.form.auth_box.setCurrentIndex(page.form.auth_box.findData(AuthStyle.X_API_KEY))
    page.form.sign_check.setChecked(True)
    page.form.add_model_row(ModelInfo("m-large", 1.5, 6.0))
    page.form.default_model_box.setCurrentText("m-large")
    page.form.own_timeouts.setChecked(True)
    page.form.stall_spin.setValue(12.5)
    page.form.retries_spin.setValue(4)
    page.duplicate_provider()  # a copy of "My relay"
    page.use_for_chat()
    dialog.network.connect_spin.setValue(3.0)
    dialog.network.proxy_box.setCurrentIndex(dialog.network.proxy_box.findData("none"))
    dialog.appearance.theme_box.setCurrentIndex(dialog.appearance.theme_box.findData("dark"))
    dialog.appearance.font_spin.setValue(15)
    saved: list[Settings] = []
    dialog.saved.connect(saved.append)
    dialog.save(close=False)
    await dialog.wait_idle()
    assert dialog.status.text() == "Saved."
    on_disk = load_settings()
    assert on_disk.warning is None
    assert on_disk.settings == saved[0] == dialog.collect()
    s = on_disk.settings
    ids = [p.id for p in s.providers]
    assert ids == ["ollama", "provider-1", "provider-1-1"]
    mine = s.profile("provider-1")
    assert mine is not None and mine.name == "My relay" and mine.auth is AuthStyle.X_API_KEY
    assert mine.sign and mine.models[-1] == ModelInfo("m-large", 1.5, 6.0)
    assert mine.default_model == "m-large" and mine.max_retries == 4
    assert mine.timeouts is not None and mine.timeouts.stall == 12.5
    assert s.active_provider == "provider-1-1" and s.profile("provider-1-1").name.endswith("(copy)")
    assert (s.theme, s.font_size, s.connect_timeout, s.proxy_mode) == ("dark", 15, 3.0, "none")
    # Reset drops the override of a built-in; a built-in cannot be removed.
    page.select("ollama")
    page.remove_provider()
    page.reset_provider()
    assert [p.id for p in dialog.collect().providers] == ["provider-1", "provider-1-1"]
    dialog.reject()


@needs_keychain
@pytest.mark.asyncio
async def test_a_saved_key_goes_to_the_keychain_and_never_to_the_settings_file(
    qtbot: QtBot, pid: str, streamdesk_home: Path
) -> None:
    secret = uuid.uuid4().hex
    dialog = open_dialog(qtbot, _settings_with(pid, "https://relay.example/v1"))
    await dialog.wait_idle()
    box = dialog.providers.keybox
    assert box.key_edit.echoMode() == box.key_edit.EchoMode.Password
    box.show_button.click()
    assert box.key_edit.echoMode() == box.key_edit.EchoMode.Normal
    changed: list[str] = []
    dialog.keysChanged.connect(changed.append)
    box.key_edit.setText(secret)
    box.save_button.click()
    await dialog.wait_idle()
    assert KeyStore().get(pid) == secret
    assert keyring.get_password(SERVICE, pid) == secret
    assert changed == [pid] and box.key_edit.text() == ""
    assert "OS keychain" in box.source_label.text()
    dialog.save(close=True)
    await dialog.wait_idle()
    assert not dialog.isVisible()
    assert settings_path().exists() and secret not in _all_files_text(streamdesk_home)
    box.delete_key()
    await dialog.wait_idle()
    assert KeyStore().get(pid) is None and box.source_label.text() == "No key set."


@pytest.mark.asyncio
async def test_without_a_keychain_one_sentence_is_shown_and_the_key_held_in_memory(
    qtbot: QtBot, pid: str, no_keychain: None, streamdesk_home: Path
) -> None:
    secret = uuid.uuid4().hex
    dialog = open_dialog(qtbot, _settings_with(pid, "https://relay.example/v1"))
    await dialog.wait_idle()
    box = dialog.providers.keybox
    assert box.note.isVisibleTo(dialog) and box.hold_button.isVisibleTo(dialog)
    sentence = box.note.text()
    assert sentence.startswith("The OS keychain is not available") and sentence.count(".") == 1
    assert not box.save_button.isEnabled()
    box.key_edit.setText(secret)
    box.hold_button.click()
    await dialog.wait_idle()
    assert key_store().get(pid) == secret and key_store().source(pid) == "memory"
    assert "memory for this session" in box.source_label.text()
    assert not box.note.isVisibleTo(dialog)
    dialog.save(close=True)
    await dialog.wait_idle()
    assert secret not in _all_files_text(streamdesk_home)


@pytest.mark.asyncio
async def test_test_connection_reports_first_token_latency_against_the_mock(
    qtbot: QtBot, pid: str
) -> None:
    secret = uuid.uuid4().hex
    async with MockServer(api_key=secret, tokens_per_second=0, first_token_delay=0) as mock:
        dialog = open_dialog(qtbot, _settings_with(pid, mock.sse_base_url))
        await dialog.wait_idle()
        page = dialog.providers
        page.keybox.key_edit.setText(secret)  # a typed key is tested before it is saved
        page.test_button.click()
        await dialog.wait_idle()
        text = page.test_label.text()
        assert text.startswith("OK · ") and text.endswith(" ms to first token"), text
        chat = [r for r in mock.requests if r.path.endswith("/chat/completions")]
        assert chat and chat[-1].headers["authorization"] == f"Bearer {secret}"
        assert b'"max_tokens": 3' in chat[-1].body or b'"max_tokens":3' in chat[-1].body
        page.keybox.key_edit.setText("wrong-key")
        page.test_button.click()
        await dialog.wait_idle()
        assert page.test_label.text().startswith("Key rejected: ")
        page.form.refresh_button.click()  # /models with the typed (wrong) key: the error inline
        await dialog.wait_idle()
        assert page.form.models_label.text().startswith("Key rejected: ")
        page.keybox.key_edit.setText(secret)
        page.form.refresh_button.click()
        await dialog.wait_idle()
        assert page.form.models_label.text() == "5 models from the server."
        names = [m.id for m in page.form.profile().models]
        assert "deepseek-reasoner" in names
        # prices kept; a model a built-in knows shows the built-in's context window
        assert (
            ModelInfo("gpt-4.1", 2.0, 8.0, context_window=1_047_576) in page.form.profile().models
        )


@pytest.mark.asyncio
async def test_test_connection_to_a_closed_port_says_connection_refused(
    qtbot: QtBot, pid: str
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dialog = open_dialog(qtbot, _settings_with(pid, f"http://127.0.0.1:{port}/v1", needs_key=False))
    await dialog.wait_idle()
    results: list[CheckResult] = []
    dialog.providers.testFinished.connect(results.append)
    dialog.providers.test_connection()
    await dialog.wait_idle()
    assert results and results[0].kind is FailureKind.CONNECTION_REFUSED
    assert dialog.providers.test_label.text().startswith("Connection refused: ")
    assert str(port) in dialog.providers.test_label.text()


@needs_keychain
@pytest.mark.asyncio
async def test_proxy_credentials_go_to_the_keychain_not_the_file(
    qtbot: QtBot, pid: str, streamdesk_home: Path
) -> None:
    password = uuid.uuid4().hex
    dialog = open_dialog(qtbot, Settings())
    net = dialog.network
    net.proxy_box.setCurrentIndex(net.proxy_box.findData("manual"))
    net.proxy_edit.setText(f"http://alice:{password}@127.0.0.1:3128")
    dialog.save(close=False)
    await dialog.wait_idle()
    assert keyring.get_password(SERVICE, PROXY_KEY_ID) == f"alice:{password}"
    s = load_settings().settings
    assert s.proxy_mode == "manual" and s.proxy_url == "http://127.0.0.1:3128"
    assert password not in _all_files_text(streamdesk_home)
    assert net.options() == (f"http://alice:{password}@127.0.0.1:3128", None)
    reopened = open_dialog(qtbot, s)
    await reopened.wait_idle()
    assert reopened.network.proxy_user.text() == "alice"
    assert reopened.network.proxy_password.text() == ""


@needs_keychain
@pytest.mark.asyncio
async def test_window_leaves_the_demo_when_a_key_is_saved_and_asks_for_it_when_deleted(
    qtbot: QtBot, pid: str
) -> None:
    secret = uuid.uuid4().hex
    async with (
        MockServer(api_key=secret, tokens_per_second=0, first_token_delay=0) as real,
        open_window(qtbot) as window,
    ):
        window.settings.providers.append(_settings_with(pid, real.sse_base_url).providers[0])
        assert window.offline
        window.settingsRequested.emit()  # what Ctrl+, and File ▸ Settings… do
        dialog = window.settings_ui.dialog
        assert dialog is not None and dialog.isVisible() and not dialog.isModal()
        close_later(dialog)
        await dialog.wait_idle()
        page = dialog.providers
        page.select(pid)
        page.use_for_chat()
        page.keybox.key_edit.setText(secret)
        page.keybox.save_key()
        dialog.appearance.font_spin.setValue(17)
        dialog.save(close=True)
        await dialog.wait_idle()
        await window.wait_idle()
        assert (
            not window.offline and window.provider.id == pid and window.switcher.api_key == secret
        )
        assert window.current_session().view.font().pointSize() == 17
        session = window.new_chat()
        session.send("hello real provider")
        turn = await wait_reply(session)
        assert turn.reply.status.value == "complete" and session.views[turn.key].text == "".join(
            reply_for("hello real provider")
        )
        window.settingsRequested.emit()
        dialog = window.settings_ui.dialog
        assert dialog is not None
        close_later(dialog)
        await dialog.wait_idle()
        dialog.providers.keybox.delete_key()
        await dialog.wait_idle()
        await window.wait_idle()
        dialog.reject()
        assert not window.offline and window.provider.id == pid, "never silently the mock"
        before = len(real.requests)
        session.send("and now without a key")
        turn = await wait_reply(session)
        assert turn.reply.missing_key is not None and turn.reply.failure is not None
        assert turn.reply.failure.kind is FailureKind.AUTHENTICATION
        assert len(real.requests) == before, "nothing is sent without the key"
        banner = window.settings_ui.banner
        assert banner.isVisible() and "No API key is set for" in banner.label.text()


@pytest.mark.asyncio
async def test_the_provider_list_follows_the_name_as_it_is_typed(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, Settings())
    page = dialog.providers
    page.add_provider()
    page.form.name_edit.selectAll()
    qtbot.keyClicks(page.form.name_edit, "Local relay")
    assert page.list.currentItem().text() == "Local relay"
    page.select("ollama")
    qtbot.keyClicks(page.form.name_edit, " box")
    assert page.list.currentItem().text() == "Ollama box  (edited)"


def _type(form: ProviderForm, row: int, column: int, text: str) -> None:
    """As a user's edit commits a cell: the item's text changes (itemChanged follows)."""
    item = form.models_table.item(row, column)
    if item is None:
        form.models_table.setItem(row, column, QTableWidgetItem(text))
    else:
        item.setText(text)


def _row(form: ProviderForm, name: str) -> int:
    names = [form.models_table.item(r, 0).text() for r in range(form.models_table.rowCount())]
    return names.index(name)


@pytest.mark.asyncio
async def test_an_edited_builtin_keeps_its_windows_through_save(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, Settings())
    page = dialog.providers
    page.select("deepseek")
    form = page.form
    assert form.models_table.item(0, CONTEXT_COLUMN).text() == "128,000"
    form.base_edit.setText("http://gw.local/v1")
    form.add_model_row(ModelInfo(""))
    _type(form, 2, 0, "gpt-4o")  # a name a built-in knows: its window shows at once
    assert form.models_table.item(2, CONTEXT_COLUMN).text() == "128,000"
    dialog.save(close=False)
    await dialog.wait_idle()
    assert dialog.status.text() == "Saved."
    provider = resolve_provider(load_settings().settings, "deepseek")
    assert provider.base_url == "http://gw.local/v1"
    assert provider.context_window("deepseek-chat") == 128_000
    assert provider.context_window("deepseek-reasoner") == 128_000
    assert provider.context_window("gpt-4o") == 128_000


@pytest.mark.asyncio
async def test_a_local_model_is_given_a_window_and_a_bad_one_is_said(qtbot: QtBot) -> None:
    dialog = open_dialog(qtbot, Settings())
    page = dialog.providers
    page.select("ollama")
    form = page.form
    for name in ("llama3.1:8b", "qwen3:8b", "phi4"):
        form.add_model_row(ModelInfo(""))
        _type(form, form.models_table.rowCount() - 1, 0, name)
    assert form.models_table.item(_row(form, "phi4"), CONTEXT_COLUMN).text() == ""
    _type(form, _row(form, "llama3.1:8b"), CONTEXT_COLUMN, "32k")
    _type(form, _row(form, "qwen3:8b"), CONTEXT_COLUMN, "lots")
    assert form.models_label.text() == (
        "The context window of qwen3:8b must be a number of tokens such as 131072 or 128k,"
        " got 'lots'."
    )
    _type(form, _row(form, "qwen3:8b"), CONTEXT_COLUMN, "40,960")
    assert form.models_label.text() == ""  # corrected: the message goes
    windows = {m.id: m.context_window for m in form.profile().models}
    assert windows == {"llama3.1:8b": 32_000, "qwen3:8b": 40_960, "phi4": None}
    _type(form, _row(form, "phi4"), CONTEXT_COLUMN, "100")
    assert form.models_label.text() == (
        "The context window of phi4 must be a whole number of tokens from 512 to 100,000,000,"
        " got 100."
    )
    dialog.save(close=False)
    await dialog.wait_idle()
    assert dialog.status.text() == (
        "Could not save the settings: the context window of phi4 (Ollama) must be a whole"
        " number of tokens from 512 to 100,000,000, got 100"
    )
    _type(form, _row(form, "phi4"), CONTEXT_COLUMN, "16384")
    dialog.save(close=False)
    await dialog.wait_idle()
    assert dialog.status.text() == "Saved."
    provider = resolve_provider(load_settings().settings, "ollama")
    assert provider.context_window("llama3.1:8b") == 32_000
    assert provider.context_window("qwen3:8b") == 40_960
    assert provider.context_window("phi4") == 16_384
