"""A window's network tools: Ctrl+I toggles the inspector dock, View ▸ Compare opens the
compare window. Both load their modules on first use: the window's start needs neither."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from streamdesk.ui.inspector.dock import InspectorDock
    from streamdesk.ui.window.main_window import MainWindow

DOCK_SHARE = 0.35  # of the window's height, when the dock first opens
DOCK_MIN_HEIGHT = 220


class NetworkTools(QObject):
    """One window's network tools: the inspector dock (Ctrl+I; made on first use, at the
    bottom) and View ▸ Compare (the compare window)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)  # the window keeps it alive
        self.setObjectName("networkTools")
        self.window_ = window
        self.inspector: InspectorDock | None = None
        self.compare_action: QAction | None = None
        window.inspectorRequested.connect(self.toggle_inspector)
        view_menu = next(
            (a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View"),
            None,
        )
        if isinstance(view_menu, QMenu):
            act = QAction("&Compare (models, providers, SSE and WebSocket)…", window)
            act.setShortcut(QKeySequence("Ctrl+Shift+B"))
            act.triggered.connect(self.open_compare)
            view_menu.addAction(act)
            self.compare_action = act

    def toggle_inspector(self) -> None:
        """Create the dock on first use and show it, or show or hide it."""
        dock = self.inspector
        if dock is not None:
            dock.setVisible(not dock.isVisible())
            return
        from streamdesk.ui.inspector.dock import InspectorDock

        window = self.window_
        dock = self.inspector = InspectorDock(window)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.show()
        dock.raise_()
        # About a third of the window: the transcript and the chat list stay usable.
        height = max(DOCK_MIN_HEIGHT, int(window.height() * DOCK_SHARE))
        window.resizeDocks([dock], [height], Qt.Orientation.Vertical)

    def open_compare(self) -> None:
        from streamdesk.ui.compare import open_compare

        open_compare(self.window_)


def install_network_tools(window: MainWindow) -> NetworkTools:
    """Wire Ctrl+I to the inspector and add View ▸ Compare to `window`."""
    return NetworkTools(window)
