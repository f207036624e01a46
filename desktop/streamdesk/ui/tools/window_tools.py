"""The window's tools: one `ToolService` for its conversations, a `SessionTools` for each, and
the composer's Tools button whose menu enables MCP servers for the current conversation.

A server switched on starts at once (its tool count shows in the menu the next time it
opens); one that cannot start says why in the banner above the chat, with its log a click
away.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from streamdesk.ui.plain_text import plain_tooltip
from streamdesk.ui.tools.service import ToolService
from streamdesk.ui.tools.session_tools import SessionTools

if TYPE_CHECKING:
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.window.main_window import MainWindow


def tool_count_text(count: int) -> str:
    return f"{count} tool{'s' if count != 1 else ''}"


class ToolsMenu(QMenu):
    """Checkable servers for the current conversation, with their tool counts."""

    def __init__(self, tools: WindowTools, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.refill)

    def refill(self) -> None:
        self.clear()
        session_tools = self.tools.current()
        service = self.tools.service
        configs = service.configs()
        title = self.addAction("Tools for this chat")
        title.setEnabled(False)
        if not configs:
            none = self.addAction("No MCP servers are configured")
            none.setEnabled(False)
        enabled = set(session_tools.enabled()) if session_tools is not None else set()
        for config in configs:
            listed = service.tools_of(config.name)
            problem = service.problem(config.name)
            if problem:
                note = "could not start"
            elif listed is not None:
                note = tool_count_text(len(listed))
            else:
                note = "starts when enabled"
            action = QAction(f"{config.name}  —  {note}", self)
            action.setCheckable(True)
            action.setChecked(config.name in enabled)
            action.setEnabled(session_tools is not None)
            tip = problem or "\n".join(
                f"{t.name}: {t.description.strip().splitlines()[0] if t.description else ''}"
                for t in listed or ()
            )
            action.setToolTip(plain_tooltip(tip or config.where))
            action.setData(config.name)
            action.toggled.connect(lambda on, name=config.name: self.tools.set_enabled(name, on))
            self.addAction(action)
        self.addSeparator()
        manage = self.addAction("MCP servers…")
        manage.triggered.connect(self.tools.open_settings)


class WindowTools(QObject):
    """Tools for every conversation of `window`."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.service = ToolService(lambda: window.settings, parent=self)
        self._tasks: set[asyncio.Task[object]] = set()
        self.button = QToolButton(window.composer)
        self.button.setObjectName("toolsButton")
        self.button.setText("⚒")
        self.button.setToolTip("Tools (MCP servers) for this chat")
        self.button.setAutoRaise(True)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0; }")
        self.menu = ToolsMenu(self, self.button)
        self.button.setMenu(self.menu)
        window.composer.add_tools_button(self.button)
        self.service.serverFailed.connect(self._say_failed)
        for session in window.sessions.values():
            self.attach(session)
        window.sessionAdded.connect(self.attach)
        window.stack.currentChanged.connect(lambda _i: self.update_button())
        QTimer.singleShot(0, self, self._add_icon)

    def _add_icon(self) -> None:
        from streamdesk.ui.window.icons import bind

        bind(self.button.setIcon, "mdi6.tools")
        self.update_button()

    def attach(self, session: ChatSession) -> None:
        session.tools = SessionTools(session, self.service)

    def current(self) -> SessionTools | None:
        """The current chat's tools (None before the first chat is open, as the window starts,
        and while the shown chat is being deleted: still current in the list, its session
        gone)."""
        if not self.window.sessions:
            return None
        session = self.window.sessions.get(self.window.current_key())
        return None if session is None else session.tools

    def set_enabled(self, name: str, on: bool) -> None:
        """Enable server `name` for the current conversation; enabling starts it now."""
        session_tools = self.current()
        if session_tools is None:
            return
        session_tools.set_enabled(name, on)
        self.update_button()
        if on:
            task = asyncio.get_running_loop().create_task(self.service.start(name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def update_button(self) -> None:
        """The button shows how many servers the current chat uses (none: just the icon)."""
        session_tools = self.current()
        count = len(session_tools.enabled()) if session_tools is not None else 0
        self.button.setText(str(count) if count else "")
        self.button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon
            if count
            else Qt.ToolButtonStyle.ToolButtonIconOnly
        )

    def _say_failed(self, name: str, message: str) -> None:
        """The failure, with its log when the server wrote one (a server that never started,
        such as one whose URL cannot be used, has none: its settings then)."""
        banner = self.window.settings_ui.banner
        path = self.service.log_path(name)
        if not path.exists():
            banner.show_message(message, "Open Settings ▸ MCP servers", self.open_settings)
            return
        banner.show_message(
            message, "Open log", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        )

    def open_settings(self) -> None:
        """Settings, on its MCP servers page."""
        dialog = self.window.settings_ui.open_dialog()
        dialog.tabs.setCurrentWidget(dialog.mcp)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.service.aclose()


def install_tools(window: MainWindow) -> WindowTools:
    return WindowTools(window)
