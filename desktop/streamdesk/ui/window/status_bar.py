"""The status bar: connection state, protocol, time to first token, speed, tokens and cost.

It shows whatever `ReplyStats` the current conversation's session last reported, so switching
conversations switches the figures with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


@dataclass(frozen=True, slots=True)
class ReplyStats:
    """Figures about the latest reply of one conversation (None: not known yet)."""

    state: str = "Idle"  # "Connecting", "Streaming", "Retrying", "Done", "Stopped", "Failed"
    protocol: str = ""  # "sse" | "ws"
    ttft: float | None = None  # seconds
    tokens_per_s: float | None = None
    tokens_in: int | None = None
    tokens_out: int = 0
    reply_cost: float | None = None  # USD
    conversation_cost: float | None = None  # USD, every reply so far
    estimated: bool = False  # tokens and reply cost estimated (no usage from the server)
    conversation_estimated: bool = False  # the conversation's cost includes an estimate


def format_cost(usd: float | None, *, estimated: bool = False) -> str:
    """Like "$0.0012", "≈$0.0012" when estimated, "–" when unknown."""
    if usd is None:
        return "–"
    mark = "≈" if estimated else ""
    if usd == 0:
        return f"{mark}$0"
    return f"{mark}${usd:.4f}" if usd < 0.01 else f"{mark}${usd:.3f}"


PROTOCOL_NAMES = {"sse": "SSE", "ws": "WebSocket"}


class StatusBar(QStatusBar):
    """Labels kept in fixed order; `show_stats` rewrites their text only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(True)
        names = ("state", "protocol", "ttft", "speed", "tokens", "cost")
        self.labels: dict[str, QLabel] = {}
        for name in names:
            label = QLabel(self)
            label.setObjectName(f"status_{name}")
            self.labels[name] = label
            self.addPermanentWidget(label)
        self.labels["ttft"].setToolTip("Time to first token")
        self.labels["cost"].setToolTip("Cost of this reply / of the whole conversation")
        self.show_stats(ReplyStats())

    def show_stats(self, s: ReplyStats) -> None:
        lab = self.labels
        lab["state"].setText(f"● {s.state}")
        lab["protocol"].setText(PROTOCOL_NAMES.get(s.protocol, s.protocol.upper() or "–"))
        lab["ttft"].setText("TTFT " + (f"{s.ttft * 1000:.0f} ms" if s.ttft is not None else "–"))
        speed = f"{s.tokens_per_s:.1f} tok/s" if s.tokens_per_s is not None else "– tok/s"
        lab["speed"].setText(speed)
        mark = "≈" if s.estimated else ""
        tin = f"{mark}{s.tokens_in}" if s.tokens_in is not None else "–"
        lab["tokens"].setText(f"in {tin} · out {mark}{s.tokens_out}")
        reply = format_cost(s.reply_cost, estimated=s.estimated)
        chat = format_cost(s.conversation_cost, estimated=s.conversation_estimated)
        lab["cost"].setText(f"{reply} reply · {chat} chat")

    def text(self) -> str:
        """Everything shown, for tests and accessibility."""
        return "  ".join(label.text() for label in self.labels.values())
