"""Provider switching and the offline demo (a mixin of `MainWindow`, split out of window.py).

Everything slow (keys, the mock server, the request types) is imported inside the methods, so
this module costs the first frame nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamdesk.core.providers import Provider
    from streamdesk.ui.session.turns import Target


class ProviderSwitching:
    """Which provider, key and (debug) mock scenario the next request of `MainWindow` uses."""

    if TYPE_CHECKING:  # the attributes are MainWindow's

        def __getattr__(self, name: str) -> Any: ...

    # -- providers, offline demo ----------------------------------------------------------

    _offline_for = ""

    def _provider_by_id(self, provider_id: str) -> Provider | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def _on_provider_changed(self, provider_id: str) -> None:
        provider = self._provider_by_id(provider_id)
        if provider is not None:
            self._spawn(self._use_provider(provider))

    async def _use_provider(self, provider: Provider) -> None:
        if provider.id == "mock":
            self._set_provider(provider, None, offline=True)
            return
        from streamdesk.ui import keys

        key, problem = await keys.lookup(provider.id)
        if key or not provider.needs_key:
            self._set_provider(provider, key, offline=False)
            return
        why = problem or f"No API key for {provider.name}."
        await self._start_offline_demo(provider, why)

    async def start_offline_demo(self, why: str = "Offline demo.") -> None:
        """Use the built-in mock whatever keys exist (screenshots, demos)."""
        await self._start_offline_demo(self.provider, why)

    async def _start_offline_demo(self, wanted: Provider, why: str) -> None:
        if self.mock is None:
            from streamdesk.mock.server import MockServer

            server = MockServer(**self.mock_options)
            await server.start()
            self.mock = server
        from streamdesk.core.providers import mock_provider

        demo = mock_provider(self.mock.sse_base_url, self.mock.ws_url)
        self._offline_for = wanted.id
        self.providers = [demo, *(p for p in self.providers if p.id != "mock")]
        self.header.set_providers(self.providers, demo.id)
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
        self.debug_menu.menuAction().setEnabled(provider.id == "mock")
        if changed:
            self.offlineChanged.emit(offline)

    def _on_protocol_changed(self, protocol: str) -> None:
        self.settings.protocol = protocol

    def set_next_scenario(self, name: str | None) -> None:
        """Debug: the next request asks the mock for this fault (`MODEL#SCENARIO`)."""
        self.next_scenario = name if name and name != "ok" else None
        for n, act in self.scenario_actions.items():
            act.setChecked(n == name)
        if self.next_scenario:
            self.statusBar().showMessage(f"Next request uses mock scenario {name!r}", 5000)

    def target(self) -> Target:
        """What the next request uses; takes (and clears) the one-shot debug scenario."""
        scenario = self.next_scenario if self.provider.id == "mock" else None
        if scenario:
            self.set_next_scenario(None)
        from streamdesk.ui.session.targets import network_of
        from streamdesk.ui.session.turns import Target

        return Target(
            provider=self.provider,
            model=self.header.model() or self.provider.default_model,
            protocol=self.header.protocol(),
            api_key=self.api_key,
            timeouts=self.timeouts_override,
            max_retries=self.max_retries_override,
            scenario=scenario,
            network=network_of(self.settings),  # proxy, CA bundle: as Test connection uses
        )
