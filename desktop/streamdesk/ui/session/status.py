"""A session's retry countdown and its status-bar statistics (split out of session.py;
`ChatSession` inherits `SessionStatus`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from streamdesk.core.events import Retrying
from streamdesk.ui.failures import FAILURE_TITLES
from streamdesk.ui.session.turns import Turn
from streamdesk.ui.window.status_bar import ReplyStats


class SessionStatus:
    """Notices while a retry waits, and the coalesced `statsChanged` of the running reply."""

    _countdown: asyncio.Task[None] | None
    stats: ReplyStats
    turns: list[Turn]

    if TYPE_CHECKING:  # the signals and the timer are ChatSession's

        def __getattr__(self, name: str) -> Any: ...

    # -- retry countdown ------------------------------------------------------------------

    def _start_countdown(self, reply: Any, event: Retrying) -> None:
        title = FAILURE_TITLES.get(event.failure.kind, "Failed")
        self._countdown = asyncio.get_running_loop().create_task(
            self._count_down(reply, title, event.delay)
        )

    def _stop_countdown(self) -> None:
        if self._countdown is not None:
            self._countdown.cancel()
            self._countdown = None

    def _notice(self, reply: Any, text: str) -> None:
        reply.set_notice(text)
        self.noticeChanged.emit(getattr(reply, "key", None), text)

    async def _count_down(self, reply: Any, title: str, delay: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + delay
        while (left := end - loop.time()) > 0:
            shown = f"{left:.0f} s" if left >= 1 else f"{left:.1f} s"
            self._notice(reply, f"{title}: retrying in {shown}")
            await asyncio.sleep(min(1.0, left) if left >= 1 else left)
        self._notice(reply, f"{title}: retrying now…")

    # -- statistics -----------------------------------------------------------------------

    def _tick(self, turn: Turn, state: str) -> None:
        self.updated.emit(turn.key)
        if self.stats.state != state:
            self._set_state(state, turn)
        elif not self._stats_timer.isActive():
            self._stats_timer.start()

    def _emit_stats(self) -> None:
        turn = next((t for t in reversed(self.turns) if t.status == "streaming"), None)
        if turn is not None:
            self._set_state(self.stats.state, turn)

    def _set_state(self, state: str, turn: Turn) -> None:
        trace = turn.trace
        ttft = speed = None
        out = turn.completion_tokens
        if trace is not None:
            ttft = trace.ttft
            times = trace.token_times
            if turn.status == "streaming":
                out = max(out, len(times))
            if len(times) > 1 and times[-1] > times[0]:
                speed = (len(times) - 1) / (times[-1] - times[0])
        self.stats = ReplyStats(
            state=state,
            protocol=turn.target.protocol,
            ttft=ttft,
            tokens_per_s=speed,
            tokens_in=turn.prompt_tokens,
            tokens_out=out,
            reply_cost=turn.cost,
            conversation_cost=self.conversation_cost(),
            estimated=turn.estimated,
            conversation_estimated=any(t.estimated for t in self.turns if t.cost is not None),
        )
        self.statsChanged.emit(self.stats)

    def conversation_cost(self) -> float | None:
        """Sum of the known reply costs, estimates included (None when none is known)."""
        costs = [t.cost for t in self.turns if t.cost is not None]
        return sum(costs) if costs else None
