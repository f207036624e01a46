"""The main window's menu bar: File, View (with the theme) and the Debug menu of mock faults.

`Menus` only builds actions and reports what the user chose through signals; the window decides
what each one does. The first frame gets the menu titles only: the actions (QKeySequence's
overloads build QtCore.Qt, ~45 ms) come with `fill()` after the first paint, and the mock
scenarios (importing the mock package costs ~70 ms) only when the Debug menu opens or something
asks for them (`scenario_actions`, `commands()`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

from streamdesk.ui.theme import THEME_CHOICES


class Menus(QObject):
    """Emits one signal per menu command; `themeChosen(choice)` and `scenarioChosen(name)`."""

    newChatRequested = Signal()
    importRequested = Signal()
    settingsRequested = Signal()
    quitRequested = Signal()
    focusPromptRequested = Signal()
    searchRequested = Signal()
    inspectorRequested = Signal()
    usageRequested = Signal()
    paletteRequested = Signal()
    sidebarToggled = Signal()
    themeChosen = Signal(str)
    scenarioChosen = Signal(str)

    def __init__(self, bar: QMenuBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.file_menu = bar.addMenu("&File")
        self.view_menu = bar.addMenu("&View")
        self.debug_menu = bar.addMenu("&Debug")
        self.debug_menu.menuAction().setEnabled(False)
        self.debug_menu.aboutToShow.connect(self.add_scenarios)
        self._scenario_actions: dict[str, QAction] = {}
        self._scenario_group: QActionGroup | None = None
        self._checked_scenario: str | None = None
        self._icons: dict[QAction, str] = {}  # filled by `fill`, drawn by `add_icons`

    def fill(self, theme: str) -> None:
        """The File and View actions, with `theme` checked in View ▸ Theme."""
        file_menu = self.file_menu
        new = self._action(file_menu, "&New chat", "Ctrl+N", self.newChatRequested)
        imp = self._action(file_menu, "&Import…", "Ctrl+Shift+O", self.importRequested)
        settings = self._action(file_menu, "&Settings…", "Ctrl+,", self.settingsRequested)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.quitRequested)
        view = self.view_menu
        palette = self._action(view, "&Command palette…", "Ctrl+K", self.paletteRequested)
        sidebar = self._action(view, "Show or hide the si&debar", "Ctrl+B", self.sidebarToggled)
        view.addSeparator()
        self._action(view, "Focus &prompt", "Ctrl+L", self.focusPromptRequested)
        search = self._action(view, "&Search", "Ctrl+F", self.searchRequested)
        inspector = self._action(view, "&Inspector", "Ctrl+I", self.inspectorRequested)
        self._action(view, "&Usage…", "Ctrl+Shift+U", self.usageRequested)
        self._icons = {
            new: "mdi6.chat-plus-outline",
            imp: "mdi6.import",
            settings: "mdi6.cog-outline",
            palette: "mdi6.magnify",
            sidebar: "mdi6.dock-left",
            search: "mdi6.text-box-search-outline",
            inspector: "mdi6.console-line",
        }
        theme_menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        for choice in THEME_CHOICES:
            act = theme_menu.addAction(choice.capitalize())
            act.setCheckable(True)
            act.setChecked(choice == theme)
            act.triggered.connect(lambda _=False, c=choice: self.themeChosen.emit(c))
            group.addAction(act)

    def add_icons(self) -> None:
        """The icon set on the actions (after the first paint, like the rest of the chrome's)."""
        from streamdesk.ui.window.icons import bind

        for act, name in self._icons.items():
            bind(act.setIcon, name)

    @property
    def scenario_actions(self) -> dict[str, QAction]:
        """The Debug menu's action of each mock scenario by name (built on first use)."""
        self.add_scenarios()
        return self._scenario_actions

    def add_scenarios(self) -> None:
        """One checkable Debug action per mock fault scenario (once)."""
        if self._scenario_group is not None:
            return
        self._scenario_group = QActionGroup(self)
        from streamdesk.mock.scenarios import SCENARIOS

        for name, description in SCENARIOS.items():
            act = self.debug_menu.addAction(name)
            act.setCheckable(True)
            act.setChecked(name == self._checked_scenario)
            act.setToolTip(description)
            act.setStatusTip(f"Next request: {description}")
            act.triggered.connect(lambda _=False, n=name: self.scenarioChosen.emit(n))
            self._scenario_group.addAction(act)
            self._scenario_actions[name] = act
        self.debug_menu.setToolTipsVisible(True)

    def enable_scenarios(self, enabled: bool) -> None:
        """The Debug menu is usable only while the mock serves the next request."""
        self.debug_menu.menuAction().setEnabled(enabled)

    def check_scenario(self, name: str | None) -> None:
        """Show `name` as the chosen scenario (None: none), now or when the actions are built."""
        self._checked_scenario = name
        for scenario, act in self._scenario_actions.items():
            act.setChecked(scenario == name)

    def _action(
        self,
        menu: QMenu,
        text: str,
        shortcut: str | QKeySequence.StandardKey,
        signal: SignalInstance,
    ) -> QAction:
        act = QAction(text, self.parent())  # the window's: its shortcuts work window-wide
        act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(lambda _=False: signal.emit())
        menu.addAction(act)
        return act

    def commands(self) -> list[tuple[str, QAction]]:
        """Every enabled command of the menus, as ("View ▸ Theme ▸ Dark", action)."""
        found: list[tuple[str, QAction]] = []

        def walk(menu: QMenu, path: str) -> None:
            if not menu.menuAction().isEnabled():
                return
            for act in menu.actions():
                sub = act.menu()
                name = act.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
                if isinstance(sub, QMenu):
                    walk(sub, f"{path}{name} ▸ ")
                elif not act.isSeparator() and act.isEnabled() and name:
                    found.append((f"{path}{name}".rstrip("…"), act))

        walk(self.file_menu, "")
        walk(self.view_menu, "")
        if self.debug_menu.menuAction().isEnabled():
            self.add_scenarios()
        walk(self.debug_menu, "Mock fault ▸ ")
        return found
