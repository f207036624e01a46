"""Test connection: stream a tiny reply and stop at the first token, through the engine.

No retries (the user wants the truth now) and a reply of a few tokens at most (cheap on a paid
API). The result is facts; the settings dialog phrases them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass

from streamdesk.core.chat.engine import stream_reply
from streamdesk.core.chat.reply import Reply
from streamdesk.core.chat.target import KeySource, Target
from streamdesk.core.events import Done, Failure, TextDelta
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.trace import StreamTrace

PROBE_PROMPT = "Reply with one word: ok"
PROBE_MAX_TOKENS = 3  # enough for a first token


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """How a probe ended: a first token (`first_token_ms`), a reply without text
    (`round_trip_ms`), a failure, or a stream that closed without either."""

    first_token_ms: float | None = None
    round_trip_ms: float | None = None
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and (
            self.first_token_ms is not None or self.round_trip_ms is not None
        )


async def probe(target: Target, keys: KeySource | None) -> ProbeResult:
    """Send the probe prompt to `target` and stop at the first token."""
    target = dataclasses.replace(target, max_retries=0)
    request = ChatRequest(
        target.request_model, (Message("user", PROBE_PROMPT),), max_tokens=PROBE_MAX_TOKENS
    )
    trace = StreamTrace()
    started = time.perf_counter()
    events = stream_reply(Reply(target), request, keys=keys, trace=trace)
    async with contextlib.aclosing(events):
        async for event in events:
            if isinstance(event, TextDelta | Done):
                if trace.ttft is None:  # finished without text: the whole round trip
                    return ProbeResult(round_trip_ms=(time.perf_counter() - started) * 1000)
                return ProbeResult(first_token_ms=trace.ttft * 1000)
            if isinstance(event, Failure):
                return ProbeResult(failure=event)
    return ProbeResult()
