"""Which provider, key, offline demo and debug scenario the window's next request uses.

`ProviderSwitcher` fills the header's provider picker, shows a conversation's own target when it
is brought forward, and builds the `Target` each request reads (the engine looks the key up at
send time). The built-in mock runs as an offline demo while the user has configured nothing at
all: at start, and after Settings are saved or a key deleted, as a restart would. A provider the
user picks in the header without a key stays chosen, and so does one that settings name while
something is configured: its first send fails with the "set the key" message and banner.
Everything slow (keys, the mock server, the request types) is imported inside the methods, so
this module costs the first frame nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Signal

from streamdesk.ui.window.header import Header

if TYPE_CHECKING:
    import asyncio

    from streamdesk.core.chat import KeySource, StoredTarget, Target
    from streamdesk.core.providers import Provider
    from streamdesk.core.request import Timeouts
    from streamdesk.core.store.settings import Settings
    from streamdesk.head_start import DemoProcess
    from streamdesk.mock.server import MockServer
    from streamdesk.ui.window.keys_on_use import KeysOnUse

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class DemoServer(Protocol):
    """The offline demo's server: a `MockServer` the window started, or the head start's."""

    @property
    def sse_base_url(self) -> str: ...
    @property
    def ws_url(self) -> str: ...
    async def close(self) -> None: ...


def _is_mock(provider_id: str) -> bool:
    from streamdesk.core.providers import MOCK_PROVIDER_ID

    return provider_id == MOCK_PROVIDER_ID


def _mock_server_class() -> type[MockServer]:
    """The offline demo's server class, imported on a worker thread (the mock's modules, h11
    and websockets are work the window's thread need not wait on); started on the loop."""
    from streamdesk.mock.server import MockServer

    return MockServer


def _nothing_configured(settings: Settings, keys: KeySource) -> bool:
    """`unconfigured`, for a worker thread: the keychain's modules load there, if they must."""
    from streamdesk.core.chat import unconfigured

    return unconfigured(settings, keys)


