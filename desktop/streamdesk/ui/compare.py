"""Compare: one prompt to two to four targets (provider, model, protocol), replies side by side.

A non-modal window; Escape closes it. Each column picks its own target and draws its reply as a
chat does: Markdown rendered as it streams, model output never read as HTML, no local file or
remote image loaded. Under each column its live figures (time to first token, tokens per
second, tokens, cost); below, the wire figures of every run (as in the inspector) and a summary
(first token soonest, fastest, cheapest). "At once" streams every column together; otherwise
they run one after the other, each counted from its own request (fair for SSE against
WebSocket on one server). With "Include this chat", the current chat's turns go first, so a
reply can carry the chat on: "Continue with this reply" adds the prompt and that reply to the
chat (stored in its history, with the reply's own model, tokens and cost) and closes the window.
A column whose model reads less than the chat holds says under its reply, as the chat does, how
many of the oldest messages its request left out (and which stored images).

Every column streams through the conversation engine (`core.chat.compare`) with the window's
proxy, CA bundle, keys and timeouts; the window does not store the columns it does not keep.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.attachments import once_scaled
from streamdesk.core.chat import Reply, ReplyStatus, Target, Trimmed
from streamdesk.core.chat.compare import Lane, Standings, plan_lanes, run_lane
from streamdesk.core.chat.conversation import request_notice
from streamdesk.core.chat.engine import ChatEvent
from streamdesk.core.events import ReasoningDelta, TextDelta
from streamdesk.core.netstats import TraceStats, trace_stats
from streamdesk.core.providers import Provider
from streamdesk.core.wording import DEMO_COST, money
from streamdesk.ui.failures import failure_text, reply_failure_title
from streamdesk.ui.inspector.models import COLUMN_TIPS, COLUMNS
from streamdesk.ui.keys import key_store
from streamdesk.ui.plain_text import plain_label
from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.transcript.reply_view import ReplyView
from streamdesk.ui.transcript.view import TranscriptView
from streamdesk.ui.window.status_bar import PROTOCOL_NAMES, format_speed

PROTOCOLS = (("sse", "SSE"), ("ws", "WebSocket"))
MIN_COLUMNS, MAX_COLUMNS = 2, 4
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
    *_shared("Total (ms)", "tok/s"),
    ("Gap p50 (ms)", lambda s: _f(s.gap_p50_ms), "Median time between two tokens"),
    ("Gap p99 (ms)", lambda s: _f(s.gap_p99_ms), "99th percentile of the time between tokens"),
    *_shared("Received (B)", "B/token", "Overhead (% of bytes)"),
)


def target_label(target: Target) -> str:
    return f"{target.model} · {PROTOCOL_NAMES.get(target.protocol, target.protocol)}"


def cost_text(reply: Reply) -> str:
    """The reply's cost as the chat's status bar words it: "demo" for the offline demo (no
    money is involved), else "$0.0039" ("≈" when estimated, "–" until it is known)."""
    cost = reply.cost if reply.status.finished else None
    return money(cost, estimated=reply.estimated, demo=reply.target.is_mock)


def figures_text(reply: Reply | None) -> str:
    """A column's live figures: "TTFT 52 ms · 199.7 tok/s · 5 → 490 tokens · $0.0039"."""
    if reply is None:
        return "–"
    parts = ["TTFT –" if reply.ttft is None else f"TTFT {reply.ttft * 1000:.0f} ms"]
    speed = None if reply.trace is None else reply.trace.tokens_per_second
    parts.append("– tok/s" if speed is None else format_speed(speed))
    tokens_in = "–" if reply.prompt_tokens is None else str(reply.prompt_tokens)
    parts.append(f"{tokens_in} → {reply.completion_tokens} tokens")
    cost = cost_text(reply)
    parts.append(f"Cost: {cost}" if cost == DEMO_COST else cost)
    return " · ".join(parts)


def _ttft_text(reply: Reply) -> str:
    return f"{(reply.ttft or 0) * 1000:.0f} ms"


def _speed(reply: Reply) -> float | None:
    return None if reply.trace is None else reply.trace.tokens_per_second


