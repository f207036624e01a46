"""A reply's figures when tools ran between its requests: tokens per second count only the
time tokens streamed (each request's first to last token), not the time the tools took, and
the time to first token is the first request's."""

from __future__ import annotations

import asyncio
import contextlib
from array import array
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from scripted import ScriptedChat

from streamdesk.core.chat import (
    Conversation,
    Target,
    ToolRunner,
    allow_all,
    base_url_provider,
    stream_reply,
)
from streamdesk.core.tools import CallOutcome, Catalog, ServerTool
from streamdesk.core.trace import StreamTrace

TOOL_SECONDS = 0.3  # what the tool takes: more than the scripted server's whole stream


class SlowAdder:
    """A tool source with one tool, `add`, that takes `TOOL_SECONDS` to answer."""

    async def catalog(self, names: Iterable[str]) -> Catalog:
        return Catalog({"add": ServerTool("calc", "add")})

    async def call(
        self, server: str, tool: str, arguments: Mapping[str, Any], time_limit: float | None = None
    ) -> CallOutcome:
        await asyncio.sleep(TOOL_SECONDS)  # the tool's own work
        return CallOutcome(str(arguments["a"] + arguments["b"]))


def test_tokens_per_second_sums_the_stretches_between_pauses() -> None:
    trace = StreamTrace()
    trace.token_times = array("d", [0.0, 1.0, 2.0, 10.0, 11.0])
    assert trace.tokens_per_second == pytest.approx(4 / 11)
    trace.pause()
    trace.pause()
    assert trace.pauses == [5], "a second pause with no token since marks nothing"
    trace.pauses = [3]
    assert trace.tokens_per_second == pytest.approx(3 / 3), "2 s + 1 s of streaming, 3 gaps"
    lone = StreamTrace()
    lone.pause()
    assert lone.pauses == [], "a pause before any token marks nothing"


@pytest.mark.asyncio
async def test_a_replys_speed_leaves_out_the_time_its_tools_ran() -> None:
    async with ScriptedChat({"add": {"a": 2, "b": 3}}) as chat:
        target = Target(base_url_provider(chat.base_url), "scripted", "sse")
        send = Conversation(target).ask("please add two numbers")
        reply = send.turn.reply
        events = stream_reply(
            reply, send.request, keys=None, tools=ToolRunner(SlowAdder(), ["calc"], allow_all)
        )
        async with contextlib.aclosing(events):
            async for _ in events:
                pass
    assert reply.text == "Let me check.The tool said: 5."
    trace = reply.trace
    assert trace is not None and trace.pauses == [1], "one token before the tool round"
    times = trace.token_times
    assert times[1] - times[0] >= TOOL_SECONDS, "the tool ran between the two requests"
    speed = reply.figures().tokens_per_s
    assert speed is not None
    streamed = (len(times) - 2) / speed  # the seconds counted as streaming
    assert streamed == pytest.approx(times[-1] - times[1])
    assert streamed < TOOL_SECONDS
    timings = reply.timings()
    assert timings is not None and timings["tokens_per_s"] == round(speed, 2)
    assert reply.ttft == reply.first_ttft, "the first request's time to first token"
