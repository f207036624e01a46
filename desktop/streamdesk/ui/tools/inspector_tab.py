"""The inspector's Tools tab: each tool call of the selected request with its timing, beside
the stream's frames: when it was asked for (from the request's start), how long it waited for
approval, how long it ran, and how it ended.

The calls come from the reply's view (which stamps when each call was asked for and started);
the model is refreshed on the inspector's own timer, never per event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from streamdesk.core.trace import StreamTrace
from streamdesk.ui.tools.state import CallState, format_duration, outcome_words

COLUMNS = ("Asked at", "Tool", "Server", "Approval", "Ran", "Outcome")
Index = QModelIndex | QPersistentModelIndex
CallsOf = Callable[[StreamTrace], Sequence[CallState]]


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"+{seconds * 1000:.0f} ms"


def call_row(call: CallState, t_start: float) -> tuple[str, ...]:
    asked = _ms(call.asked - t_start) if call.asked is not None else ""
    waited = ""
    if call.asked is not None and call.answered is not None:
        waited = format_duration(call.answered - call.asked)
    elif call.asked is not None and call.answered is None and not call.settled:
        waited = "waiting…"
    ran = format_duration(call.duration) if call.duration is not None else ""
    if call.state == "running":
        ran = "running…"
    outcome = outcome_words(call).split(" · ")[0]
    return (asked, call.name, call.server, waited, ran, outcome)


class ToolTimingsModel(QAbstractTableModel):
    """The calls of one request (a reply and its tool rounds)."""

    def __init__(self, calls_of: CallsOf, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.calls_of = calls_of
        self.trace: StreamTrace | None = None
        self.rows: list[tuple[str, ...]] = []

    def set_trace(self, trace: StreamTrace | None) -> None:
        self.trace = trace
        self.refresh()

    def refresh(self) -> None:
        trace = self.trace
        rows = [] if trace is None else [call_row(c, trace.t_start) for c in self.calls_of(trace)]
        if rows != self.rows:
            self.beginResetModel()
            self.rows = rows
            self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            return self.rows[index.row()][index.column()]
        return None


def tool_timings_view(model: ToolTimingsModel, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setObjectName("inspectorTools")
    view.setModel(model)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def calls_in(sessions: Callable[[], Sequence[Any]]) -> CallsOf:
    """Finds the calls of a request among the window's sessions (by the reply's trace)."""

    def calls_of(trace: StreamTrace) -> list[CallState]:
        for session in sessions():
            for turn in session.turns:
                if turn.reply.trace is trace:
                    view = session.views.get(turn.key)
                    rounds = view.tool_rounds if view is not None else []
                    return [c for r in rounds for c in r.calls]
        return []

    return calls_of