def _standing(
    title: str,
    replies: Sequence[Reply],
    figure: Callable[[Reply], float | None],
    shown: Callable[[Reply], str],
    *,
    highest: bool = False,
) -> str | None:
    """ "Fastest: A (250 tok/s)"; when the best figure reads the same for several replies,
    "Fastest: tie, A and B (250 tok/s)": a winner by a rounding error is no winner."""
    known = [
        (value, reply)
        for reply in replies
        if reply.status is ReplyStatus.COMPLETE and (value := figure(reply)) is not None
    ]
    if not known:
        return None
    best = shown((max if highest else min)(known, key=lambda pair: pair[0])[1])
    winners = [target_label(reply.target) for _, reply in known if shown(reply) == best]
    if len(winners) == 1:
        return f"{title}: {winners[0]} ({best})"
    return f"{title}: tie, {', '.join(winners[:-1])} and {winners[-1]} ({best})"


def summary_text(lanes: Sequence[Lane]) -> str:
    """Who won: the first token soonest, the most tokens per second, the lowest cost (the
    offline demo's replies cost nothing: they do not compete on cost)."""
    replies = [lane.reply for lane in lanes]
    standings = Standings.of(replies)
    paid = [reply for reply in replies if not reply.target.is_mock]
    parts = [f"{standings.complete} of {len(replies)} complete"]
    for part in (
        _standing("First token soonest", replies, lambda r: r.ttft, _ttft_text),
        _standing("Fastest", replies, _speed, lambda r: format_speed(_speed(r) or 0), highest=True),
        _standing("Cheapest", paid, lambda r: r.cost, cost_text),
    ):
        if part is not None:
            parts.append(part)
    if len(paid) < len(replies) and standings.complete:
        parts.append(f"Cost: {DEMO_COST}" if not paid else f"Offline demo: {DEMO_COST}")
    return "   ·   ".join(parts)


class ComparePane(TranscriptView):
    """One column's reply, drawn as in a chat; a failure offers no Retry (run them again)."""

    def failure_actions(self, key: object, status: str, has_text: bool) -> tuple[str, ...]:
        return ()


class CompareColumn(QWidget):
    """One target: its picker (provider, model, protocol), its reply, its figures, and the
    button that continues the chat with its reply."""

    removeRequested = Signal(object)  # the column
    continueRequested = Signal(object)  # the column

    def __init__(self, parent: QWidget, providers: Sequence[Provider], *, dark: bool) -> None:
        super().__init__(parent)
        self.providers = list(providers)
        self.provider_box = QComboBox(self)
        self.provider_box.setToolTip("Provider")
        for provider in self.providers:
            self.provider_box.addItem(provider.name, provider.id)
        self.model_box = QComboBox(self)
        self.model_box.setEditable(True)
        self.model_box.setToolTip("Model (type another one the provider serves)")
        self.protocol_box = QComboBox(self)
        for key, name in PROTOCOLS:
            self.protocol_box.addItem(name, key)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("×")
        self.remove_button.setToolTip("Remove this column")
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self))
        self.pane = ComparePane(self, dark=dark)
        self.figures = QLabel("–", self)
        self.figures.setObjectName("compareFigures")
        self.figures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.continue_button = QPushButton("Continue with this reply", self)
        self.continue_button.setToolTip("Add the prompt and this reply to the chat, and close")
        self.continue_button.setEnabled(False)
        self.continue_button.clicked.connect(lambda: self.continueRequested.emit(self))
        picker = QHBoxLayout()
        picker.addWidget(self.provider_box, 2)
        picker.addWidget(self.model_box, 3)
        picker.addWidget(self.protocol_box, 1)
        picker.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(picker)
        layout.addWidget(self.pane, 1)
        layout.addWidget(self.figures)
        layout.addWidget(self.continue_button)
        self.provider_box.currentIndexChanged.connect(self._provider_changed)

    @property
    def provider(self) -> Provider:
        return self.providers[max(0, self.provider_box.currentIndex())]

    def choose(self, provider_id: str, model: str, protocol: str) -> None:
        index = self.provider_box.findData(provider_id)
        self.provider_box.setCurrentIndex(max(0, index))
        self._provider_changed()
        self.model_box.setCurrentText(model or self.provider.default_model)
        self.protocol_box.setCurrentIndex(max(0, self.protocol_box.findData(protocol)))
        self._fit_protocol()

    def _provider_changed(self, *_: object) -> None:
        """The models of the provider chosen; WebSocket only where it has an endpoint."""
        provider = self.provider
        shown = self.model_box.currentText()
        self.model_box.clear()
        models = [m.id for m in provider.models] or [provider.default_model]
        self.model_box.addItems([m for m in models if m])
        self.model_box.setCurrentText(shown if shown in models else provider.default_model)
        model = self.protocol_box.model()
        if isinstance(model, QStandardItemModel):
            item = model.item(self.protocol_box.findData("ws"))
            if item is not None:
                item.setEnabled(self.can_use_websocket)
        self._fit_protocol()

    @property
    def can_use_websocket(self) -> bool:
        """WebSocket needs the provider's endpoint, and carries chat completions only."""
        provider = self.provider
        return bool(provider.ws_url) and provider.api == "chat"

    def _fit_protocol(self) -> None:
        if not self.can_use_websocket:
            self.protocol_box.setCurrentIndex(self.protocol_box.findData("sse"))

    def target(self, base: Target) -> Target:
        """`base` (the window's network, timeouts) sent to this column's choice."""
        provider = self.provider
        model = self.model_box.currentText().strip() or provider.default_model
        protocol = str(self.protocol_box.currentData())
        scenario = base.scenario if provider.id == base.provider.id else None  # a mock fault
        return dataclasses.replace(
            base, provider=provider, model=model, protocol=protocol, scenario=scenario
        )

    def set_picking(self, enabled: bool) -> None:
        for box in (self.provider_box, self.model_box, self.protocol_box, self.remove_button):
            box.setEnabled(enabled)


