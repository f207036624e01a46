"""Send over both: the same prompt over SSE and WebSocket, replies and timings side by side.

A non-modal window; Escape closes it. "At once" starts both streams together (they then compete
for the same server); otherwise WebSocket runs after SSE finishes, and each run's figures count
from its own request. Each reply is drawn by a transcript view, as in a chat: Markdown rendered
as it streams, model output never read as HTML, no local file or remote image loaded. Both go
through the conversation engine with the window's target, so the proxy, the CA bundle, the key
and the timeouts are the ones a chat uses. Figures come from the traces the
transports stamp where bytes arrive, through `core.netstats`, as in the inspector and `bench`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.chat import Reply, ReplyStatus, Target, stream_reply
from streamdesk.core.events import ReasoningDelta, TextDelta
from streamdesk.core.netstats import TraceStats, trace_stats
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.trace import StreamTrace
from streamdesk.ui.failures import failure_text, failure_title
from streamdesk.ui.inspector.models import COLUMN_TIPS, COLUMNS
from streamdesk.ui.keys import key_store
from streamdesk.ui.transcript.reply_view import ReplyView
from streamdesk.ui.transcript.view import TranscriptView

PROTOCOLS = (("sse", "SSE"), ("ws", "WebSocket"))
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _f(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}"


Row = tuple[str, Callable[[TraceStats], str] | None, str]  # label with unit, figure, tooltip


def _shared(*names: str) -> tuple[Row, ...]:
    """Rows that show the inspector's figures, with its labels and tooltips."""
    figures = dict(COLUMNS)
    return tuple((name, figures[name], COLUMN_TIPS[name]) for name in names)


ROWS: tuple[Row, ...] = (
    ("Status", None, "How the run ended"),  # the run's status, not a figure
    *_shared("Connect (ms)"),
    ("TTFT (ms)", lambda s: _f(s.ttft_ms), "Time to first token, from the request sent"),
    *_shared("Total (ms)", "Tokens", "tok/s"),
    ("Gap p50 (ms)", lambda s: _f(s.gap_p50_ms), "Median time between two tokens"),
    ("Gap p99 (ms)", lambda s: _f(s.gap_p99_ms), "99th percentile of the time between tokens"),
    *_shared("Received (B)", "B/token", "Overhead (% of bytes)"),
)


class ComparePane(TranscriptView):
    """One protocol's reply, drawn as in a chat; a failure offers no Retry (run both again)."""

    def failure_actions(self, key: object, status: str, has_text: bool) -> tuple[str, ...]:
        return ()


