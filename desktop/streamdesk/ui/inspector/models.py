"""Qt item models of the inspector: one row per request, and the raw frames of one request.

Both are refreshed from a timer (never per token): a refresh reads the trace's counters and
appends what is new, so a tick costs the same at frame 50 as at frame 5,000.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from streamdesk.core.netstats import TraceStats, trace_stats
from streamdesk.core.trace import StreamTrace
from streamdesk.ui.inspector.export import FrameRow, FrameSplitter
from streamdesk.ui.plain_text import plain_tooltip

Index = QModelIndex | QPersistentModelIndex
MAX_FRAME_ROWS = 20_000  # an SSE chunk can hold many lines; the view keeps the newest


def _resumes(s: TraceStats) -> str:
    """Where a reply broke and went on: "cut_mid_stream @812 → continue"; "" when it did not."""
    return "; ".join(f"{kind} @{tokens} → {how}" for _at, tokens, kind, how in s.resumes)


def _ms(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}"


def _overhead_tip(s: TraceStats) -> str:
    if s.overhead is None:
        return ""
    return (
        f"{s.overhead * 100:.1f} % of the {s.bytes_received:,} B received were framing around"
        f" the text (SSE lines or WebSocket frames, JSON keys, ids, usage); {s.content_bytes:,} B"
        " were the reply's own text."
    )


MILESTONE = "ms after the request began (monotonic clock)"
# Header, the figure in a cell (None: the request's label); each header names its unit.
COLUMNS: tuple[tuple[str, Callable[[TraceStats], str] | None], ...] = (
    ("Chat", None),  # the request's label, not one of its figures
    ("Protocol", lambda s: s.protocol.upper()),
    ("URL", lambda s: s.url),
    ("HTTP", lambda s: s.http_version.removeprefix("HTTP/")),
    ("Status", lambda s: "" if s.status is None else str(s.status)),
    ("Retries", lambda s: f"{s.retries} ({s.retry_wait_ms / 1000:.1f} s)" if s.retries else "0"),
    ("Resumed", lambda s: _resumes(s)),
    ("Connect (ms)", lambda s: _ms(s.connect_ms)),
    ("Sent (ms)", lambda s: _ms(s.sent_ms)),
    ("1st byte (ms)", lambda s: _ms(s.first_byte_ms)),
    ("1st token (ms)", lambda s: _ms(s.first_token_ms)),
    ("Last token (ms)", lambda s: _ms(s.last_token_ms)),
    ("Total (ms)", lambda s: _ms(s.total_ms)),
    ("Tokens", lambda s: str(s.tokens)),
    ("tok/s", lambda s: "" if s.tokens_per_s is None else f"{s.tokens_per_s:.0f}"),
    ("Received (B)", lambda s: f"{s.bytes_received:,}"),
    ("B/token", lambda s: "" if s.bytes_per_token is None else f"{s.bytes_per_token:.1f}"),
    (
        "Overhead (% of bytes)",
        lambda s: "" if s.overhead is None else f"{s.overhead * 100:.1f} %",
    ),
)
COLUMN_TIPS: dict[str, str] = {
    "Chat": "The conversation that made the request",
    "Protocol": "SSE (a streamed HTTP response) or WebSocket",
    "URL": "Where the request went",
    "HTTP": "HTTP version of the connection (a WebSocket starts as HTTP/1.1)",
    "Status": "HTTP status, or the WebSocket close code",
    "Retries": "Attempts made again before the first token, and the time waited between them",
    "Resumed": "Where the reply broke (kind @ tokens so far) and how it went on",
    "Connect (ms)": f"Connection set up (TCP, TLS, WebSocket handshake): {MILESTONE}",
    "Sent (ms)": f"Request written: {MILESTONE}",
    "1st byte (ms)": f"First byte of the answer: {MILESTONE}",
    "1st token (ms)": f"First token of text (time to first token): {MILESTONE}",
    "Last token (ms)": f"Last token of text: {MILESTONE}",
    "Total (ms)": f"The stream ended: {MILESTONE}",
    "Tokens": "Text pieces received (as the server sent them)",
    "tok/s": "Tokens per second, between the first and the last token",
    "Received (B)": "Bytes received for the reply: the text and all the framing around it",
    "B/token": "Bytes received per token of text",
    "Overhead (% of bytes)": (
        "Share of the bytes received that are not the reply's text: SSE lines or WebSocket"
        " frames, JSON keys, ids and usage. 98.8 % means 1.2 % of the bytes were text."
    ),
}
_TIPS = tuple(COLUMN_TIPS[name] for name, _ in COLUMNS)
_OVERHEAD = len(COLUMNS) - 1


class RequestsModel(QAbstractTableModel):
    """Requests in the order they started; figures of live requests are recomputed per refresh."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.traces: list[StreamTrace] = []
        self.labels: list[str] = []
        self._stats: list[TraceStats] = []
        self._final: list[bool] = []
        self._ids: set[int] = set()

    def add(self, trace: StreamTrace, label: str) -> bool:
        """Add a request once (by identity); returns False if it is already listed."""
        if id(trace) in self._ids:
            return False
        self._ids.add(id(trace))
        row = len(self.traces)
        self.beginInsertRows(QModelIndex(), row, row)
        self.traces.append(trace)
        self.labels.append(label)
        self._stats.append(trace_stats(trace))
        self._final.append(trace.t_end is not None)
        self.endInsertRows()
        return True

    def refresh(self) -> bool:
        """Recompute the live rows; True if any figure may have changed."""
        changed = False
        for row, trace in enumerate(self.traces):
            if self._final[row]:
                continue
            self._stats[row] = trace_stats(trace)
            self._final[row] = trace.t_end is not None
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            changed = True
        return changed

    def stats(self, row: int) -> TraceStats:
        return self._stats[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.traces)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:  # the unit on a second line: narrow columns
            return COLUMNS[section][0].replace(" (", "\n(")
        if role == Qt.ItemDataRole.ToolTipRole:
            return _TIPS[section]
        return None

    def data(self, index: Index, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            figure = COLUMNS[col][1]
            return self.labels[row] if figure is None else figure(self._stats[row])
        if role == Qt.ItemDataRole.ToolTipRole:
            return _overhead_tip(self._stats[row]) if col == _OVERHEAD else _TIPS[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 5:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class FramesModel(QAbstractTableModel):
    """The raw frames of one request: time (ms), direction, size (B), content."""

    HEADERS = ("Time (ms)", "Dir", "Size (B)", "Frame")
    TIPS = (
        MILESTONE,
        "→ sent by us, ← received",
        "Bytes of the frame on the wire",
        "The frame's content (Ctrl+C copies the selected frames)",
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trace: StreamTrace | None = None
        self.rows: list[FrameRow] = []
        self._seen = 0  # frames consumed: len(frames) + frames_dropped at the last refresh
        self._splitter = FrameSplitter("", 0.0)

    def set_trace(self, trace: StreamTrace | None) -> None:
        self.beginResetModel()
        self.trace = trace
        self.rows = []
        self._seen = 0
        self._splitter = FrameSplitter(
            trace.protocol if trace else "", trace.t_start if trace else 0
        )
        self.endResetModel()
        self.refresh()

    def refresh(self) -> None:
        trace = self.trace
        frames = trace.frames if trace is not None else None
        if trace is None or frames is None:
            return
        if not self._splitter.protocol and trace.protocol:
            self._splitter.protocol = trace.protocol
        total = len(frames) + trace.frames_dropped
        new = total - self._seen
        if new <= 0:
            return
        self._seen = total
        fresh = self._splitter.feed(itertools.islice(frames, max(0, len(frames) - new), None))
        if not fresh:
            return
        overflow = len(self.rows) + len(fresh) - MAX_FRAME_ROWS
        if overflow > 0:
            drop = min(overflow, len(self.rows))
            self.beginRemoveRows(QModelIndex(), 0, drop - 1)
            del self.rows[:drop]
            self.endRemoveRows()
            fresh = fresh[-MAX_FRAME_ROWS:]
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self.rows.extend(fresh)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.TIPS[section]
        return None

    def data(self, index: Index, role: int = 0) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"{r.t_ms:.1f}", "→" if r.direction == "out" else "←", str(r.size), r.text)[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == 3:
            return plain_tooltip(r.text[:2000])  # the wire's bytes: never HTML
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
