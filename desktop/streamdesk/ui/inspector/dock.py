"""The network inspector: a dock (Ctrl+I) with one row per request, its raw frames, its headers
and a live chart of the gaps between tokens.

Frames are recorded only while the dock is open: it swaps each session's `trace_factory` for
`StreamTrace.recording` when shown and back to the plain `StreamTrace` when hidden (a plain
trace still stamps every token, so timings of requests made while closed are listed too). A
stream already running when the dock opens starts recording from that moment. Updates come
from a 150 ms timer that runs only while the dock is visible; nothing is done per token.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QAction, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.trace import DEFAULT_FRAME_LIMIT, StreamTrace
from streamdesk.ui.inspector.export import (
    curl_command,
    frame_rows_text,
    header_text,
    trace_json_text,
)
from streamdesk.ui.inspector.models import COLUMNS, FramesModel, RequestsModel
from streamdesk.ui.tools.inspector_tab import ToolTimingsModel, calls_in, tool_timings_view

if TYPE_CHECKING:
    from streamdesk.ui.inspector.chart import GapChart
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.window.main_window import MainWindow

REFRESH_MS = 150
FIRST_FIGURE = 3  # the request table's columns from here on are sized to their values


class InspectorDock(QDockWidget):
    """Inspector for every conversation of `window` (its `sessions` are read)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__("Inspector", window)
        self.setObjectName("inspectorDock")
        self.window_ = window
        self.requests = RequestsModel(self)
        self.frames = FramesModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.frames)
        self.proxy.setFilterKeyColumn(3)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.current: StreamTrace | None = None
        self._headers_shown: tuple[object, ...] = ()
        self._dialog: QFileDialog | None = None
        self._resize_due = False  # figure columns to fit their values at the next tick
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self._build()
        self.visibilityChanged.connect(self._on_visible)

    # -- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.table = QTableView(self)
        self.table.setObjectName("inspectorRequests")
        self.table.setModel(self.requests)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for col, width in ((0, 120), (2, 200)):  # chat title and URL: elided, resizable
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(col, width)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _: self.select(cur.row()))

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter frames…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.frames_view = QTableView(self)
        self.frames_view.setObjectName("inspectorFrames")
        self.frames_view.setModel(self.proxy)
        self.frames_view.setFont(mono)
        self.frames_view.verticalHeader().setVisible(False)
        self.frames_view.verticalHeader().setDefaultSectionSize(20)
        self.frames_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.frames_view.setWordWrap(False)
        fh = self.frames_view.horizontalHeader()
        for column, width in ((0, 80), (1, 36), (2, 70)):
            self.frames_view.setColumnWidth(column, width)
        fh.setStretchLastSection(True)
        copy = QAction("Copy frames", self.frames_view)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        copy.triggered.connect(self.copy_frames)
        self.frames_view.addAction(copy)
        self.frames_info = QLabel(self)
        frames_tab = QWidget(self)
        frames_column = QVBoxLayout(frames_tab)
        frames_column.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.frames_info)
        frames_column.addLayout(top)
        frames_column.addWidget(self.frames_view, 1)

        self.headers_edit = QPlainTextEdit(self)
        self.headers_edit.setReadOnly(True)
        self.headers_edit.setFont(mono)
        self.chart: GapChart | None = None  # made on first show: pyqtgraph loads only then
        self.tabs = QTabWidget(self)
        self.tabs.addTab(frames_tab, "Frames")
        self.tabs.addTab(self.headers_edit, "Headers")
        self.tool_timings = ToolTimingsModel(calls_in(self._sessions), self)
        self.tabs.addTab(tool_timings_view(self.tool_timings, self), "Tools")
        self.chart_tab = QWidget(self)
        self.chart_layout = QVBoxLayout(self.chart_tab)
        self.chart_layout.setContentsMargins(0, 0, 0, 0)
        self.tabs.addTab(self.chart_tab, "Chart")

        buttons = QHBoxLayout()
        for text, slot in (
            ("Copy frames", self.copy_frames),
            ("Copy headers", lambda: self._copy(header_text(self.current) if self.current else "")),
            ("Copy as curl", self.copy_curl),
            ("Save as JSON…", self.ask_save_json),
        ):
            button = QPushButton(text, self)
            button.clicked.connect(lambda _=False, s=slot: s())
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.summary = QLabel(self)
        buttons.addWidget(self.summary)

        lower = QWidget(self)
        lower_col = QVBoxLayout(lower)
        lower_col.setContentsMargins(0, 0, 6, 0)  # the summary's last word not on the edge
        lower_col.addLayout(buttons)
        lower_col.addWidget(self.tabs, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setSizes([120, 260])
        self.setWidget(split)

    def ensure_chart(self) -> GapChart:
        if self.chart is None:
            from streamdesk.ui.inspector.chart import make_chart

            self.chart = make_chart(self.chart_tab)
            self.chart_layout.addWidget(self.chart)
            self.chart.set_trace(self.current)
        return self.chart

    # -- recording hooks ------------------------------------------------------------------

    def _on_visible(self, visible: bool) -> None:
        if visible:
            self.ensure_chart()
            self.hook_sessions()
            self.refresh()
            self._resize_due = True  # again at the first tick, once the table has its size
            self.timer.start()
        else:
            self.timer.stop()
            for session in self._sessions():
                session.trace_factory = StreamTrace

    def _sessions(self) -> list[ChatSession]:
        return list(self.window_.sessions.values())

    def hook_sessions(self) -> None:
        """Record in every session (new ones too); list requests made while the dock was shut."""
        found: list[tuple[float, StreamTrace, str]] = []
        for session in self._sessions():
            if getattr(session.trace_factory, "func", None) != self._new_trace:
                session.trace_factory = partial(self._new_trace, session)
            for turn in session.turns:
                trace = turn.reply.trace
                if trace is not None:
                    found.append((trace.t_start, trace, session.title))
            live = session.trace
            if live is not None and live.t_end is None and live.frames is None:
                live.frames = deque(maxlen=DEFAULT_FRAME_LIMIT)  # record from now on
        for _, trace, title in sorted(found, key=lambda item: item[0]):
            self._add(trace, title)

    def _new_trace(self, session: ChatSession) -> StreamTrace:
        trace = StreamTrace.recording()
        self._add(trace, session.title)
        return trace

    def _add(self, trace: StreamTrace, label: str) -> None:
        following = self.current is None or self.table.currentIndex().row() in (
            -1,
            self.requests.rowCount() - 1,
        )
        if not self.requests.add(trace, label):
            return
        self._resize_due = True
        if following:
            self.table.selectRow(self.requests.rowCount() - 1)

    # -- showing one request --------------------------------------------------------------

    def select(self, row: int) -> None:
        trace = self.requests.traces[row] if 0 <= row < len(self.requests.traces) else None
        if trace is self.current:
            return
        self.current = trace
        self.frames.set_trace(trace)
        self.tool_timings.set_trace(trace)
        if self.chart is not None:
            self.chart.set_trace(trace)
        self._headers_shown = ()
        self._show_details()

    def refresh(self) -> None:
        """One tick: new sessions hooked, live rows, new frames, the chart."""
        if self.isVisible():
            self.hook_sessions()
        if self.requests.refresh() or self._resize_due:
            self._fit_columns()
        at_end = self._frames_at_end()
        self.frames.refresh()
        if at_end:
            self.frames_view.scrollToBottom()
        self.tool_timings.refresh()
        if self.chart is not None:
            self.chart.refresh()
        self._show_details()

    def _fit_columns(self) -> None:
        """Figures as wide as their values: a section sized to its contents does not grow when
        a value does, and sizes only from the rows on screen (none while the dock opens)."""
        self._resize_due = False
        for col in range(FIRST_FIGURE, len(COLUMNS)):
            self.table.resizeColumnToContents(col)

    def _frames_at_end(self) -> bool:
        bar = self.frames_view.verticalScrollBar()
        return bar.value() >= bar.maximum() - 2

    def _show_details(self) -> None:
        trace = self.current
        if trace is None:
            self.frames_info.setText("")
            self.summary.setText("")
            return
        key = (trace.status, len(trace.response_headers), len(trace.request_headers))
        if key != self._headers_shown:
            self._headers_shown = key
            self.headers_edit.setPlainText(header_text(trace))
        if trace.frames is None:
            self.frames_info.setText("Frames are recorded while the inspector is open.")
        else:
            dropped = f", {trace.frames_dropped} oldest dropped" if trace.frames_dropped else ""
            self.frames_info.setText(f"{len(self.frames.rows)} rows{dropped}")
        row = self.requests.traces.index(trace)
        s = self.requests.stats(row)
        parts = []
        if s.ttft_ms is not None:
            parts.append(f"TTFT {s.ttft_ms:.0f} ms")
        if s.gap_p50_ms is not None and s.gap_p99_ms is not None:
            parts.append(f"gap p50 {s.gap_p50_ms:.1f} / p99 {s.gap_p99_ms:.1f} ms")
        if s.tokens_per_s is not None:
            parts.append(f"{s.tokens_per_s:.0f} tok/s")
        self.summary.setText("   ".join(parts))

    # -- copy and save --------------------------------------------------------------------

    def visible_frame_rows(self) -> list[Any]:
        """Selected frames if any, else every frame the filter lets through."""
        view = self.frames_view
        rows = sorted({i.row() for i in view.selectionModel().selectedRows()})
        if not rows:
            rows = list(range(self.proxy.rowCount()))
        return [
            self.frames.rows[self.proxy.mapToSource(self.proxy.index(r, 0)).row()] for r in rows
        ]

    def copy_frames(self) -> None:
        self._copy(frame_rows_text(self.visible_frame_rows()))

    def copy_curl(self) -> None:
        if self.current is not None:
            self._copy(curl_command(self.current))

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    def ask_save_json(self) -> None:
        """A non-modal save dialog (`open()`, never `exec()`: a nested loop breaks qasync)."""
        if self.current is None:
            return
        trace = self.current
        dialog = QFileDialog(self, "Save the request as JSON", "streamdesk-trace.json")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("JSON (*.json)")
        dialog.setDefaultSuffix("json")
        dialog.fileSelected.connect(lambda path: self.save_json(path, trace))
        self._dialog = dialog
        dialog.open()

    def save_json(self, path: str | Path, trace: StreamTrace | None = None) -> None:
        trace = trace or self.current
        if trace is not None:
            Path(path).write_text(trace_json_text(trace) + "\n", encoding="utf-8")


__all__ = ["COLUMNS", "InspectorDock"]
