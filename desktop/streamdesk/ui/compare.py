"""Send over both: the same prompt over SSE and WebSocket, replies and timings side by side.

A non-modal window. "At once" starts both streams together (they then compete for the same
server); otherwise WebSocket runs after SSE finishes, and each run's figures count from its own
request. Both go through the conversation engine with the window's target, so the proxy, the CA
bundle, the key and the timeouts are the ones a chat uses. Figures come from the traces the
transports stamp where bytes arrive, through `core.netstats`, as in the inspector and `bench`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.chat import Reply, ReplyStatus, Target, stream_reply
from streamdesk.core.events import Failure, ReasoningDelta, TextDelta
from streamdesk.core.netstats import TraceStats, trace_stats
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.trace import StreamTrace
from streamdesk.ui.keys import key_store

PROTOCOLS = (("sse", "SSE"), ("ws", "WebSocket"))


def _f(v: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if v is None else fmt.format(v)


ROWS: tuple[tuple[str, Any], ...] = (
    ("Status", None),
    ("Connection setup (ms)", lambda s: _f(s.connect_ms)),
    ("TTFT (ms)", lambda s: _f(s.ttft_ms)),
    ("Total (ms)", lambda s: _f(s.total_ms)),
    ("Tokens", lambda s: str(s.tokens)),
    ("Tokens/s", lambda s: _f(s.tokens_per_s)),
    ("Gap p50 (ms)", lambda s: _f(s.gap_p50_ms)),
    ("Gap p99 (ms)", lambda s: _f(s.gap_p99_ms)),
    ("Bytes received", lambda s: str(s.bytes_received)),
    ("Bytes/token", lambda s: _f(s.bytes_per_token)),
    (
        "Framing overhead",
        lambda s: _f(None if s.overhead is None else s.overhead * 100, "{:.1f} %"),
    ),
)


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
        self.panes: dict[str, QPlainTextEdit] = {}
        for col, (key, name) in enumerate(PROTOCOLS):
            grid.addWidget(QLabel(f"<b>{name}</b>", self), 0, col)
            pane = QPlainTextEdit(self)
            pane.setReadOnly(True)
            pane.setObjectName(f"compare_{key}")
            grid.addWidget(pane, 1, col)
            self.panes[key] = pane
        self.table = QTableWidget(len(ROWS), len(PROTOCOLS), self)
        self.table.setHorizontalHeaderLabels([name for _, name in PROTOCOLS])
        self.table.setVerticalHeaderLabels([label for label, _ in ROWS])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 200)
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
            self.panes[key].clear()
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
        events = stream_reply(reply, request, keys=key_store(), trace=trace)
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, TextDelta | ReasoningDelta):
                        self._pending[protocol].append(event.text)
                        self.texts[protocol].append(event.text)
                    elif isinstance(event, Failure):
                        self._pending[protocol].append(f"\n\n[{event.message}]")
        finally:
            self.status[protocol] = _status_of(reply)

    def stats(self, key: str) -> TraceStats | None:
        trace = self.traces.get(key)
        return None if trace is None else trace_stats(trace)

    def refresh(self) -> None:
        for col, (key, _) in enumerate(PROTOCOLS):
            pending = self._pending.get(key)
            if pending:
                pane = self.panes[key]
                pane.moveCursor(pane.textCursor().MoveOperation.End)
                pane.insertPlainText("".join(pending))
                pending.clear()
            stats = self.stats(key)
            for row, (_, getter) in enumerate(ROWS):
                if getter is None:
                    value = self.status.get(key, "")
                else:
                    value = "" if stats is None else getter(stats)
                self.table.setItem(row, col, QTableWidgetItem(value))

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
    compare.show()
    compare.raise_()
    return compare
