"""The provider switcher on its own: a header, a settings getter and a task spawner suffice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import FAST

from streamdesk.core.store.settings import ProviderSettings, Settings
from streamdesk.mock import MockServer
from streamdesk.ui.window.header import Header
from streamdesk.ui.window.keys_on_use import KeysOnUse
from streamdesk.ui.window.provider_switcher import ProviderSwitcher


@asynccontextmanager
async def switcher_for(
    qtbot: QtBot, settings: Settings, keys: KeysOnUse | None = None
) -> AsyncIterator[tuple[ProviderSwitcher, list[asyncio.Task[Any]]]]:
    """A switcher over a bare header (keys from `keys`, else the keychain), and the tasks it
    spawned."""
    header = Header()
    qtbot.addWidget(header)
    tasks: list[asyncio.Task[Any]] = []

    def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        tasks.append(asyncio.ensure_future(coro))
        return tasks[-1]

    switcher = ProviderSwitcher(header, lambda: settings, keys or KeysOnUse(), spawn, FAST)
    switcher.load(settings)
    try:
        yield switcher, tasks
    finally:
        await asyncio.gather(*tasks, return_exceptions=True)
        await switcher.aclose()


@pytest.mark.asyncio
async def test_a_chosen_provider_without_a_key_stays_chosen_and_says_so(qtbot: QtBot) -> None:
    async with switcher_for(qtbot, Settings(active_provider="openai")) as (switcher, _tasks):
        offline: list[bool] = []
        switcher.offlineChanged.connect(offline.append)
        await switcher.use(switcher.provider, at_start=True)
        assert not switcher.offline and switcher.provider.id == "openai" and switcher.mock is None
        assert offline == [] and switcher.header.provider_id() == "openai"
        assert "No API key for OpenAI" in switcher.header.provider_box.toolTip()
        assert switcher.target().provider.id == "openai", "never silently the mock"


@pytest.mark.asyncio
async def test_with_nothing_configured_the_demo_stands_in_and_is_never_saved(
    qtbot: QtBot,
) -> None:
    settings = Settings()  # the default provider, no profile, no key: nothing configured
    async with switcher_for(qtbot, settings) as (switcher, _tasks):
        offline: list[bool] = []
        scenarios: list[bool] = []
        switcher.offlineChanged.connect(offline.append)
        switcher.scenariosAvailable.connect(scenarios.append)
        assert switcher.provider.id == "holysheep" and not switcher.offline
        await switcher.use(switcher.provider, at_start=True)
        assert switcher.offline and switcher.provider.id == "mock" and switcher.mock is not None
        assert offline == [True] and scenarios == [True]
        assert switcher.header.provider_id() == "mock"
        assert switcher.provider_to_save() == "holysheep", "settings.toml never names the mock"
        assert switcher.wanted_provider_id() == "holysheep"


@pytest.mark.asyncio
async def test_saved_settings_keep_the_demo_while_nothing_is_configured(qtbot: QtBot) -> None:
    """Saving Settings (nothing changed, or only the font) is no choice of provider: while
    nothing is configured the demo goes on, on the same mock, as after a restart."""
    settings = Settings()
    async with switcher_for(qtbot, settings) as (switcher, tasks):
        await switcher.use(switcher.provider, at_start=True)
        mock = switcher.mock
        missing: list[str] = []
        switcher.keyMissing.connect(missing.append)
        switcher.set_providers(settings)  # what the window does with saved settings first
        switcher.select_saved(settings.active_provider)
        await asyncio.gather(*tasks)
        assert switcher.offline and switcher.provider.id == "mock" and switcher.mock is mock
        assert switcher.header.provider_id() == "mock" and switcher.providers[0].id == "mock"
        assert switcher.wanted_provider_id() == "holysheep" and not any(missing)
        assert switcher.target().provider.id == "mock"


@pytest.mark.asyncio
async def test_saved_settings_naming_a_provider_without_its_key_end_the_demo_and_say_so(
    qtbot: QtBot,
) -> None:
    settings = Settings()
    async with switcher_for(qtbot, settings) as (switcher, tasks):
        await switcher.use(switcher.provider, at_start=True)
        settings.active_provider = "openai"  # Settings ▸ Providers ▸ Use for chat, then Save
        switcher.set_providers(settings)
        switcher.select_saved(settings.active_provider)
        await asyncio.gather(*tasks)
        assert not switcher.offline and switcher.provider.id == "openai"
        assert "No API key for OpenAI" in switcher.header.provider_box.toolTip()


@pytest.mark.asyncio
async def test_a_switch_asked_for_later_wins_over_one_that_finds_its_key_later(
    qtbot: QtBot,
) -> None:
    """Two switches in flight (a key saved, then Save pressed): the last asked for is used,
    whichever keychain look-up answers last."""
    slow = threading.Event()

    class SlowKeys(KeysOnUse):
        def lookup(self, provider_id: str) -> tuple[str | None, str | None]:
            if provider_id == "openai":
                slow.wait(10)
            return None, None

    settings = Settings(active_provider="openai")
    async with switcher_for(qtbot, settings, SlowKeys()) as (switcher, tasks):
        switcher.select("openai")
        switcher.select("anthropic")
        await tasks[1]
        assert switcher.provider.id == "anthropic"
        slow.set()
        await asyncio.gather(*tasks)
        assert switcher.provider.id == "anthropic" and switcher.header.provider_id() == "anthropic"


@pytest.mark.asyncio
async def test_a_debug_scenario_is_taken_by_the_next_target_only(qtbot: QtBot) -> None:
    async with switcher_for(qtbot, Settings(active_provider="openai")) as (switcher, _tasks):
        await switcher.start_offline_demo()
        chosen: list[str | None] = []
        switcher.scenarioChanged.connect(chosen.append)
        switcher.set_next_scenario("http-500")
        first, second = switcher.target(), switcher.target()
        assert first.scenario == "http-500" and second.scenario is None
        assert chosen == ["http-500", None]
        assert first.provider.id == "mock" and first.model == first.provider.default_model
        switcher.set_next_scenario("http-500")
        looked = switcher.target(take_scenario=False)  # where images are fitted for
        assert looked.scenario == "http-500" and switcher.target().scenario == "http-500"


@pytest.mark.asyncio
async def test_saved_settings_naming_a_removed_provider_fall_back_to_the_first_real_one(
    qtbot: QtBot,
) -> None:
    async with switcher_for(qtbot, Settings(active_provider="openai")) as (switcher, tasks):
        await switcher.start_offline_demo()
        switcher.select_saved("gone")
        await asyncio.gather(*tasks)
        first_real = next(p for p in switcher.providers if p.id != "mock")
        assert first_real.id != "openai"
        assert switcher.wanted_provider_id() == first_real.id, "chosen, though it has no key"
        assert not switcher.offline and switcher.header.provider_id() == first_real.id


@pytest.mark.asyncio
async def test_a_provider_without_a_default_model_takes_the_servers_only_one(
    qtbot: QtBot,
) -> None:
    async with MockServer(models=("only-model.gguf",), **FAST) as server:
        local = ProviderSettings(
            id="llamacpp", name="llama.cpp server", base_url=server.sse_base_url, needs_key=False
        )
        settings = Settings(active_provider="llamacpp", providers=[local])
        async with switcher_for(qtbot, settings) as (switcher, tasks):
            await switcher.use(switcher.provider, at_start=True)
            await asyncio.gather(*tasks)
            assert switcher.header.model() == "only-model.gguf"
            assert switcher.target().model == "only-model.gguf"


@pytest.mark.asyncio
async def test_a_window_on_a_provider_without_its_key_says_so_at_once(qtbot: QtBot) -> None:
    from streamdesk.ui.window.main_window import MainWindow

    window = MainWindow(Settings(active_provider="openai"), save_on_close=False)
    qtbot.addWidget(window)
    window.show()
    try:
        await window.start()
        banner = window.settings_ui.banner
        assert banner.isVisible() and "No API key for OpenAI" in banner.label.text()
        assert not window.offline
    finally:
        await window.shutdown()


@pytest.mark.asyncio
async def test_another_provider_or_a_chats_target_shown_says_the_target_changed(
    qtbot: QtBot,
) -> None:
    """The header's boxes stay quiet while the switcher fills them, so it says itself that the
    next request goes elsewhere (the attached images are fitted for it)."""
    from streamdesk.core.chat import Target

    async with switcher_for(qtbot, Settings(active_provider="openai")) as (switcher, _tasks):
        seen: list[tuple[str, str]] = []
        switcher.targetChanged.connect(
            lambda: seen.append((switcher.provider.id, switcher.header.model()))
        )
        anthropic, openai = switcher.provider_by_id("anthropic"), switcher.provider_by_id("openai")
        assert anthropic is not None and openai is not None
        await switcher.use(anthropic)  # without a key: chosen all the same
        assert [provider for provider, _model in seen] == ["anthropic"]
        switcher.show(Target(openai, "gpt-4.1"))
        switcher.show(Target(openai, "gpt-4o"))  # the same provider, another model
        assert seen[1:] == [("openai", "gpt-4.1"), ("openai", "gpt-4o")]