class CompareWindow(QWidget):
    """Two to four columns, the wire figures and a summary; `await run(prompt)` streams every
    column and returns when all have ended."""

    def __init__(self, main_window: Any) -> None:
        super().__init__(main_window, Qt.WindowType.Window)
        self.setObjectName("compareWindow")
        self.setWindowTitle("Compare")
        self.main_window = main_window
        self.columns: list[CompareColumn] = []
        self.lanes: list[Lane] = []  # of the latest run, one per column
        self.views: list[ReplyView] = []
        self.status: list[str] = []
        self.notices: list[str] = []  # what each column's request left out ("" when nothing)
        self._pending: list[list[str]] = []
        self.prompt = ""  # of the latest run
        self.task: asyncio.Task[None] | None = None
        self.prompt_edit = QLineEdit(self)
        self.prompt_edit.setPlaceholderText("Prompt to send to every column")
        self.prompt_edit.returnPressed.connect(self.start)
        self.at_once = QCheckBox("At once", self)
        self.at_once.setChecked(True)
        self.at_once.setToolTip(
            "Stream every column together; off: one after the other, each timed on its own"
        )
        self.with_chat = QCheckBox("Include this chat", self)
        self.with_chat.setToolTip("Send the current chat's turns before the prompt")
        self.add_button = QPushButton("Add column", self)
        self.add_button.clicked.connect(lambda: self.add_column())
        self.run_button = QPushButton("Compare", self)
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        top = QHBoxLayout()
        top.addWidget(self.prompt_edit, 1)
        top.addWidget(self.with_chat)
        top.addWidget(self.at_once)
        top.addWidget(self.add_button)
        top.addWidget(self.run_button)
        self.row = QHBoxLayout()
        self.table = QTableWidget(len(ROWS), 0, self)
        self.table.setObjectName("compareTable")  # its headers styled as its cells (ui/theme.py)
        self.table.setVerticalHeaderLabels([label for label, _, _ in ROWS])
        for row, (_, _, tip) in enumerate(ROWS):
            header = self.table.verticalHeaderItem(row)
            if header is not None:
                header.setToolTip(tip)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(self.table.verticalHeader().length() + 30)
        self.summary = plain_label("", self)  # names providers and models: not HTML
        self.summary.setObjectName("compareSummary")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self.row, 1)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self.refresh)
        self.reset_columns()
        self.resize(1200, 760)

    # -- columns ---------------------------------------------------------------------------

    def _providers(self) -> list[Provider]:
        window = self.main_window
        providers = list(window.switcher.providers)
        current = window.provider
        if all(p.id != current.id for p in providers):
            providers.insert(0, current)
        return providers

    def reset_columns(self) -> None:
        """Two columns on the window's target: over SSE and over WebSocket where it has one
        (another model where it has not)."""
        for old in list(self.columns):
            self._drop(old)
        window = self.main_window
        provider = window.provider
        model = window.header.model() or provider.default_model
        self.add_column(provider.id, model, "sse")
        column = self.add_column(provider.id, model, "ws")
        if column is not None and str(column.protocol_box.currentData()) != "ws":
            column.choose(provider.id, self._unused_model(provider), "sse")

    def _unused_model(self, provider: Provider) -> str:
        used = {c.model_box.currentText() for c in self.columns if c.provider.id == provider.id}
        free = [m.id for m in provider.models if m.id not in used]
        return free[0] if free else provider.default_model

    def add_column(
        self, provider_id: str | None = None, model: str = "", protocol: str = "sse"
    ) -> CompareColumn | None:
        """A column on this target (by default: the window's provider, a model no column has
        yet); None when there are already MAX_COLUMNS."""
        if len(self.columns) >= MAX_COLUMNS:
            return None
        dark = bool(getattr(self.main_window, "dark", False))
        column = CompareColumn(self, self._providers(), dark=dark)
        column.setObjectName(f"compareColumn{len(self.columns)}")
        if provider_id is None:
            provider = self.main_window.provider
            provider_id, model = provider.id, self._unused_model(provider)
        column.choose(provider_id, model, protocol)
        column.removeRequested.connect(self.remove_column)
        column.continueRequested.connect(self._continue_from)
        self.columns.append(column)
        self.row.addWidget(column, 1)
        self._columns_changed()
        return column

    def remove_column(self, column: CompareColumn) -> None:
        if len(self.columns) > MIN_COLUMNS and not self.running:
            self._drop(column)
            self._columns_changed()

    def _drop(self, column: CompareColumn) -> None:
        self.columns.remove(column)
        self.row.removeWidget(column)
        column.deleteLater()
        self.lanes, self.views, self.status, self.notices, self._pending = [], [], [], [], []

    def _columns_changed(self) -> None:
        count = len(self.columns)
        self.table.setColumnCount(count)
        self.add_button.setEnabled(count < MAX_COLUMNS and not self.running)
        for column in self.columns:
            column.remove_button.setVisible(count > MIN_COLUMNS)
        self.refresh()

    @property
    def panes(self) -> list[ComparePane]:
        return [column.pane for column in self.columns]

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    # -- a run -----------------------------------------------------------------------------

    def start(self) -> None:
        prompt = self.prompt_edit.text().strip()
        if prompt and not self.running:
            self.task = asyncio.get_running_loop().create_task(self.run(prompt))

    async def run(self, prompt: str) -> None:
        self.prompt = prompt
        self._set_running(True)
        base = self.main_window.target()
        session: ChatSession = self.main_window.current_session()
        earlier = []
        if self.with_chat.isChecked():
            # A request carries the whole chat, not only the drawn turns: the rest is read
            # off the loop (a long chat's would stall the window), shared with the session.
            reading = session.read_earlier()
            try:
                if reading is not None:
                    await asyncio.shield(reading)
            except asyncio.CancelledError:
                self._set_running(False)
                raise
            session.load_all()  # what that read could not take
            earlier = list(session.turns)
        fitter = session.conversation.image_fitter
        targets = [column.target(base) for column in self.columns]

        def plan() -> list[Lane]:
            return plan_lanes(
                prompt,
                targets,
                system_prompt=session.system_prompt if earlier else "",
                params=session.params if earlier else None,
                earlier=earlier,
                image_fitter=fitter,
            )

        try:  # the chat's images are scaled off the loop: no lane goes with one unscaled
            lanes = await once_scaled(fitter, plan, plan())
        except asyncio.CancelledError:
            self._set_running(False)
            raise
        self.lanes = lanes
        self.views = []
        self.status = ["waiting"] * len(self.lanes)
        self._pending = [[] for _ in self.lanes]
        for index, (column, lane) in enumerate(zip(self.columns, self.lanes, strict=True)):
            column.pane.clear_messages()
            view = column.pane.begin_assistant(index, label=target_label(lane.target))
            self.views.append(view)
            self.notices.append(request_notice(lane.send.request, lane.target))
            if self.notices[-1]:
                view.set_notice(self.notices[-1])
        self.summary.setText("")
        self.timer.start()
        try:
            if self.at_once.isChecked():
                await asyncio.gather(*(self._one(i) for i in range(len(self.lanes))))
            else:
                for index in range(len(self.lanes)):
                    await self._one(index)
        finally:
            self.timer.stop()
            self.refresh()
            self.summary.setText(summary_text(self.lanes))
            self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.add_button.setEnabled(not running and len(self.columns) < MAX_COLUMNS)
        for column in self.columns:
            column.set_picking(not running)
            column.continue_button.setEnabled(False)
        if not running:
            for column, lane in zip(self.columns, self.lanes, strict=False):
                column.continue_button.setEnabled(lane.reply.has_text)

    async def _one(self, index: int) -> None:
        """One column's run; its figures count from its own request."""
        lane = self.lanes[index]
        self.status[index] = "streaming"
        try:
            await run_lane(index, lane, keys=key_store(), listener=self._on_event)
        finally:
            self.status[index] = _status_of(lane.reply)
            self._flush(index)
            _finish(self.views[index], lane.reply, self.notices[index])

    def _on_event(self, index: int, event: ChatEvent) -> None:
        if isinstance(event, TextDelta):
            self._pending[index].append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.views[index].append_reasoning(event.text)
        elif isinstance(event, Trimmed):  # its request cut again to fit the context window
            self.notices[index] = event.notice
            self.views[index].set_notice(event.notice)

    def _flush(self, index: int) -> None:
        """Hand the text received since the last tick to the pane (it draws at frame rate)."""
        pending = self._pending[index]
        if pending:
            self.views[index].append_text("".join(pending))
            pending.clear()

    def stats(self, index: int) -> TraceStats | None:
        if index >= len(self.lanes):
            return None
        trace = self.lanes[index].reply.trace
        return None if trace is None else trace_stats(trace)

    def refresh(self) -> None:
        for col, column in enumerate(self.columns):
            lane = self.lanes[col] if col < len(self.lanes) else None
            if lane is not None:
                self._flush(col)
            column.figures.setText(figures_text(None if lane is None else lane.reply))
            name = column.model_box.currentText() if lane is None else target_label(lane.target)
            self.table.setHorizontalHeaderItem(col, QTableWidgetItem(name))
            stats = self.stats(col)
            for row, (_, getter, _) in enumerate(ROWS):
                if getter is None:
                    item = QTableWidgetItem(self.status[col] if lane is not None else "")
                else:
                    item = QTableWidgetItem(("" if stats is None else getter(stats)) or "–")
                    item.setTextAlignment(RIGHT)
                self.table.setItem(row, col, item)

    # -- continue the chat -----------------------------------------------------------------

    def _continue_from(self, column: CompareColumn) -> None:
        index = self.columns.index(column)
        if index < len(self.lanes):
            self.continue_with(index)

    def continue_with(self, index: int) -> bool:
        """Add the prompt and column `index`'s reply to the current chat and close; False
        (nothing added) while the chat is streaming a reply of its own."""
        session: ChatSession = self.main_window.current_session()
        lane = self.lanes[index]
        if session.busy or self.running or not lane.reply.status.finished:
            self.summary.setText("The chat is busy: wait for its reply, then continue.")
            return False
        session.adopt(self.prompt, lane.reply)
        self.close()
        return True

    # -- window ----------------------------------------------------------------------------

    def set_dark(self, dark: bool) -> None:
        for pane in self.panes:
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


def _finish(view: ReplyView, reply: Reply, note: str) -> None:
    """Show how a column's reply ended; `note`, what its request left out, stays under a reply
    that did not fail (a failure says why instead)."""
    failure = reply.failure
    if failure is not None and reply.status is not ReplyStatus.STOPPED:
        view.finish(
            "error",
            failure_title=reply_failure_title(reply),
            failure_text=failure_text(failure),
        )
    else:
        view.finish(reply.status.value, failure_title=note)


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
    session = window.current_session()
    if prompt is None:
        prompt = window.prompt.toPlainText().strip()
        if not prompt:
            prompt = session.turns[-1].prompt if session.turns else ""
    if prompt:
        compare.prompt_edit.setText(prompt)
    if not compare.running:  # the chat goes first unless the prompt is its own last one
        last = session.turns[-1].prompt if session.turns else None
        compare.with_chat.setChecked(bool(session.turns) and prompt != last)
    compare.set_dark(bool(getattr(window, "dark", False)))  # the theme may have changed
    compare.show()
    compare.raise_()
    return compare
