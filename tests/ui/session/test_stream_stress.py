"""Stress: many long fast replies, mock and client sharing the app's qasync loop, a slow consumer.

QA saw a normal reply end as cut_mid_stream ("incomplete chunked read") near its end while the
GUI was busy. This drives the same shape: the in-process mock and the SSE/WebSocket client on
one qasync loop, three streams at once, and a consumer that now and then yields in bursts or
holds the loop for a few ms (a long paint), which fills the socket buffers and exercises the
mock's write/drain path and keep-alive. Every reply must arrive whole, ending with `Done`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest

from streamdesk.core.events import Done, Failure, TextDelta
from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import stream_chat
from streamdesk.core.transports import make_transport
from streamdesk.mock import MockServer

TOKENS = 3000
REPLIES = 9
AT_ONCE = 3
QUICK = Timeouts(connect=5.0, first_token=20.0, stall=20.0)


async def consume(ep: Endpoint, protocol: str, n: int, rnd: random.Random) -> tuple[int, object]:
    """One reply with a jittery consumer; (text deltas, last event)."""
    transport = make_transport(protocol, ep)
    request = ChatRequest("gpt-4.1", (Message("user", f"stress {n}"),))
    deltas, last = 0, None
    events = stream_chat(transport, request, timeouts=QUICK, max_retries=0)
    try:
        async with contextlib.aclosing(events):
            async for event in events:
                last = event
                if not isinstance(event, TextDelta):
                    continue
                deltas += 1
                x = rnd.random()
                if x < 0.002:  # a long paint: the loop is held, the mock's writes back up
                    until = time.perf_counter() + rnd.uniform(0.002, 0.02)
                    while time.perf_counter() < until:
                        pass
                elif x < 0.03:  # other tasks and Qt events get their turn
                    for _ in range(rnd.randint(1, 20)):
                        await asyncio.sleep(0)
    finally:
        await transport.aclose()
    return deltas, last


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
@pytest.mark.parametrize("rate", [0.0, 20_000.0])
async def test_long_fast_replies_arrive_whole_on_a_shared_busy_loop(
    protocol: str, rate: float
) -> None:
    rnd = random.Random(f"{protocol}{rate}")
    async with MockServer(tokens_per_second=rate, first_token_delay=0, reply_tokens=TOKENS) as m:
        ep = Endpoint(m.sse_base_url, m.ws_url, timeouts=QUICK, proxy="")
        gate = asyncio.Semaphore(AT_ONCE)

        async def one(n: int) -> tuple[int, object]:
            async with gate:
                return await consume(ep, protocol, n, rnd)

        results = await asyncio.gather(*(one(n) for n in range(REPLIES)))
    cut = [(d, e) for d, e in results if not isinstance(e, Done)]
    assert not cut, [(d, e.message if isinstance(e, Failure) else e) for d, e in cut]
    assert all(d == TOKENS for d, _ in results)
