"""The pacing loop shared by SSE and WebSocket: when each token goes out, and when a fault fires.

Token `i` is due at `start + i / rate`. At high rates the loop wakes once per timer tick and sends
every token that fell due in one write (still one SSE event / WS frame per token), so the pace is
right on average without a sleep per token; at rate "inf" it sends batches of `FAST_BATCH`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from streamdesk.mock.scenarios import FAULT_AFTER, MID_STREAM_FAULTS, Pace

FAST_BATCH = 256


class Sink(Protocol):
    """Where a reply goes: an SSE response body or a WebSocket connection."""

    @property
    def closed(self) -> bool: ...

    async def send(self, payloads: Sequence[str]) -> None:
        """Send each payload as one event or frame."""

    async def fault(self, scenario: str) -> bool:
        """Play a mid-stream fault; True to go on with the reply."""


async def play(
    sink: Sink,
    prelude: Sequence[str],
    events: Sequence[str],
    trailer: Sequence[str],
    pace: Pace,
    scenario: str,
) -> bool:
    """Stream `prelude` with the first token, `events` at `pace`, then `trailer`.

    Returns False when the reply ended early (a fault or the peer went away).
    """
    loop = asyncio.get_running_loop()
    interval = pace.interval
    start = loop.time() + pace.first_token_delay
    fault_at = min(FAULT_AFTER, len(events)) if scenario in MID_STREAM_FAULTS else -1
    if scenario == "cut-at-start":
        fault_at = 0
    pending = list(prelude)
    i, n = 0, len(events)
    while True:
        if i == fault_at:
            fault_at = -1
            if pending:
                await sink.send(pending)
                pending = []
            if sink.closed or not await sink.fault(scenario):
                return False
            start = loop.time() - i * interval
            continue
        if i >= n:
            break
        due = start + i * interval
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
            now = loop.time()
        step = 1 + int((now - due) / interval) if interval else FAST_BATCH
        j = min(n, i + step)
        if i < fault_at < j:
            j = fault_at
        await sink.send([*pending, *events[i:j]] if pending else events[i:j])
        pending = []
        if sink.closed:
            return False
        i = j
    if n == 0 and pace.first_token_delay:
        await asyncio.sleep(pace.first_token_delay)
    await sink.send([*pending, *trailer])
    return not sink.closed
