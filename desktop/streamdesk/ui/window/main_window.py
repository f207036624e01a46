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

import collections
import contextlib
import importlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore
from PySide6.QtCore import QByteArray, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from streamdesk.ui.theme import apply_theme, resolve_dark
from streamdesk.ui.window import icons
from streamdesk.ui.window.chrome import chrome_style, reading_column
from streamdesk.ui.window.composer import Composer
from streamdesk.ui.window.conversation_list import ConversationList
from streamdesk.ui.window.header import Header
from streamdesk.ui.window.keys_on_use import KeysOnUse
from streamdesk.ui.window.menus import Menus
from streamdesk.ui.window.provider_switcher import DemoServer, ProviderSwitcher
from streamdesk.ui.window.status_bar import ReplyStats, StatusBar, finished_state

if TYPE_CHECKING:  # loaded by finish_build(), after the first paint
    import asyncio

    from streamdesk.core.attachments import Attachment
    from streamdesk.core.chat import StoredTarget, Target
    from streamdesk.core.providers import Provider
    from streamdesk.core.request import Timeouts
    from streamdesk.core.store.settings import Settings
    from streamdesk.head_start import HeadStart
    from streamdesk.ui.history.bridge import HistoryBridge
    from streamdesk.ui.palette import CommandPalette, PaletteEntry
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.settings.controller import SettingsController
    from streamdesk.ui.tools.window_tools import WindowTools
    from streamdesk.ui.window.assistant_picker import AssistantPicker
    from streamdesk.ui.window.first_frame import FrameSettings
    from streamdesk.ui.window.welcome import WelcomePage

log = logging.getLogger(__name__)

SIDEBAR_WIDTH = 232  # px; the conversation column stays narrower than the content
NARROW_SIDEBAR_WIDTH = 180  # px, in windows narrower than NARROW_WINDOW
NARROW_WINDOW = 960

# What the build imports, heaviest parts first and each after what it needs, so that each is a
# part of its own (`build_step`): the first BUILD_IMPORTS_FOR_SETTINGS come before the
# settings are read, the rest before the window's parts are built.
BUILD_IMPORTS = (
    "tomllib",
    "streamdesk.core.events",
    "streamdesk.core.attachments",
    "streamdesk.core.request",
    "streamdesk.core.providers",
    "streamdesk.core.tools",
    "streamdesk.core.store.settings_model",
    "streamdesk.core.store.settings",
    "streamdesk.core.store.history.models",
    "streamdesk.core.store.history.database",
    "streamdesk.core.store.history",
    "streamdesk.core.chat.target",
    "streamdesk.core.chat.reply",
    "streamdesk.core.chat.conversation",
    "streamdesk.core.chat",
    "streamdesk.ui.transcript.highlight",
    "streamdesk.ui.transcript.code_job",
    "streamdesk.ui.transcript.layout",
    "streamdesk.ui.transcript.reply_view",
    "streamdesk.ui.session.session",
    "streamdesk.ui.history.bridge",
    "streamdesk.ui.window.welcome",
)
BUILD_IMPORTS_FOR_SETTINGS = BUILD_IMPORTS.index("streamdesk.core.store.settings") + 1


async def next_turn_of_qt() -> None:
    """Until Qt's loop has gone round once: the input, paints and timers waiting meanwhile
    have run."""
    import asyncio

    turned: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def turn() -> None:
        if not turned.done():
            turned.set_result(None)

    QtCore.QTimer.singleShot(0, turn)
    await turned