class CompareWindow(QWidget):
    """Two panes and a stats table; `await run(prompt)` streams both and returns when done."""

    def __init__(self, main_window: Any) -> None:
        super().__init__(main_window, Qt.WindowType.Window)
        self.setObjectName("compareWindow")
        self.setWindowTitle("Send over both: SSE vs WebSocket")
        self.main_window = main_window
        self.traces: dict[str, StreamTrace] = {}
        self.status: dict[str, str] = {}
        self.texts: dict[str, list[str]] = {}
        self._pending: dict[str, list[str]] = {}
        self.task: asyncio.Task[None] | None = None
        self.prompt_edit = QLineEdit(self)
        self.prompt_edit.setPlaceholderText("Prompt to send over both protocols")
        self.prompt_edit.returnPressed.connect(self.start)
        self.at_once = QCheckBox("At once", self)
        self.at_once.setToolTip("Start both streams together instead of one after the other")
        self.run_button = QPushButton("Send over both", self)
        self.run_button.clicked.connect(self.start)
        top = QHBoxLayout()
        top.addWidget(self.prompt_edit, 1)
        top.addWidget(self.at_once)
        top.addWidget(self.run_button)
        grid = QGridLayout()
        self.panes: dict[str, ComparePane] = {}
        self.replies: dict[str, ReplyView] = {}
        for col, (key, name) in enumerate(PROTOCOLS):
            grid.addWidget(QLabel(f"<b>{name}</b>", self), 0, col)
            pane = ComparePane(self, dark=bool(getattr(main_window, "dark", False)))
            pane.setObjectName(f"compare_{key}")
            grid.addWidget(pane, 1, col)
            self.panes[key] = pane
        self.table = QTableWidget(len(ROWS), len(PROTOCOLS), self)
        self.table.setHorizontalHeaderLabels([name for _, name in PROTOCOLS])
        self.table.setVerticalHeaderLabels([label for label, _, _ in ROWS])
        for row, (_, _, tip) in enumerate(ROWS):
            header = self.table.verticalHeaderItem(row)
            if header is not None:
                header.setToolTip(tip)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(self.table.verticalHeader().length() + 30)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid, 1)
        layout.addWidget(self.table)
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self.refresh)
        self.resize(1000, 720)

    def start(self) -> None:
        prompt = self.prompt_edit.text().strip()
        if prompt and (self.task is None or self.task.done()):
            self.task = asyncio.get_running_loop().create_task(self.run(prompt))

    async def run(self, prompt: str) -> None:
        self.run_button.setEnabled(False)
        self.traces.clear()
        for key, _ in PROTOCOLS:
            self.panes[key].clear_messages()
            self.replies.pop(key, None)
            self.status[key] = "waiting"
            self.texts[key] = []
            self._pending[key] = []
        self.timer.start()
        try:
            target = self.main_window.target()
            request = ChatRequest(target.request_model, (Message("user", prompt),))
            if self.at_once.isChecked():
                await asyncio.gather(*(self._one(key, target, request) for key, _ in PROTOCOLS))
            else:
                for key, _ in PROTOCOLS:
                    await self._one(key, target, request)
        finally:
            self.timer.stop()
            self.refresh()
            self.run_button.setEnabled(True)

    async def _one(self, protocol: str, target: Target, request: ChatRequest) -> None:
        """One protocol's run; its trace starts with its own request, not with the window's."""
        if protocol == "ws" and not target.provider.ws_url:
            self.status[protocol] = "no WebSocket endpoint"  # Anthropic, Gemini, Responses…
            return
        trace = self.traces[protocol] = StreamTrace()
        self.status[protocol] = "streaming"
        reply = Reply(dataclasses.replace(target, protocol=protocol))
        view = self.replies[protocol] = self.panes[protocol].begin_assistant(
            protocol, label=dict(PROTOCOLS)[protocol]
        )
        events = stream_reply(reply, request, keys=key_store(), trace=trace)
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, TextDelta):
                        self._pending[protocol].append(event.text)
                        self.texts[protocol].append(event.text)
                    elif isinstance(event, ReasoningDelta):
                        view.append_reasoning(event.text)
        finally:
            self.status[protocol] = _status_of(reply)
            self._flush(protocol)
            self._finish(view, reply)

    def _flush(self, protocol: str) -> None:
        """Hand the text received since the last tick to the pane (it draws at frame rate)."""
        pending = self._pending.get(protocol)
        view = self.replies.get(protocol)
        if pending and view is not None:
            view.append_text("".join(pending))
            pending.clear()

    @staticmethod
    def _finish(view: ReplyView, reply: Reply) -> None:
        failure = reply.failure
        if failure is not None and reply.status is not ReplyStatus.STOPPED:
            view.finish(
                "error",
                failure_title=failure_title(failure, reply.completion_tokens),
                failure_text=failure_text(failure),
            )
        else:
            view.finish(reply.status.value)

    def stats(self, key: str) -> TraceStats | None:
        trace = self.traces.get(key)
        return None if trace is None else trace_stats(trace)

    def refresh(self) -> None:
        for col, (key, _) in enumerate(PROTOCOLS):
            self._flush(key)
            stats = self.stats(key)
            for row, (_, getter, _) in enumerate(ROWS):
                if getter is None:
                    item = QTableWidgetItem(self.status.get(key, ""))
                else:
                    item = QTableWidgetItem(("" if stats is None else getter(stats)) or "–")
                    item.setTextAlignment(RIGHT)
                self.table.setItem(row, col, item)

    def set_dark(self, dark: bool) -> None:
        for pane in self.panes.values():
            pane.set_dark(dark)

    def changeEvent(self, event: QEvent) -> None:
        """The window switched theme (the application's palette changed): follow it."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.set_dark(bool(getattr(self.main_window, "dark", False)))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Escape closes the window (and stops a run), as in a dialog."""
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: Any) -> None:
        if self.task is not None:
            self.task.cancel()
        super().closeEvent(event)


def _status_of(reply: Reply) -> str:
    if reply.status is ReplyStatus.COMPLETE:
        return f"done ({reply.finish_reason or 'stop'})"
    if reply.status is ReplyStatus.STOPPED:
        return "stopped"
    kind = reply.failure.kind.value if reply.failure is not None else "unknown"
    return f"failed: {kind}"


def open_compare(window: Any, prompt: str | None = None) -> CompareWindow:
    """Show (creating once) the compare window, prefilled with the prompt box's text."""
    compare: CompareWindow | None = getattr(window, "compare_window", None)
    if compare is None:
        compare = CompareWindow(window)
        window.compare_window = compare
    if prompt is None:
        prompt = window.prompt.toPlainText().strip()
        if not prompt:
            session = window.current_session()
            prompt = session.turns[-1].prompt if session.turns else ""
    if prompt:
        compare.prompt_edit.setText(prompt)
    compare.set_dark(bool(getattr(window, "dark", False)))  # the theme may have changed
    compare.show()
    compare.raise_()
    return compare