class ProviderSwitcher(QObject):
    """Emits `offlineChanged(offline)`, `scenariosAvailable(bool)` (the mock serves the next
    request, so its debug scenarios apply), `scenarioChanged(name | None)` and `targetChanged()`
    (the next request goes elsewhere: another provider, or a conversation's own target shown,
    which the header's boxes do not signal)."""

    offlineChanged = Signal(bool)
    scenariosAvailable = Signal(bool)
    scenarioChanged = Signal(object)
    keyMissing = Signal(str)  # the chosen provider needs a key it does not have: why ("": has)
    targetChanged = Signal()
    demoMoved = Signal()  # the offline demo's server was started again elsewhere (new URLs)

    provider: Provider  # set by `load()`, with the settings

    def __init__(
        self,
        header: Header,
        settings: Callable[[], Settings],
        keys: KeysOnUse,
        spawn: Spawn,
        mock_options: dict[str, Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.header = header
        self._settings = settings
        self._keys = keys
        self._spawn = spawn
        self._mock_options = mock_options
        self.providers: list[Provider] = []
        self.api_key: str | None = None
        self.offline = False
        self.offline_for = ""  # the provider the offline demo stands in for
        self._demo_why = ""  # why it does (the header's tooltip)
        self.mock: DemoServer | None = None  # running while in the offline demo
        self._switching: object = None  # the latest switch: an earlier one ending later yields
        self.next_scenario: str | None = None
        self.timeouts_override: Timeouts | None = None  # tests: a tiny stall timeout
        self.max_retries_override: int | None = None
        self.resume_override: str | None = None  # tests: "off" to see a cut as it ends

    # -- providers ------------------------------------------------------------------------

    def load(self, settings: Settings) -> None:
        """The providers and protocol of `settings` into the header; its choice is current."""
        self.set_providers(settings)
        self.header.set_protocol(settings.protocol)
        self.provider = self.provider_by_id(self.header.provider_id()) or self.providers[0]

    def set_providers(self, settings: Settings) -> None:
        """Built-ins plus the user's profiles into the header, the active one selected."""
        from streamdesk.core.store.settings import all_providers

        self.providers = all_providers(settings)
        self.header.set_providers(self.providers, settings.active_provider)

    def provider_by_id(self, provider_id: str) -> Provider | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def wanted_provider_id(self) -> str:
        """The provider the user chose (the offline demo stands in for it without a key)."""
        pid = self.header.provider_id() or self.provider.id
        if _is_mock(pid):
            return self.offline_for or self._settings().active_provider
        return pid

    def provider_to_save(self) -> str:
        """The provider settings.toml remembers: never the mock, but what it stands in for."""
        pid = self.header.provider_id() or self.provider.id
        return self.offline_for if _is_mock(pid) else pid

    def select(self, provider_id: str) -> None:
        """Switch to a provider of the list (an unknown id is ignored)."""
        provider = self.provider_by_id(provider_id)
        if provider is not None:
            self._spawn(self.use(provider))

    def chosen_model(self) -> str:
        """The model the user picked in the header for the provider in use ("": its default)."""
        model = self.header.model()
        return model if model != self.provider.default_model else ""

    def select_saved(self, provider_id: str, *, keep_model: str = "") -> None:
        """Switch to the settings' active provider, or to the first real one when it is gone;
        without its key, the offline demo stands in while nothing at all is configured (the
        user who saves Settings only looking around keeps the demo, as a restart would).
        `keep_model` (`chosen_model()` before the header was refilled) stays chosen when the
        provider in use stays: saving Settings is no choice of model."""
        provider = self.provider_by_id(provider_id)
        if provider is None and self.providers:
            provider = next((p for p in self.providers if not _is_mock(p.id)), self.providers[0])
        if provider is not None:
            self._spawn(self._switch(provider, demo_may_stand_in=True, keep_model=keep_model))

    async def use(self, provider: Provider, *, at_start: bool = False) -> None:
        """Switch to `provider`. Without a key (one needed) it stays chosen and says so; at
        start, when the user has configured nothing at all, the offline demo stands in.
        A provider the user picks in the header is a choice, never undone by the demo."""
        await self._switch(provider, demo_may_stand_in=at_start)

    async def _switch(
        self, provider: Provider, *, demo_may_stand_in: bool, keep_model: str = ""
    ) -> None:
        """`use`; a switch asked for later wins, whichever of them looks its key up first."""
        self._switching = switching = object()
        in_use = self.provider.id  # `keep_model` was picked for it
        if _is_mock(provider.id):
            self._set_provider(provider, None, offline=True)
            return
        import asyncio

        key, problem = await asyncio.to_thread(self._keys.lookup, provider.id)
        if self._switching is not switching:
            return
        kept = keep_model if provider.id == in_use else ""
        if key or not provider.needs_key:
            if kept:
                self.header.show_target(provider.id, kept, self.header.protocol())
            self._set_provider(provider, key, offline=False)
            if not provider.default_model:
                self._spawn(self._take_the_only_server_model(provider))
            return
        why = problem or f"No API key for {provider.name}."
        settings = self._settings()
        demo = demo_may_stand_in and await asyncio.to_thread(
            _nothing_configured, settings, self._keys
        )
        if self._switching is not switching:
            return
        if demo:
            mock = await self._start_mock()
            demo_model = keep_model if _is_mock(in_use) else ""
            if self._switching is switching:
                self._enter_offline_demo(mock, provider, why, demo_model)
            return
        self._set_provider(provider, None, offline=False)
        shown = self.header.model() if self.header.provider_id() == provider.id else ""
        model = kept or shown or provider.default_model  # a reopened chat keeps its model
        self.header.show_target(provider.id, model, self.header.protocol())
        self.header.set_key_missing(f"{why} Set it in Settings (Ctrl+,).")
        self.keyMissing.emit(why)

    async def _take_the_only_server_model(self, provider: Provider) -> None:
        """A provider with no default model (llama.cpp, LM Studio) uses the server's model when
        its list holds exactly one, as `streamdesk ask` does."""
        from streamdesk.core.chat import Network, Target, only_server_model

        target = Target(provider, "", network=Network.of(self._settings()))
        model = await only_server_model(target, self._keys)
        if model and self.provider is provider and not self.header.model():
            self.header.show_target(provider.id, model, self.header.protocol())
            self.targetChanged.emit()

    # -- offline demo ---------------------------------------------------------------------

    async def start_offline_demo(self, why: str = "Offline demo.") -> None:
        """Use the built-in mock whatever keys exist (screenshots, demos)."""
        self._switching = switching = object()
        mock = await self._start_mock()
        if self._switching is switching:
            self._enter_offline_demo(mock, self.provider, why)

    def adopt_demo(self, server: DemoProcess) -> None:
        """The head start serves the offline demo: use its server, unless one runs. Should its
        process end (killed, crashed), the demo goes on with a server of the window's own."""
        if self.mock is not None:
            self._spawn(server.close())
            return
        self.mock = server
        server.on_end(lambda: self._demo_ended(server))

    def _demo_ended(self, server: DemoServer) -> None:
        if self.mock is not server:
            return
        self.mock = None
        if self.offline:
            self._spawn(self._restart_demo())

    async def _restart_demo(self) -> None:
        """The demo again, on a new server: the header's model kept; chats held with the demo
        follow it (`demoMoved`)."""
        self._switching = switching = object()
        wanted = self.provider_by_id(self.offline_for) or self.provider
        model = self.header.model()
        mock = await self._start_mock()
        if self._switching is switching and self.offline:
            self._enter_offline_demo(mock, wanted, self._demo_why, model)
            self.demoMoved.emit()

    async def _start_mock(self) -> DemoServer:
        """The offline demo's server, started unless it runs."""
        if self.mock is None:
            import asyncio

            mock_server = await asyncio.to_thread(_mock_server_class)
            server = mock_server(**{"vary_replies": True, **self._mock_options})
            await server.start()
            if self.mock is None:  # another switch may have started one meanwhile
                self.mock = server
            else:
                await server.close()
        return self.mock

    def _enter_offline_demo(
        self, mock: DemoServer, wanted: Provider, why: str, model: str = ""
    ) -> None:
        """`mock` stands in for `wanted`, listed first in the header and chosen (with `model`,
        else its default)."""
        from streamdesk.core.providers import mock_provider

        demo = mock_provider(mock.sse_base_url, mock.ws_url)
        self.offline_for = wanted.id
        self._demo_why = why
        self.providers = [demo, *(p for p in self.providers if p.id != demo.id)]
        self.header.set_providers(self.providers, demo.id)
        if model:
            self.header.show_target(demo.id, model, self.header.protocol())
        tip = f"{why} Replies come from the built-in mock server; set a key in Settings (Ctrl+,)."
        self._set_provider(demo, None, offline=True, why=tip)

    def _set_provider(
        self, provider: Provider, key: str | None, *, offline: bool, why: str = ""
    ) -> None:
        self.provider = provider
        self.api_key = key
        changed = offline != self.offline
        self.offline = offline
        self.header.set_offline(offline, why)
        self.header.set_key_missing("")
        self.keyMissing.emit("")
        self.scenariosAvailable.emit(_is_mock(provider.id))
        if self.next_scenario and not _is_mock(provider.id):
            self.set_next_scenario(None)  # a mock fault means nothing to another provider
        if changed:
            self.offlineChanged.emit(offline)
        self.targetChanged.emit()

    async def aclose(self) -> None:
        """Stop the offline demo's mock server."""
        if self.mock is not None:
            await self.mock.close()
            self.mock = None

    # -- the next request -----------------------------------------------------------------

    def set_next_scenario(self, name: str | None) -> None:
        """Debug: the next request asks the mock for this fault (`MODEL#SCENARIO`)."""
        self.next_scenario = name if name and name != "ok" else None
        self.scenarioChanged.emit(name)

    def target(self, *, take_scenario: bool = True) -> Target:
        """What the next request uses; takes (and clears) the one-shot debug scenario, unless
        only looking where the request goes (`take_scenario=False`: images fitted for it)."""
        scenario = self.next_scenario if _is_mock(self.provider.id) else None
        if scenario and take_scenario:
            self.set_next_scenario(None)
        from streamdesk.core.chat import Network, Target

        return Target(
            provider=self.provider,
            model=self.header.model() or self.provider.default_model,
            protocol=self.header.protocol(),
            timeouts=self.timeouts_override,
            max_retries=self.max_retries_override,
            scenario=scenario,
            network=Network.of(self._settings()),  # proxy, CA bundle: as Test connection uses
            resume=self.resume_override,
        )

    def show(self, target: Target) -> None:
        """A conversation came forward: its next request goes where it was held, until the
        user picks another provider, model or protocol for it."""
        self.header.show_target(target.provider.id, target.model, target.protocol)
        if target.provider != self.provider:
            self._set_provider(target.provider, None, offline=target.is_mock)
        else:
            self.targetChanged.emit()

    def stored_target(self, stored: StoredTarget) -> Target:
        """The target of a stored conversation, with today's profile of its provider."""
        from streamdesk.core.chat import Network, Target
        from streamdesk.core.providers import MOCK_PROVIDER_ID

        mock = self.provider_by_id(MOCK_PROVIDER_ID) if self.mock is not None else None
        if stored.provider_id == MOCK_PROVIDER_ID and mock is None:
            provider = self.provider  # the demo is over: the provider configured since
        else:
            provider = stored.provider(self.provider_by_id(stored.provider_id), mock)
        return Target(
            provider=provider,
            model=stored.model or provider.default_model,
            protocol=stored.protocol if provider.ws_url or stored.protocol == "sse" else "sse",
            timeouts=self.timeouts_override,
            max_retries=self.max_retries_override,
            network=Network.of(self._settings()),
        )