class MainWindow(QMainWindow):
    """`await start()` once the loop runs; `await shutdown()` (or close) to end cleanly.

    The window builds its parts (header, conversation list, prompt, status bar, `Menus`, the
    `ProviderSwitcher`, and after the first paint the history bridge and settings controller)
    and connects them in `_connect_signals` and `finish_build`.
    """

    settingsRequested = Signal()
    inspectorRequested = Signal()
    warmedUp = Signal()  # start-up is over: the request path is loaded too (ui/app.py)
    sessionAdded = Signal(object)  # ChatSession, once its view is in the stack
    history: HistoryBridge  # these exist once finish_build() has run
    settings_ui: SettingsController
    welcome: WelcomePage
    tools: WindowTools
    assistants: AssistantPicker

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
        self._needs_key = ""  # why the chosen provider cannot answer yet ("": it can)
        self._settings = settings
        # Deferred without settings: the frame shows what settings.toml says without loading
        # the settings module and what it imports; `finish_build` (or any use of .settings)
        # loads it.
        self._frame: FrameSettings | None = None
        if settings is None and deferred:
            from streamdesk.ui.window.first_frame import read_frame_settings

            self._frame = read_frame_settings()
        self.save_on_close = save_on_close
        self.sessions: dict[int, ChatSession] = {}
        self.keys = KeysOnUse()  # ui/app.py sets how the keychain loads
        self.head_start: HeadStart | None = None  # what the CLI started before Qt (ui/app.py)
        self._editing: ChatSession | None = None  # whose prompt the box holds for an edit
        self._demo_chats: set[int] = set()  # reopened chats whose replies came from the demo
        self._next_conversation = 1
        self._shutdown_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed: asyncio.Event | None = None
        self.warmup: asyncio.Task[None] | None = None  # the request path, loading off the loop
        self.built = False  # every part of the build has run (`build_step`)
        self._steps: collections.deque[Callable[[], object]] | None = None
        self._in_step = False
        self._starting = deferred  # until start() has run, a sent prompt is held (_send)
        self._held_prompt: str | None = None
        self._scaling: asyncio.Task[None] | None = None  # a sent prompt's images, off the loop
        self._icons_added = False
        self._palette: CommandPalette | None = None
        self.dark = resolve_dark(self._theme(), quick=deferred)
        if deferred:  # the palette before the widgets: one polish instead of a repolish
            self.apply_theme(quick=True)
        self._build()
        self.menus = Menus(self.menuBar(), self)
        self.switcher = ProviderSwitcher(
            self.header, lambda: self.settings, self.keys, self._spawn, mock_options or {}, self
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
        self.content = QStackedWidget(self)  # the transcripts, or the welcome page of an empty chat
        self.content.addWidget(self.stack)
        self.composer = Composer(self)
        self.prompt = self.composer.prompt
        self.prompt.can_submit = self._takes_prompt
        right = QWidget(self)
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.content, 1)
        column.addWidget(self.composer)
        # No arguments: the (parent) overload is matched against (Qt.Orientation, parent) first,
        # which builds QtCore.Qt's enums. Horizontal by default; the layout below reparents it.
        self.splitter = splitter = QSplitter()
        splitter.addWidget(self.conversations)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([SIDEBAR_WIDTH, 860])
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        self.conversations.setMinimumWidth(NARROW_SIDEBAR_WIDTH - 20)
        self.conversations.setMaximumWidth(2 * SIDEBAR_WIDTH)
        central = QWidget(self)
        self._rows = QVBoxLayout(central)  # header, [settings banner], conversation
        self._rows.setContentsMargins(0, 0, 0, 0)
        self._rows.setSpacing(0)
        self._rows.addWidget(self.header)
        self._rows.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        # What the user types first goes to the prompt, from the first frame on (else Qt gives
        # the focus to the first button of the tab chain, and keys typed while the window
        # starts would press it).
        self.prompt.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def _connect_signals(self) -> None:
        """Every connection between the frame's parts (the slow parts: `finish_build`)."""
        switcher, menus = self.switcher, self.menus
        self.header.providerChanged.connect(switcher.select)
        self.header.protocolChanged.connect(self._remember_protocol)
        self.conversations.newRequested.connect(self.open_new_chat)
        self.conversations.currentChanged.connect(self.show_conversation)
        self.conversations.titleChanged.connect(self._show_title)
        self.prompt.submitted.connect(self._send)
        self.prompt.stopRequested.connect(self.stop)
        self.prompt.editCancelled.connect(self.cancel_edit)
        self.composer.attachmentRefused.connect(self.say_attachment_problem)
        self.composer.attachmentsChanged.connect(self._prepare_images)
        self.header.modelChanged.connect(self._prepare_images)
        switcher.targetChanged.connect(self._prepare_images)
        # chats held with the demo go on with its new server
        switcher.demoMoved.connect(self._built_first(lambda: self.history.resolve_targets()))
        self.prompt.blocked.connect(self._say_prompt_blocked)
        menus.newChatRequested.connect(self.open_new_chat)
        menus.importRequested.connect(
            self._built_first(lambda: self.history.actions.import_dialog())
        )
        menus.settingsRequested.connect(self._built_first(self.settingsRequested.emit))
        menus.quitRequested.connect(self.close)
        menus.focusPromptRequested.connect(self.focus_prompt)
        menus.searchRequested.connect(self.conversations.focus_search)
        menus.inspectorRequested.connect(self._built_first(self.inspectorRequested.emit))
        menus.usageRequested.connect(self.open_usage)
        menus.themeChosen.connect(self.set_theme)
        menus.paletteRequested.connect(self.open_palette)
        menus.sidebarToggled.connect(self.toggle_sidebar)
        self.header.sidebarToggled.connect(self.toggle_sidebar)
        self.header.paletteRequested.connect(self.open_palette)
        menus.scenarioChosen.connect(switcher.set_next_scenario)
        switcher.scenariosAvailable.connect(menus.enable_scenarios)
        switcher.scenarioChanged.connect(self._show_scenario)

    def _built_first(self, then: Callable[[], object]) -> Callable[[], None]:
        """`then`, after the rest of the build (a shortcut pressed while the window starts)."""

        def run() -> None:
            self.finish_build()
            then()

        return run

    def _fill_header(self) -> None:
        """Providers (built-ins plus the user's profiles) into the header's pickers."""
        self.switcher.load(self.settings)
        self._frame = None

    def finish_build(self) -> None:
        """What the first paint does not need: inspector, history, first chat, settings (the
        steps `build_step` has not run yet, all at once)."""
        while self.build_step():
            pass

    def build_step(self) -> bool:
        """Run the next part of the build; False once it is complete. Start-up (ui/app.py)
        lets Qt handle input between two parts, so a key pressed meanwhile waits for one part,
        not the whole build. A part that itself asks for the build (a slot run between two
        parts) finishes the rest first; inside a part the call does nothing."""
        if self._steps is None:
            self._steps = collections.deque(self._build_parts())
        if self._in_step or not self._steps:
            return False
        self._in_step = True
        try:
            self._steps.popleft()()
        finally:
            self._in_step = False
        return bool(self._steps)

    def _build_parts(self) -> list[Callable[[], object]]:
        """The build, in parts of a few milliseconds each: the slow imports one at a time
        (`BUILD_IMPORTS`), then the window's parts."""
        imports = [partial(importlib.import_module, name) for name in BUILD_IMPORTS]
        return [
            *imports[:BUILD_IMPORTS_FOR_SETTINGS],
            self._build_settings,
            *imports[BUILD_IMPORTS_FOR_SETTINGS:],
            self._build_welcome,
            self._build_tools,
            self._build_history,
            self._open_last_chat,
            self._add_icons_in_parts,
            self._build_done,
        ]

    def _build_settings(self) -> None:
        if self._frame is not None:
            self._fill_header()
        if resolve_dark(self.settings.theme) != self.dark:  # the first frame only guessed
            self.apply_theme()
        if not self.styleSheet():  # built without a theme applied (not deferred)
            self.setStyleSheet(chrome_style(self.dark))
        self.menus.fill(self.settings.theme)

    def _build_welcome(self) -> None:
        from streamdesk.ui.window.welcome import WelcomePage

        self.welcome = WelcomePage(self.content)
        self.content.addWidget(self.welcome)
        self._set_font_size(self.settings.font_size)
        self.welcome.promptChosen.connect(self.send_example)
        self.welcome.addProviderRequested.connect(self.open_providers)

    def _build_tools(self) -> None:
        from streamdesk.ui.inspector.network_tools import install_network_tools
        from streamdesk.ui.tools.window_tools import install_tools

        install_network_tools(self)  # Ctrl+I inspector dock, View ▸ Compare
        self.tools = install_tools(self)  # MCP servers per chat, the composer's Tools button

    def _build_history(self) -> None:
        from streamdesk.ui.history.bridge import HistoryBridge
        from streamdesk.ui.settings.controller import SettingsController
        from streamdesk.ui.window.assistant_picker import install_assistants

        self.history = HistoryBridge(self)  # stored conversations, persistence, search
        # Ctrl+, dialog, banners, live apply; it sets each transcript's font as it is added,
        # before the chat opened next renders its messages
        self.settings_ui = SettingsController(
            self, self.switcher, self.stack, lambda: self.settings, self.apply_settings
        )
        self._rows.insertWidget(1, self.settings_ui.banner)  # under the header
        self.composer.refusals_shown_in(self.settings_ui.banner)
        self.sessionAdded.connect(self.settings_ui.watch)
        self.assistants = install_assistants(self)  # header and welcome page pickers

    def _build_done(self) -> None:
        self.built = True
        self.stack.removeWidget(self._placeholder)
        self._placeholder.deleteLater()
        self.settingsRequested.connect(self.settings_ui.open_dialog)
        self.header.providerChanged.connect(self.settings_ui.clear_failure)
        if self.settings_warning:
            self.settings_ui.show_settings_warning(self.settings_warning)
        self.switcher.keyMissing.connect(self._say_key_missing)
        self.switcher.offlineChanged.connect(self._update_welcome)
        self.header.providerChanged.connect(self._update_welcome)
        self.header.modelChanged.connect(self._update_welcome)
        self._update_welcome()
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
        self._needs_key = why
        self._update_welcome()

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
        self._set_font_size(settings.font_size)
        if self.built:
            self.assistants.refresh()  # Settings ▸ Assistants may have changed the list

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
        """Said until the request that uses it is sent (or the choice is undone)."""
        self.menus.check_scenario(name)
        if self.switcher.next_scenario:
            self.status.note(f"Next request uses mock scenario {name!r}")
        else:
            self.status.clear_note()

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
    def mock(self) -> DemoServer | None:
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
        """Build what is left, part by part, handling input between two parts; then find the
        key of the active provider, and without one start the offline demo."""
        while self.build_step():
            await next_turn_of_qt()
        if self._shutdown_task is not None:  # closed while it was being built: nothing to start
            return
        import asyncio

        from streamdesk.core.providers import MOCK_PROVIDER_ID

        # The reopened last chat's provider when it is one of the list (its key is looked up
        # now); else (a host no profile names any more) the saved choice.
        switcher = self.switcher
        shown = switcher.provider
        saved = switcher.provider_by_id(self.settings.active_provider)
        listed = switcher.provider_by_id(shown.id) == shown
        chosen = shown if listed or saved is None else saved
        head = await self.head_start.result() if self.head_start is not None else None
        if self._shutdown_task is not None:  # closed meanwhile: its shutdown ends the child
            return
        if head is not None:
            self.keys.take_early(head.keys)
            if head.demo is not None:
                switcher.adopt_demo(head.demo)
        if head is None or not (chosen.id == MOCK_PROVIDER_ID or head.keys.knows(chosen.id)):
            # Not beside the build: a thread running Python makes each of the build's
            # GIL-releasing calls wait for it.
            await asyncio.to_thread(self.keys.load)
        await switcher.use(chosen, at_start=True)
        self.history.resolve_targets()  # a chat reopened before the demo ran goes on with it
        provider = switcher.provider
        if self.header.provider_id() != provider.id:  # the header shows what is used
            self.header.show_target(provider.id, provider.default_model, self.header.protocol())
        self._starting = False
        held, self._held_prompt = self._held_prompt, None
        if held is not None:
            self.status.clear_note()
            self._send(held)
        # The request path loads once the provider is resolved, not beside it: on the threads
        # that resolve it, its imports would only take turns with theirs. Not once the window
        # was closed while it started: its shutdown has ended the window's tasks.
        if self._shutdown_task is None:
            self.warmup = self._spawn(self._prewarm())

    async def _prewarm(self) -> None:
        """Load the keychain (when the head start answered for it), import the request path
        and build TLS contexts in a worker thread: work the first Send would otherwise do on
        the loop (benchmarks/window_lag.py); then the common code lexers. Not during the
        build: a thread running Python beside it makes every call that lets the GIL go (each
        SQLite read, each Qt call) wait for it to come back, which slowed the build
        measurably (benchmarks/startup.py)."""
        import asyncio

        from streamdesk.core.chat import prewarm
        from streamdesk.ui.transcript.highlight import COMMON, warm

        await asyncio.to_thread(self.keys.load)  # the head start's answers end here
        try:
            await asyncio.to_thread(prewarm)
        except Exception:  # a missing optional module must not break start-up
            log.exception("warming the request path failed")
        warm(COMMON)  # a lexer's first use compiles its regexes: off the GUI thread, now
        self.warmedUp.emit()

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
        await self.tools.aclose()  # stops the MCP servers
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.composer.attachments is not None:
            await self.composer.attachments.aclose()  # their scaling, off the loop
        await self.switcher.aclose()
        if self.head_start is not None:  # whatever it still does (its demo ended above)
            await self.head_start.close()
        await self.history.actions.finish()  # a delete, undo or import writing the history
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
        from streamdesk.ui.session.session import ChatSession
        from streamdesk.ui.transcript.history_view import HistoryTranscriptView

        view = HistoryTranscriptView(self.stack)
        view.set_dark(self.dark)
        # Connected before the history's edit, which puts the prompt in the box: what the user
        # was typing is kept and comes back when the edit ends.
        view.editRequested.connect(lambda _key: self.prompt.hold_draft())
        view.linkHovered.connect(self.status.show_link)
        view.linkFailed.connect(self.status.say)
        session = ChatSession(view, self.target, keys=self.keys, parent=self)
        self.history.attach(key, session)
        view.editRequested.connect(lambda k, s=session: self._show_editing(s, k))
        self.sessions[key] = session
        self.stack.addWidget(view)
        self.sessionAdded.emit(session)
        session.statsChanged.connect(lambda stats, k=key: self._on_stats(k, stats))
        session.busyChanged.connect(lambda busy, k=key: self._on_busy(k, busy))
        session.started.connect(lambda _reply, k=key: self._on_started(k))
        if hasattr(view, "copyRequested"):
            view.copyRequested.connect(self._copy)
        if not listed:
            self.conversations.add_conversation(key, session.title)
        self.focus_prompt()
        return session

    def open_new_chat(self) -> ChatSession:
        """Ctrl+N and "New chat": bring forward an empty chat if one is listed, else add one."""
        self.finish_build()
        listed = self.conversations.keys()
        stored = self.history.cid_of_key
        for key, session in self.sessions.items():
            if key in listed and key not in stored and not session.turns and not session.busy:
                self.conversations.select(key)
                self.focus_prompt()
                return session
        return self.new_chat()

    def _open_last_chat(self) -> None:
        """At start, the conversation used last (a new chat when the history is empty)."""
        last = self.history.last_used
        key = None if last is None else self.history.key_of(last)
        if key is None:
            self.new_chat()
            return
        self.conversations.select(key)  # the history opens it
        if key not in self.sessions:  # it could not be opened: never start without a chat
            self.new_chat()

    def current_key(self) -> int:
        key = self.conversations.current_key()
        return int(key) if key is not None else next(iter(self.sessions))

    def current_session(self) -> ChatSession:
        return self.sessions[self.current_key()]

    def show_conversation(self, key: object) -> None:
        """Bring the transcript and figures of conversation `key` forward."""
        if not isinstance(key, int) or key not in self.sessions:
            return
        session = self.sessions[key]
        if self._editing is not None and self._editing is not session:
            self.cancel_edit()  # the box is shared: the edit belongs to the chat left
        self.stack.setCurrentWidget(session.view)
        if session.conversation.target is not None:
            self.switcher.show(session.conversation.target)
        if session.stats.state == "Idle" and session.turns:
            session.stats = self._stored_stats(key, session)
        self._show_stats(key)
        self._update_buttons()
        self._update_welcome()
        self._show_title(key, self.conversations.title(key))

    def _show_title(self, key: object, title: str) -> None:
        """The window's title names the chat in front (task switchers show it)."""
        if key == self.conversations.current_key():
            self.setWindowTitle(f"{title} — Streamdesk" if title else "Streamdesk")

    def _stored_stats(self, key: int, session: ChatSession) -> ReplyStats:
        """The figures of a reopened conversation's last reply, as they were when it ended."""
        from streamdesk.core.providers import MOCK_PROVIDER_ID

        turn = session.turns[-1]
        reply = turn.reply
        figures = reply.figures()
        timings: dict[str, Any] = {}
        store, cid = self.history.store, self.history.cid_of_key.get(key)
        if store is not None and turn.reply_id is not None and cid is not None:
            try:
                timings = dict(store.get_message(turn.reply_id).timings or {})
                if store.get_conversation(cid).provider == MOCK_PROVIDER_ID:
                    self._demo_chats.add(key)
            except Exception:  # figures are a courtesy: a missing row must not stop the switch
                log.exception("could not read the stored timings")
        ttft = figures.ttft if figures.ttft is not None else timings.get("ttft")
        speed = figures.tokens_per_s or timings.get("tokens_per_s")
        from dataclasses import replace

        stored = replace(
            figures,
            ttft=ttft if isinstance(ttft, (int, float)) else None,
            tokens_per_s=speed if isinstance(speed, (int, float)) else None,
        )
        state = finished_state(reply.status.value, reply.finish_reason)
        return ReplyStats.of(state, stored, session.conversation.cost())

    def _show_stats(self, key: int) -> None:
        """The figures of conversation `key`; the offline demo's cost no money."""
        session = self.sessions[key]
        target = session.conversation.target
        demo = key in self._demo_chats or (target is not None and target.is_mock)
        self.status.show_stats(session.stats, demo=demo)

    def send_example(self, prompt: str) -> None:
        """A welcome card was clicked: send its prompt as if typed."""
        self.prompt.setPlainText(prompt)
        self.prompt.submit()

    def _update_welcome(self, *_: object) -> None:
        """The welcome page stands in for the transcript of an empty chat."""
        if not self.built or not self.sessions:
            return
        session = self.current_session()
        empty = not session.turns and not session.busy
        if empty:
            provider = self.switcher.provider
            self.welcome.set_source(
                demo=self.offline,
                provider=provider.name,
                model=self.header.model(),
                problem=self._needs_key,
            )
        self.content.setCurrentWidget(self.welcome if empty else self.stack)

    def _show_editing(self, session: ChatSession, key: object) -> None:
        """The history took prompt `key` into the box to edit: the box and the prompt say so."""
        editing = self.history.actions.editing
        if editing is None or editing[0] is not session:  # refused: a reply is streaming
            return
        if self._editing is not None and self._editing is not session:
            self._editing.view.mark_editing(None)
        self._editing = session
        session.view.mark_editing(key)
        self.prompt.begin_edit()

    def cancel_edit(self) -> None:
        """Esc or Cancel while editing a prompt: it stays as it was, the draft comes back."""
        self.history.actions.editing = None
        self.status.clear_note()  # "Editing a prompt: Enter resends it"
        self._leave_edit()

    def _leave_edit(self) -> None:
        session, self._editing = self._editing, None
        if session is not None:
            session.view.mark_editing(None)
        self.prompt.end_edit()

    def _takes_prompt(self) -> bool:
        """Enter sends now, or once the window has started (one prompt is held till then)."""
        if self._starting:
            return self._held_prompt is None
        if self._scaling is not None:
            return False
        return bool(self.sessions) and not self.current_session().busy

    def _say_prompt_blocked(self) -> None:
        if self._starting:
            self.statusBar().showMessage("A prompt is already waiting for the start.", 4000)
        elif self._scaling is not None:
            self.statusBar().showMessage("A prompt is waiting for its images.", 4000)
        else:
            self.statusBar().showMessage("A reply is still streaming; Esc stops it.", 4000)

    def _send(self, text: str) -> None:
        if self._starting:  # Enter pressed while the window was still starting
            self._held_prompt = text
            self.status.note("Sending as soon as Streamdesk has started…")
            return
        key = self.current_key()
        session = self.sessions[key]
        resent = self.history.actions.submit(session, text)
        if self.prompt.editing:  # resent, or sent as a new prompt if the edited one is gone
            self._leave_edit()
        if resent:
            return
        outgoing = self._with_attachments(key, session, text)
        if outgoing is not None:
            self._send_with(key, session, text, outgoing)

    def _send_with(
        self,
        key: int,
        session: ChatSession,
        text: str,
        outgoing: tuple[str, tuple[Attachment, ...]],
    ) -> None:
        if not session.turns and not session.named:
            title = " ".join(text.split())
            session.title = title[:40] + ("…" if len(title) > 40 else "")
            self.conversations.set_title(key, session.title)
        session.send(*outgoing)
        if self.composer.attachments is not None:
            self.composer.attachments.clear()

    def _with_attachments(
        self, key: int, session: ChatSession, text: str
    ) -> tuple[str, tuple[Attachment, ...]] | None:
        """The prompt with the files waiting in the composer: text files inlined, images as
        this chat's model is sent them. None when they cannot go to it (a model without vision):
        the banner says why, the prompt is back in the box and nothing is sent; None too when an
        image must be downscaled first: that runs on a worker thread, and the prompt goes when
        it is done (`_send_scaled`), Enter held meanwhile."""
        from streamdesk.core.attachments import AttachmentRefused

        tray = self.composer.attachments
        if tray is None or not tray.has_files:
            return text, ()
        target = self.switcher.target(take_scenario=False)  # the request takes it (debug)
        try:
            outgoing = tray.outgoing_now(text, target)
        except AttachmentRefused as exc:
            self._refuse_attachments(text, str(exc))
            return None
        if outgoing is None:
            self.status.note("Preparing the images…")
            ready = tray.outgoing(text, target)  # with the pastes being encoded now
            self._scaling = self._spawn(self._send_scaled(key, session, text, ready))
        return outgoing

    def _prepare_images(self) -> None:
        """Downscale the waiting images for where the next request goes, before Enter."""
        tray = self.composer.attachments
        if tray is not None and tray.has_files and self.built:
            tray.prepare(lambda: self.switcher.target(take_scenario=False))

    async def _send_scaled(
        self,
        key: int,
        session: ChatSession,
        text: str,
        ready: Awaitable[tuple[str, tuple[Attachment, ...]]],
    ) -> None:
        """Send `text` once its images are `ready` (encoded, downscaled). It comes back to the
        box (`_give_back`) when one cannot be, when preparing them failed unexpectedly (logged),
        or when the chat was closed or began another reply meanwhile."""
        from streamdesk.core.attachments import AttachmentRefused

        try:
            outgoing = await ready
        except AttachmentRefused as exc:
            self._refuse_attachments(text, str(exc))
            return
        except Exception as exc:
            log.exception("the images of a prompt could not be prepared")
            why = f"The images could not be prepared (an unexpected {type(exc).__name__}, logged)."
            self._refuse_attachments(text, why + " The prompt was not sent.")
            return
        finally:
            self._scaling = None
            self.status.clear_note()
        if self.sessions.get(key) is session and not session.busy:
            self._send_with(key, session, text, outgoing)
        else:
            self._give_back(text)
            said = "Not sent: its chat was closed or began another reply meanwhile."
            self.statusBar().showMessage(said, 6000)

    def _refuse_attachments(self, text: str, reason: str) -> None:
        self.say_attachment_problem(reason)
        self._give_back(text)

    def _give_back(self, text: str) -> None:
        """Put a prompt that was not sent back in the box without losing what was typed since:
        an empty box takes it; a box holding something else keeps it, the prompt put above it
        (the order they were written in), so the cursor stays where the user was typing and one
        undo takes the prompt out again."""
        typed = self.prompt.toPlainText()
        if typed == text:
            return
        if not typed.strip():
            self.prompt.setPlainText(text)
            self.prompt.moveCursor(self.prompt.textCursor().MoveOperation.End)
            return
        self.prompt.document().rootFrame().firstCursorPosition().insertText(text + "\n\n")

    def say_attachment_problem(self, text: str) -> None:
        """A file that cannot be attached or sent: the reason, in the banner under the header."""
        self.settings_ui.banner.show_message(text)

    def stop(self) -> None:
        self.current_session().stop()

    def _on_stats(self, key: int, _stats: ReplyStats) -> None:
        if key == self.current_key():
            self._show_stats(key)

    def _on_started(self, key: int) -> None:
        """A request went out: lines about the next request (or an edit) are stale now."""
        self._demo_chats.discard(key)  # the new reply's own target decides
        if key == self.current_key():
            self.status.clear_note()
            self._update_welcome()

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
        self.setStyleSheet(chrome_style(self.dark))
        icons.set_dark(self.dark)  # repaints the icons drawn so far (none before add_icons)
        for session in self.sessions.values():
            with contextlib.suppress(AttributeError):
                session.view.set_dark(self.dark)

    def on_system_scheme_changed(self, *_: object) -> None:
        if self._theme() == "system":
            self.apply_theme()

    # -- chrome ---------------------------------------------------------------------------

    def add_icons(self) -> None:
        """One icon set for the whole chrome, drawn for the current theme (once)."""
        for add in self._icon_parts():
            add()

    def _icon_parts(self) -> list[Callable[[], None]]:
        """Each part's `add_icons`, once (an empty list after the first call)."""
        if self._icons_added:
            return []
        self._icons_added = True
        parts = (self.header, self.composer, self.conversations, self.menus, self.welcome)
        return [part.add_icons for part in parts]

    def _add_icons_in_parts(self) -> None:
        """The icons as build parts of their own, one part of the chrome each: adding and
        first drawing them is the longest stretch of the build."""
        assert self._steps is not None
        self._steps.extendleft(reversed(self._icon_parts()))

    def _set_font_size(self, points: int) -> None:
        """The transcript's body size for the prompt box; its column for the box and welcome."""
        self.prompt.set_point_size(points)
        width = reading_column(self.prompt.font())
        self.composer.set_column(width)
        self.welcome.set_column(width)

    def toggle_sidebar(self) -> None:
        """Ctrl+B: the conversation list out of the way (small windows) and back."""
        self.conversations.setVisible(self.conversations.isHidden())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Narrow windows give the content room: the sidebar shrinks to its narrow width."""
        super().resizeEvent(event)
        sizes = self.splitter.sizes()
        narrow = event.size().width() < NARROW_WINDOW
        if narrow and sizes[0] > NARROW_SIDEBAR_WIDTH:
            self.splitter.setSizes([NARROW_SIDEBAR_WIDTH, sum(sizes) - NARROW_SIDEBAR_WIDTH])
        elif not narrow and event.oldSize().width() < NARROW_WINDOW and sizes[0] < SIDEBAR_WIDTH:
            self.splitter.setSizes([SIDEBAR_WIDTH, sum(sizes) - SIDEBAR_WIDTH])

    def open_providers(self) -> None:
        """Settings ▸ Providers (the welcome page's "Add a provider")."""
        dialog = self.settings_ui.open_dialog()
        dialog.tabs.setCurrentWidget(dialog.providers)

    def open_usage(self) -> None:
        """View ▸ Usage: tokens and cost of the stored replies per day, provider and model."""
        from streamdesk.ui.usage.dialog import open_usage

        self.finish_build()
        if self.history.store is None:
            self.statusBar().showMessage("The history is off: there is no usage to show.", 4000)
            return
        open_usage(self, self.history.store)

    @property
    def palette_popup(self) -> CommandPalette:
        """The command palette, made on first use (Ctrl+K): nothing of it is on screen before."""
        if self._palette is None:
            from streamdesk.ui.palette import CommandPalette

            self._palette = CommandPalette(self.content)
        return self._palette

    def open_palette(self) -> None:
        """Ctrl+K: every command, conversation and model in one filterable list."""
        self.finish_build()
        self.palette_popup.open(self.palette_entries())

    def palette_entries(self) -> list[PaletteEntry]:
        from functools import partial

        from PySide6.QtGui import QKeySequence

        from streamdesk.ui.palette import PaletteEntry

        native = QKeySequence.SequenceFormat.NativeText
        entries = [
            PaletteEntry("Action", name, act.trigger, act.shortcut().toString(native))
            for name, act in self.menus.commands()
            if name != "Command palette"
        ]
        current = self.conversations.current_key()
        if current is not None:
            title = self.conversations.title(current)
            for group in self.conversations.chat_commands(current):
                for name, run in group:
                    entries.append(PaletteEntry("This chat", name.rstrip("…"), run, title))
        listed = self.conversations.keys()
        for key in listed:
            entries.append(
                PaletteEntry("Chat", self.conversations.title(key), partial(self._go_to, key))
            )
        for provider in self.header.providers():
            models = [m.id for m in provider.models]
            if provider.default_model and provider.default_model not in models:
                models.insert(0, provider.default_model)
            for model in models:
                entries.append(
                    PaletteEntry(
                        "Model",
                        model,
                        partial(self.header.choose, provider.id, model),
                        provider.name,
                    )
                )
        for assistant in self.assistants.assistants():  # the model it switches to, if any
            choose = partial(self.assistants.choose, assistant.name)
            entries.append(PaletteEntry("Assistant", assistant.name, choose, assistant.model))
        return entries

    def _go_to(self, key: int) -> None:
        self.conversations.select(key)
        self.focus_prompt()
