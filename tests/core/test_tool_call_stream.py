"""stream_chat with tool calls: a reply that has begun a call is never retried (the call would
stream twice), and its fragments are the reply's first sign of life for the timers."""

from __future__ import annotations

import asyncio

import pytest
from tests.core.test_stream import Scripted, Step, collect, err

from streamdesk.core.events import Done, Failure, FailureKind, ToolCall, ToolCallDelta
from streamdesk.core.request import Timeouts

pytestmark = pytest.mark.asyncio


async def test_a_failure_after_a_tool_call_delta_is_not_retried() -> None:
    t = Scripted([ToolCallDelta(0, "c", "add", '{"a"'), err(FailureKind.SERVER_ERROR)], [Done()])
    events = await collect(t)
    assert [type(e) for e in events] == [ToolCallDelta, Failure] and t.calls == 1


async def test_tool_call_fragments_end_the_first_token_wait() -> None:
    """Fragments keep coming past the first-token deadline: only a stall would fail it."""
    script: list[Step] = [ToolCallDelta(0, "c", "write", "")]
    for _ in range(6):
        script += [0.05, ToolCallDelta(0, "c", "write", "x")]
    call = ToolCall(0, "c", "write", {}, "xxxxxx", error="not JSON")
    events = await collect(
        Scripted([*script, call, Done("tool_calls")]),
        timeouts=Timeouts(first_token=0.15, stall=1.0),
    )
    assert events[-2:] == [call, Done("tool_calls")]


async def test_silence_after_a_tool_call_delta_is_a_stall() -> None:
    never = asyncio.Event()
    events = await collect(
        Scripted([ToolCallDelta(0, "c", "f", "{"), never]),
        timeouts=Timeouts(first_token=5.0, stall=0.05),
    )
    assert isinstance(events[-1], Failure) and events[-1].kind is FailureKind.STALLED
