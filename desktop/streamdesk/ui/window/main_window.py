"""The main window: header, conversation list, one transcript per conversation, prompt box.

Each conversation has its own `TranscriptView` (in a QStackedWidget) and `ChatSession`, so
several replies stream at once and switching conversations loses nothing. Everything slow
(keychain, mock server start, closing streams) runs as tasks on the qasync loop.

Start-up paints first: `MainWindow(deferred=True)` builds only the frame (header, list, prompt,
status bar) from modules that import in a few milliseconds, and `finish_build()`, run after the
first frame is on screen, adds the rest (history store, transcript, session, inspector,
settings, mock scenarios). So asyncio, httpx, keyring, SQLite, Pygments and the mock load after
the window is visible; `start()` finishes the build if nobody did.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore
from PySide6.QtCore import QByteArray, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QGuiApplication,
)
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
)

from streamdesk.ui.theme import apply_theme, resolve_dark
from streamdesk.ui.window.build import WindowBuild
from streamdesk.ui.window.providers import ProviderSwitching
from streamdesk.ui.window.status_bar import ReplyStats

if TYPE_CHECKING:  # loaded by finish_build(), after the first paint
    import asyncio

    from streamdesk.core.providers import Provider
    from streamdesk.core.request import Timeouts
    from streamdesk.core.store.settings import Settings
    from streamdesk.ui.history.bridge import HistoryBridge
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.session.turns import HistorySink
    from streamdesk.ui.settings.controller import SettingsController
    from streamdesk.ui.window.first_frame import FrameSettings

log = logging.getLogger(__name__)


class MainWindow(WindowBuild, ProviderSwitching, QMainWindow):
    """`await start()` once the loop runs; `await shutdown()` (or close) to end cleanly."""

    settingsRequested = Signal()
    inspectorRequested = Signal()
    offlineChanged = Signal(bool)
    history: HistoryBridge  # these two exist once finish_build() has run
    settings_ui: SettingsController
    provider: Provider  # set with the settings (_fill_header)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        mock_options: dict[str, Any] | None = None,
        history_sink: HistorySink | None = None,
        save_on_close: bool = True,
        deferred: bool = False,
    ) -> None:
        """With `deferred`, only the frame is built: call `finish_build()` after showing it."""
        super().__init__()
        self.setWindowTitle("Streamdesk")
        self.settings_warning: str | None = None
        self._settings = settings
        # Deferred without settings: the frame shows what settings.toml says without loading
        # the settings module (~50 ms); `finish_build` (or any use of .settings) loads it.
        self._frame: FrameSettings | None = None
        if settings is None and deferred:
            from streamdesk.ui.window.first_frame import read_frame_settings

            self._frame = read_frame_settings()
        self.mock_options = mock_options or {}
        self.history_sink = history_sink
        self.save_on_close = save_on_close
        self.providers: list[Provider] = []  # filled with the settings (_fill_header)
        self.api_key: str | None = None
        self.offline = False
        self.mock: Any = None  # streamdesk.mock.server.MockServer while in the offline demo
        self.timeouts_override: Timeouts | None = None  # tests: a tiny stall timeout
        self.max_retries_override: int | None = None
        self.next_scenario: str | None = None
        self.sessions: dict[int, ChatSession] = {}
        self._next_conversation = 1
        self._shutdown_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed: asyncio.Event | None = None
        self.warmup: asyncio.Task[None] | None = None  # the request path, loading off the loop
        self.built = False
        self.dark = resolve_dark(self._theme(), quick=deferred)
        if deferred:  # the palette before the widgets: one polish instead of a repolish
            self.apply_theme(quick=True)
        self._build()
        self._build_menus()
        self._restore_geometry()
        if self._frame is None:
            self._fill_header()
        if not deferred:
            self.finish_build()

    @property
    def settings(self) -> Settings:
        """The full settings, loaded on first use (after the first paint when deferred)."""
        if self._settings is None:
            from streamdesk.core.store.settings import load_settings

            loaded = load_settings()
            self._settings, self.settings_warning = loaded.settings, loaded.warning
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value

    def _theme(self) -> str:
        """The theme choice, from the first frame's quick read until the settings load."""
        if self._settings is None and self._frame is not None:
            return self._frame.theme
        return self.settings.theme

    def _fill_header(self) -> None:
        """Providers (built-ins plus the user's profiles) into the header's pickers."""
        from streamdesk.core.store.settings import all_providers

        self.providers = all_providers(self.settings)
        self.header.set_providers(self.providers, self.settings.active_provider)
        self.header.set_protocol(self.settings.protocol)
        self.provider = self._provider_by_id(self.header.provider_id()) or self.providers[0]
        self._frame = None

    def finish_build(self) -> None:
        """What the first paint does not need: inspector, history, first chat, settings."""
        if self.built:
            return
        self.built = True
        if self._frame is not None:
            self._fill_header()
        if resolve_dark(self.settings.theme) != self.dark:  # the first frame only guessed
            self.apply_theme()
        from streamdesk.ui.history.bridge import HistoryBridge
        from streamdesk.ui.inspector.dock import install_network_tools
        from streamdesk.ui.settings.controller import SettingsController

        self._fill_menus()
        self._build_debug_menu()
        install_network_tools(self)  # Ctrl+I inspector dock, View ▸ Send over both
        self.history = HistoryBridge(self)  # stored conversations, persistence, search
        self.new_chat()
        self.stack.removeWidget(self._placeholder)
        self._placeholder.deleteLater()
        self.settings_ui = SettingsController(self)  # Ctrl+, dialog, banners, live apply

    @property
    def closed(self) -> asyncio.Event:
        """Set when the window closes (created on first use: asyncio loads after first paint)."""
        if self._closed is None:
            import asyncio

            self._closed = asyncio.Event()
        return self._closed

    # -- start and end --------------------------------------------------------------------

    async def start(self) -> None:
        """Find the key of the active provider; without one, start the offline demo."""
        self.finish_build()
        self.warmup = self._spawn(self._prewarm())
        await self._use_provider(self.provider)

    async def _prewarm(self) -> None:
        """Import the request path and build TLS contexts in a worker thread: ~150 ms that
        the first Send would otherwise spend on the loop (benchmarks/window_lag.py)."""
        import asyncio

        from streamdesk.core.transports._tls import prewarm

        try:
            await asyncio.to_thread(prewarm)
        except Exception:  # a missing optional module must not break start-up
            log.exception("warming the request path failed")

    async def run(self) -> int:
        """The app's main coroutine: start, wait for the window to close, shut down."""
        await self.start()
        await self.closed.wait()
        await self.shutdown()
        return 0

    async def shutdown(self) -> None:
        """Cancel every stream (each keeps its text, marked stopped) and stop the mock."""
        import asyncio

        if self._shutdown_task is None:
            self._shutdown_task = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._shutdown_task)

    async def _shutdown(self) -> None:
        import asyncio

        self.finish_build()  # closed before the build finished: still end cleanly
        await self.settings_ui.aclose()
        await asyncio.gather(*(s.aclose() for s in self.sessions.values()))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.mock is not None:
            await self.mock.close()
            self.mock = None
        self.history.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        for session in self.sessions.values():
            session.stop()
        if self.save_on_close:
            if self._frame is not None:  # closed before the build finished
                self._fill_header()
            self.settings.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode()
            self.settings.active_provider = self.header.provider_id() or self.provider.id
            if self.settings.active_provider == "mock":
                self.settings.active_provider = self._offline_for
            self.settings.protocol = self.header.protocol()
            from streamdesk.core.store.settings import save_settings

            try:
                save_settings(self.settings)
            except OSError:
                log.exception("could not save the settings")
        self.closed.set()
        import asyncio

        with contextlib.suppress(RuntimeError):  # no running loop: nothing async to end
            asyncio.get_running_loop()
            self._spawn(self.shutdown())
        event.accept()

    def _restore_geometry(self) -> None:
        raw = self._frame.window_geometry if self._frame else self.settings.window_geometry
        if not raw or not self.restoreGeometry(QByteArray.fromBase64(raw.encode())):
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableSize() if screen else None
            if avail is None:
                self.resize(1180, 780)
            else:
                self.resize(min(1180, avail.width()), min(780, avail.height()))

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        """A task that is kept referenced until it ends (the loop only holds weak refs)."""
        import asyncio

        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- conversations --------------------------------------------------------------------

    def new_key(self) -> int:
        key = self._next_conversation
        self._next_conversation += 1
        return key

    def new_chat(self, *, key: int | None = None) -> ChatSession:
        """A new conversation; with `key`, the session of a listed stored one (history)."""
        listed = key is not None
        key = self.new_key() if key is None else key
        from streamdesk.ui.session.session import ChatSession
        from streamdesk.ui.transcript.history_view import HistoryTranscriptView

        view = HistoryTranscriptView(self.stack)
        view.set_dark(self.dark)
        sink = self.history_sink or self.history.sink
        session = ChatSession(view, self.target, history_sink=sink, parent=self)
        self.history.attach(key, session)
        self.sessions[key] = session
        self.stack.addWidget(view)
        session.statsChanged.connect(lambda stats, k=key: self._on_stats(k, stats))
        session.busyChanged.connect(lambda busy, k=key: self._on_busy(k, busy))
        if hasattr(view, "copyRequested"):
            view.copyRequested.connect(self._copy)
        if not listed:
            self.conversations.add_conversation(key, session.title)
        self.focus_prompt()
        return session

    def current_key(self) -> int:
        key = self.conversations.current_key()
        return int(key) if key is not None else next(iter(self.sessions))

    def current_session(self) -> ChatSession:
        return self.sessions[self.current_key()]

    def _show_conversation(self, key: object) -> None:
        session = self.sessions.get(key)  # type: ignore[call-overload]
        if session is None:
            return
        self.stack.setCurrentWidget(session.view)
        self.status.show_stats(session.stats)
        self._update_buttons()

    def _send(self, text: str) -> None:
        key = self.current_key()
        session = self.sessions[key]
        if self.history.submit(session, text):
            return
        if not session.turns:
            title = " ".join(text.split())
            session.title = title[:40] + ("…" if len(title) > 40 else "")
            self.conversations.set_title(key, session.title)
        session.send(text)

    def stop(self) -> None:
        self.current_session().stop()

    def _on_stats(self, key: int, stats: ReplyStats) -> None:
        if key == self.current_key():
            self.status.show_stats(stats)

    def _on_busy(self, key: int, busy: bool) -> None:
        self.conversations.set_streaming(key, busy)
        if key == self.current_key():
            self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.current_session().busy
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)

    def focus_prompt(self) -> None:
        self.prompt.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage("Copied", 2000)

    # -- theme ----------------------------------------------------------------------------

    def set_theme(self, choice: str) -> None:
        self.settings.theme = choice
        self.apply_theme()

    def apply_theme(self, *, quick: bool = False) -> None:
        """`quick`: before the first paint, guess the system scheme (theme.system_is_dark)."""
        self.dark = resolve_dark(self._theme(), quick=quick)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.dark)
        for session in self.sessions.values():
            with contextlib.suppress(AttributeError):
                session.view.set_dark(self.dark)

    def on_system_scheme_changed(self, *_: object) -> None:
        if self._theme() == "system":
            self.apply_theme()
