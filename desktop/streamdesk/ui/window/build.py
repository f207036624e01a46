"""The main window's frame and menus (a mixin of `MainWindow`, split out of window.py).

Only the modules the first frame already needs are imported here: the menu actions, the debug
scenarios and everything else slow are added after the first paint (`finish_build`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from streamdesk.ui.theme import THEME_CHOICES
from streamdesk.ui.window.conversation_list import ConversationList
from streamdesk.ui.window.header import Header
from streamdesk.ui.window.prompt_box import PromptBox
from streamdesk.ui.window.status_bar import StatusBar


class WindowBuild:
    """Layout and menus of `MainWindow`; the methods run on the window itself."""

    if TYPE_CHECKING:  # the attributes are MainWindow's

        def __getattr__(self, name: str) -> Any: ...

    # -- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.header = Header(self)
        if self._frame is not None:  # the providers come with the settings (_fill_header)
            self.header.set_protocol(self._frame.protocol)
        self.header.providerChanged.connect(self._on_provider_changed)
        self.header.protocolChanged.connect(self._on_protocol_changed)
        self.conversations = ConversationList(self)
        self.conversations.newRequested.connect(self.new_chat)
        self.conversations.currentChanged.connect(self._show_conversation)
        self.stack = QStackedWidget(self)
        self._placeholder = QWidget(self.stack)  # the empty transcript's colour until it exists
        self._placeholder.setBackgroundRole(QPalette.ColorRole.Base)
        self._placeholder.setAutoFillBackground(True)
        self.stack.addWidget(self._placeholder)
        self.prompt = PromptBox(self)
        self.prompt.can_submit = lambda: bool(self.sessions) and not self.current_session().busy
        self.prompt.submitted.connect(self._send)
        self.prompt.stopRequested.connect(self.stop)
        self.prompt.blocked.connect(
            lambda: self.statusBar().showMessage("A reply is still streaming; Esc stops it.", 4000)
        )
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.clicked.connect(self.prompt.submit)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop the reply (Esc); what arrived is kept")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        composer = QFrame(self)
        composer.setObjectName("composer")
        row = QHBoxLayout(composer)
        row.setContentsMargins(12, 8, 12, 8)
        row.addWidget(self.prompt, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        right = QWidget(self)
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.stack, 1)
        column.addWidget(composer)
        # No arguments: the (parent) overload is matched against (Qt.Orientation, parent) first,
        # which builds QtCore.Qt (~45 ms). Horizontal by default; the layout below reparents it.
        splitter = QSplitter()
        splitter.addWidget(self.conversations)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 860])
        splitter.setChildrenCollapsible(False)
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.header)
        outer.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)

    def _build_menus(self) -> None:
        """The menu titles only: their actions (QKeySequence overloads build QtCore.Qt,
        ~45 ms) are added by `_fill_menus` after the first paint."""
        bar = self.menuBar()
        self._file_menu = bar.addMenu("&File")
        self._view_menu = bar.addMenu("&View")
        self.debug_menu = bar.addMenu("&Debug")
        self.debug_menu.menuAction().setEnabled(False)
        self.scenario_actions: dict[str, QAction] = {}

    def _fill_menus(self) -> None:
        file_menu = self._file_menu
        self._action(file_menu, "&New chat", "Ctrl+N", self.new_chat)
        self._action(file_menu, "&Import…", "Ctrl+Shift+O", lambda: self.history.import_dialog())
        self._action(file_menu, "&Settings…", "Ctrl+,", self.settingsRequested.emit)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        view = self._view_menu
        self._action(view, "Focus &prompt", "Ctrl+L", self.focus_prompt)
        self._action(view, "&Search", "Ctrl+F", self.conversations.focus_search)
        self._action(view, "&Inspector", "Ctrl+I", self.inspectorRequested.emit)
        theme_menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        for choice in THEME_CHOICES:
            act = theme_menu.addAction(choice.capitalize())
            act.setCheckable(True)
            act.setChecked(choice == self.settings.theme)
            act.triggered.connect(lambda _=False, c=choice: self.set_theme(c))
            group.addAction(act)

    def _build_debug_menu(self) -> None:
        """Mock fault scenarios (importing the mock package costs ~70 ms: after first paint)."""
        self._scenario_group = QActionGroup(self)
        from streamdesk.mock.scenarios import SCENARIOS

        for name, description in SCENARIOS.items():
            act = self.debug_menu.addAction(name)
            act.setCheckable(True)
            act.setToolTip(description)
            act.setStatusTip(f"Next request: {description}")
            act.triggered.connect(lambda _=False, n=name: self.set_next_scenario(n))
            self._scenario_group.addAction(act)
            self.scenario_actions[name] = act
        self.debug_menu.setToolTipsVisible(True)

    def _action(self, menu: Any, text: str, shortcut: Any, slot: Any) -> QAction:
        act = QAction(text, self)
        act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(lambda _=False: slot())
        menu.addAction(act)
        return act
