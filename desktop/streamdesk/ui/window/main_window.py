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
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore
from PySide6.QtCore import QByteArray, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from streamdesk.ui.theme import apply_theme, resolve_dark
from streamdesk.ui.window.composer import Composer
from streamdesk.ui.window.conversation_list import ConversationList
from streamdesk.ui.window.header import Header
from streamdesk.ui.window.menus import Menus
from streamdesk.ui.window.provider_switcher import ProviderSwitcher
from streamdesk.ui.window.status_bar import ReplyStats, StatusBar

if TYPE_CHECKING:  # loaded by finish_build(), after the first paint
    import asyncio

    from streamdesk.core.chat import StoredTarget, Target
    from streamdesk.core.providers import Provider
    from streamdesk.core.request import Timeouts
    from streamdesk.core.store.settings import Settings
    from streamdesk.mock.server import MockServer
    from streamdesk.ui.history.bridge import HistoryBridge
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.settings.controller import SettingsController
    from streamdesk.ui.window.first_frame import FrameSettings

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """`await start()` once the loop runs; `await shutdown()` (or close) to end cleanly.

    The window builds its parts (header, conversation list, prompt, status bar, `Menus`, the
    `ProviderSwitcher`, and after the first paint the history bridge and settings controller)
    and connects them in `_connect_signals` and `finish_build`.
    """

    settingsRequested = Signal()
    inspectorRequested = Signal()
    sessionAdded = Signal(object)  # ChatSession, once its view is in the stack
    history: HistoryBridge  # these two exist once finish_build() has run
    settings_ui: SettingsController

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        mock_options: dict[str, Any] | None = None,
        save_on_close: bool = True,
        deferred: bool = False,
    ) -> None:
        """With `deferred`, only the frame is built: call `finish_build()` after showing it."""
        super().__init__()
        self.setWindowTitle("Streamdesk")
        self.settings_warning: str | None = None
        self._key_missing: str | None = None  # the key-missing line shown in the banner
        self._settings = settings
        # Deferred without settings: the frame shows what settings.toml says without loading
        # the settings module (~50 ms); `finish_build` (or any use of .settings) loads it.
        self._frame: FrameSettings | None = None
        if settings is None and deferred:
            from streamdesk.ui.window.first_frame import read_frame_settings

            self._frame = read_frame_settings()
        self.save_on_close = save_on_close
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
        self.menus = Menus(self.menuBar(), self)
        self.switcher = ProviderSwitcher(
            self.header, lambda: self.settings, self._spawn, mock_options or {}, self
        )
        self._connect_signals()
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

    @property
    def settings_loaded(self) -> bool:
        """False while the deferred first frame runs on its quick read of settings.toml."""
        return self._settings is not None

    def _theme(self) -> str:
        """The theme choice, from the first frame's quick read until the settings load."""
        if self._settings is None and self._frame is not None:
            return self._frame.theme
        return self.settings.theme

    # -- parts ----------------------------------------------------------------------------

    def _build(self) -> None:
        """The frame: header, conversation list, transcript stack, prompt, status bar."""
        self.header = Header(self)
        if self._frame is not None:  # the providers come with the settings (_fill_header)
            self.header.set_protocol(self._frame.protocol)
        self.conversations = ConversationList(self)
        self.stack = QStackedWidget(self)
        self._placeholder = QWidget(self.stack)  # the empty transcript's colour until it exists
        self._placeholder.setBackgroundRole(QPalette.ColorRole.Base)
        self._placeholder.setAutoFillBackground(True)
        self.stack.addWidget(self._placeholder)
        self.composer = Composer(self)
        self.prompt = self.composer.prompt
        self.prompt.can_submit = lambda: bool(self.sessions) and not self.current_session().busy
        right = QWidget(self)
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.stack, 1)
        column.addWidget(self.composer)
        # No arguments: the (parent) overload is matched against (Qt.Orientation, parent) first,
        # which builds QtCore.Qt (~45 ms). Horizontal by default; the layout below reparents it.
        splitter = QSplitter()
        splitter.addWidget(self.conversations)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 860])
        splitter.setChildrenCollapsible(False)
        central = QWidget(self)
        self._rows = QVBoxLayout(central)  # header, [settings banner], conversation
        self._rows.setContentsMargins(0, 0, 0, 0)
        self._rows.setSpacing(0)
        self._rows.addWidget(self.header)
        self._rows.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)

    def _connect_signals(self) -> None:
        """Every connection between the frame's parts (the slow parts: `finish_build`)."""
        switcher, menus = self.switcher, self.menus
        self.header.providerChanged.connect(switcher.select)
        self.header.protocolChanged.connect(self._remember_protocol)
        self.conversations.newRequested.connect(self.new_chat)
        self.conversations.currentChanged.connect(self.show_conversation)
        self.prompt.submitted.connect(self._send)
        self.prompt.stopRequested.connect(self.stop)
        self.prompt.blocked.connect(
            lambda: self.statusBar().showMessage("A reply is still streaming; Esc stops it.", 4000)
        )
        menus.newChatRequested.connect(self.new_chat)
        menus.importRequested.connect(lambda: self.history.actions.import_dialog())
        menus.settingsRequested.connect(self.settingsRequested)
        menus.quitRequested.connect(self.close)
        menus.focusPromptRequested.connect(self.focus_prompt)
        menus.searchRequested.connect(self.conversations.focus_search)
        menus.inspectorRequested.connect(self.inspectorRequested)
        menus.themeChosen.connect(self.set_theme)
        menus.scenarioChosen.connect(switcher.set_next_scenario)
        switcher.scenariosAvailable.connect(menus.enable_scenarios)
        switcher.scenarioChanged.connect(self._show_scenario)

    def _fill_header(self) -> None:
        """Providers (built-ins plus the user's profiles) into the header's pickers."""
        self.switcher.load(self.settings)
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

        self.menus.fill(self.settings.theme)
        self.menus.add_scenarios()
        install_network_tools(self)  # Ctrl+I inspector dock, View ▸ Send over both
        self.history = HistoryBridge(self)  # stored conversations, persistence, search
        self.new_chat()
        self.stack.removeWidget(self._placeholder)
        self._placeholder.deleteLater()
        # Ctrl+, dialog, banners, live apply
        self.settings_ui = SettingsController(
            self, self.switcher, self.stack, lambda: self.settings, self.apply_settings
        )
        self._rows.insertWidget(1, self.settings_ui.banner)  # under the header
        for session in self.sessions.values():
            self.settings_ui.watch(session)
        self.sessionAdded.connect(self.settings_ui.watch)
        self.settingsRequested.connect(self.settings_ui.open_dialog)
        self.header.providerChanged.connect(self.settings_ui.clear_failure)
        if self.settings_warning:
            self.settings_ui.show_settings_warning(self.settings_warning)
        self.switcher.keyMissing.connect(self._say_key_missing)
        self.history.noticeChanged.connect(self._show_history_notice)
        self._show_history_notice(self.history.notice())

    def _say_key_missing(self, why: str) -> None:
        """A provider chosen without its key says so at once, not only at the first send; the
        line goes when a provider with a key (or none needed) is chosen."""
        banner = self.settings_ui.banner
        if why:
            banner.show_message(why, "Open Settings", self.settings_ui.open_dialog)
            self._key_missing = why
        elif banner.isVisible() and banner.label.text() == self._key_missing:
            banner.hide()

    def _show_history_notice(self, text: str) -> None:
        """The history repaired itself, is off, or the disk is full: one line above the chat."""
        banner = self.settings_ui.banner
        if text:
            banner.show_message(text)
        elif banner.isVisible() and self.history.shown_notice(banner.label.text()):
            banner.hide()  # space returned: the disk-full line goes

    def apply_settings(self, settings: Settings) -> None:
        """Use saved settings now (the provider list and theme), keeping the window's own
        protocol and geometry; the settings controller then switches the provider."""
        settings.protocol = self.header.protocol()
        settings.window_geometry = self.settings.window_geometry
        self.settings = settings
        self.switcher.set_providers(settings)
        self.set_theme(settings.theme)

    def _remember_protocol(self, protocol: str) -> None:
        self.settings.protocol = protocol

    # -- the next request -----------------------------------------------------------------

    def stored_target(self, stored: StoredTarget) -> Target:
        """The target of a stored conversation (it is sent where it was held)."""
        return self.switcher.stored_target(stored)

    def target(self) -> Target:
        """What the next request uses (provider, key, model, protocol, debug scenario)."""
        return self.switcher.target()

    def set_next_scenario(self, name: str | None) -> None:
        """Debug: the next request asks the mock for this fault (`MODEL#SCENARIO`)."""
        self.switcher.set_next_scenario(name)

    def _show_scenario(self, name: str | None) -> None:
        self.menus.check_scenario(name)
        if self.switcher.next_scenario:
            self.statusBar().showMessage(f"Next request uses mock scenario {name!r}", 5000)

    async def start_offline_demo(self, why: str = "Offline demo.") -> None:
        """Use the built-in mock whatever keys exist (screenshots, demos)."""
        await self.switcher.start_offline_demo(why)

    @property
    def provider(self) -> Provider:
        """The provider the next request uses."""
        return self.switcher.provider

    @property
    def offline(self) -> bool:
        """True while the built-in mock stands in for a provider without a key."""
        return self.switcher.offline

    @property
    def mock(self) -> MockServer | None:
        """The offline demo's mock server while it runs."""
        return self.switcher.mock

    @property
    def timeouts_override(self) -> Timeouts | None:
        """Tests: timeouts every request uses instead of the provider's."""
        return self.switcher.timeouts_override

    @timeouts_override.setter
    def timeouts_override(self, value: Timeouts | None) -> None:
        self.switcher.timeouts_override = value

    @property
    def max_retries_override(self) -> int | None:
        """Tests: retries every request uses instead of the provider's."""
        return self.switcher.max_retries_override

    @max_retries_override.setter
    def max_retries_override(self, value: int | None) -> None:
        self.switcher.max_retries_override = value

    @property
    def resume_override(self) -> str | None:
        """Tests: how a cut reply goes on ("off" shows it as it ended)."""
        return self.switcher.resume_override

    @resume_override.setter
    def resume_override(self, value: str | None) -> None:
        self.switcher.resume_override = value

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
        await self.switcher.use(self.switcher.provider, at_start=True)

    async def _prewarm(self) -> None:
        """Import the request path and build TLS contexts in a worker thread: work the first
        Send would otherwise do on the loop (benchmarks/window_lag.py)."""
        import asyncio

        from streamdesk.core.chat import prewarm

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
        await self.switcher.aclose()
        self.history.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        for session in self.sessions.values():
            session.stop()
        if self.save_on_close:
            if self._frame is not None:  # closed before the build finished
                self._fill_header()
            self.settings.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode()
            self.settings.active_provider = self.switcher.provider_to_save()
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

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task that is kept referenced until it ends (the loop only holds weak refs)."""
        import asyncio

        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_idle(self) -> None:
        """Until the tasks the window started (provider switches, key look-ups) have ended."""
        import asyncio

        while self._tasks:
            await asyncio.gather(*self._tasks)

    # -- conversations --------------------------------------------------------------------

    def new_key(self) -> int:
        key = self._next_conversation
        self._next_conversation += 1
        return key

    def new_chat(self, *, key: int | None = None) -> ChatSession:
        """A new conversation; with `key`, the session of a listed stored one (history)."""
        listed = key is not None
        key = self.new_key() if key is None else key
        from streamdesk.ui.keys import key_store
        from streamdesk.ui.session.session import ChatSession
        from streamdesk.ui.transcript.history_view import HistoryTranscriptView

        view = HistoryTranscriptView(self.stack)
        view.set_dark(self.dark)
        session = ChatSession(view, self.target, keys=key_store(), parent=self)
        self.history.attach(key, session)
        self.sessions[key] = session
        self.stack.addWidget(view)
        self.sessionAdded.emit(session)
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

    def show_conversation(self, key: object) -> None:
        """Bring the transcript and figures of conversation `key` forward."""
        session = self.sessions.get(key) if isinstance(key, int) else None
        if session is None:
            return
        self.stack.setCurrentWidget(session.view)
        if session.conversation.target is not None:
            self.switcher.show(session.conversation.target)
        self.status.show_stats(session.stats)
        self._update_buttons()

    def _send(self, text: str) -> None:
        key = self.current_key()
        session = self.sessions[key]
        if self.history.actions.submit(session, text):
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
        self.composer.set_busy(self.current_session().busy)

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
