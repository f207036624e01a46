"""The status bar: connection state, protocol, time to first token, speed, tokens and cost.

It shows whatever `ReplyStats` the current conversation's session last reported, so switching
conversations switches the figures with it. A brand-new chat shows only "Ready", and a figure
not known is left out: dashes for figures that do not exist read like a debugging tool.
Replies from the offline demo cost nothing, so their cost reads "demo" (the list-price
equivalent is in the tooltip).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from streamdesk.ui.plain_text import make_plain

if TYPE_CHECKING:
    from streamdesk.core.chat import ReplyFigures


class ReplyStats(NamedTuple):
    """Figures about the latest reply of one conversation (None: not known yet). A NamedTuple:
    the status bar is part of the first frame, which loads no dataclasses."""

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

    @classmethod
    def of(
        cls, state: str, figures: ReplyFigures, conversation_cost: tuple[float | None, bool]
    ) -> ReplyStats:
        """From a reply's figures and its conversation's (cost, any estimated)."""
        total, any_estimated = conversation_cost
        return cls(
            state=state,
            protocol=figures.protocol,
            ttft=figures.ttft,
            tokens_per_s=figures.tokens_per_s,
            tokens_in=figures.prompt_tokens,
            tokens_out=figures.completion_tokens,
            reply_cost=figures.cost,
            conversation_cost=total,
            estimated=figures.estimated,
            conversation_estimated=any_estimated,
        )


def format_duration(seconds: float) -> str:
    """ "312 ms" below a second, "1.24 s" above."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def format_speed(tokens_per_s: float) -> str:
    """ "42.1 tok/s", whole numbers from 100 on."""
    return f"{tokens_per_s:.0f} tok/s" if tokens_per_s >= 100 else f"{tokens_per_s:.1f} tok/s"


def finished_state(status: str, finish_reason: str | None = None) -> str:
    """The state word of a reply that ended with `status` ("complete", "stopped", …) and the
    server's `finish_reason` ("length": cut by the max-tokens limit)."""
    if status == "complete" and finish_reason == "length":
        return "Max tokens reached"
    return {"complete": "Done", "stopped": "Stopped"}.get(status, "Failed")


PROTOCOL_NAMES = {"sse": "SSE", "ws": "WebSocket"}
FIGURES = ("protocol", "ttft", "speed", "tokens", "cost")


class StatusBar(QStatusBar):
    """Labels kept in fixed order; `show_stats` rewrites their text only. `note` shows a line
    about the next request until `clear_note` (the window clears it once a request starts);
    a link's address while the mouse is on it, or a passing message, covers the note for a
    while and the note comes back after."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(True)
        self.labels: dict[str, QLabel] = {}
        for name in ("state", *FIGURES):
            label = make_plain(QLabel(self))  # the state may name a server's tool
            label.setObjectName(f"status_{name}")
            self.labels[name] = label
            self.addPermanentWidget(label)
        self.labels["ttft"].setToolTip("Time to first token")
        self.labels["speed"].setToolTip("Output tokens per second while streaming")
        self.labels["tokens"].setToolTip("Prompt and reply tokens (≈: estimated)")
        self._note = ""
        self._hovered = ""  # the link address shown while the mouse is on it
        self.messageChanged.connect(self._bring_back_note)
        self.show_stats(ReplyStats())

    def show_stats(self, s: ReplyStats, *, demo: bool = False) -> None:
        """Show `s`; with `demo`, the reply came from the offline demo: no money is involved."""
        lab = self.labels
        fresh = s.state == "Idle" and s.ttft is None and not s.tokens_out
        lab["state"].setText("● Ready" if fresh else f"● {s.state}")
        for name in FIGURES:
            lab[name].setVisible(not fresh)
        if fresh:
            return
        lab["protocol"].setText(PROTOCOL_NAMES.get(s.protocol, s.protocol.upper() or "–"))
        # A figure not known (yet, or not stored with an old reply) is left out, not dashed.
        lab["ttft"].setText("TTFT " + format_duration(s.ttft) if s.ttft is not None else "")
        lab["ttft"].setVisible(s.ttft is not None)
        lab["speed"].setText(format_speed(s.tokens_per_s) if s.tokens_per_s is not None else "")
        lab["speed"].setVisible(s.tokens_per_s is not None)
        mark = "≈" if s.estimated else ""
        tin = f"{mark}{s.tokens_in:,}" if s.tokens_in is not None else "–"
        lab["tokens"].setText(f"in {tin} · out {mark}{s.tokens_out:,} tokens")
        lab["tokens"].setVisible(s.tokens_in is not None or s.tokens_out > 0)
        from streamdesk.core.wording import DEMO_COST, money  # not before the first frame

        reply = money(s.reply_cost, estimated=s.estimated)
        chat = money(s.conversation_cost, estimated=s.conversation_estimated)
        if demo:
            lab["cost"].setText(f"Cost: {DEMO_COST}")
            lab["cost"].setToolTip(
                "The offline demo is free. At the model's list price this reply would cost "
                f"{reply} (the whole chat {chat})."
            )
        else:
            lab["cost"].setText(f"{reply} reply · {chat} chat")
            lab["cost"].setToolTip("Cost of this reply / of the whole conversation")
        lab["cost"].setVisible(s.reply_cost is not None or s.conversation_cost is not None)

    def note(self, text: str) -> None:
        """A line about the next request, shown until `clear_note`."""
        self._note = text
        self.showMessage(text)

    def clear_note(self) -> None:
        """A request started: a line about the next one (or an edit being made) is stale."""
        self._note = ""
        self.clearMessage()

    def show_link(self, address: str) -> None:
        """Where the link under the mouse goes; "" (the mouse left it) takes it away again,
        unless something else was said since (a link that could not be opened)."""
        if address:
            self._hovered = address
            self.showMessage(address)
        elif self._hovered and self.currentMessage() == self._hovered:
            self._hovered = ""
            self.clearMessage()

    def say(self, sentence: str, ms: int = 8000) -> None:
        """A passing message (a link that was refused or could not be opened), for `ms`."""
        self._hovered = ""
        self.showMessage(sentence, ms)

    def _bring_back_note(self, message: str) -> None:
        if not message and self._note:
            self.showMessage(self._note)

    def text(self) -> str:
        """Everything shown, for tests and accessibility."""
        shown = [label.text() for label in self.labels.values() if not label.isHidden()]
        return "  ".join(([self.currentMessage()] if self.currentMessage() else []) + shown)
