"""Chat-completions token events are framed as they are sent, not all before the first byte."""

from __future__ import annotations

import json
from typing import SupportsIndex, overload

import pytest

from streamdesk.mock.chat import Chat
from streamdesk.mock.scenarios import Pace
from streamdesk.mock.sse import LazyEvents, chat_reply
from streamdesk.mock.tools import MockCall


class ReadTokens(list[str]):
    """A token list that counts the tokens read out of it."""

    read = 0

    @overload
    def __getitem__(self, index: SupportsIndex) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> str | list[str]:
        if isinstance(index, slice):
            run = super().__getitem__(index)
            self.read += len(run)
            return run
        self.read += 1
        return super().__getitem__(index)


def _chat(content: list[str], reasoning: list[str] | None = None, calls: int = 0) -> Chat:
    tool_calls = [MockCall(f"c{i}", "add", {"a": i}, ('{"a":', f"{i}}}")) for i in range(calls)]
    return Chat(
        "gpt-4.1",
        "none",
        "hi",
        reasoning or [],
        content,
        "stop",
        3,
        True,
        Pace(0.001, 0, 0),
        tool_calls,
    )


def test_lazy_events_read_like_the_list_they_stand_for() -> None:
    eager = [f"a{t}" for t in "xyz"] + [f"b{t}" for t in "uv"]
    lazy = LazyEvents(
        (list("xyz"), lambda t: f"a{t}"), ([], lambda t: "never"), (list("uv"), lambda t: f"b{t}")
    )
    assert len(lazy) == len(eager) and list(lazy) == eager
    assert [lazy[i] for i in range(-5, 5)] == [eager[i] for i in range(-5, 5)]
    for start in range(7):
        for stop in range(7):
            assert lazy[start:stop] == eager[start:stop]
    assert lazy[::2] == eager[::2] and lazy[::-1] == eager[::-1]
    with pytest.raises(IndexError):
        lazy[5]


def test_chat_reply_frames_a_token_only_when_its_event_is_read() -> None:
    tokens = ReadTokens(f"word{i} " for i in range(50_000))
    reply = chat_reply(_chat(tokens))
    assert tokens.read == 0 and len(reply.events) == 50_000
    sent = reply.events[100:116]
    assert tokens.read == 16
    deltas = [json.loads(e.removeprefix("data: "))["choices"][0]["delta"] for e in sent]
    assert deltas == [{"content": f"word{i} "} for i in range(100, 116)]


def test_events_run_reasoning_then_content_then_tool_calls() -> None:
    reply = chat_reply(_chat(["a", "b"], reasoning=["r"], calls=2))
    deltas = [json.loads(e.removeprefix("data: "))["choices"][0]["delta"] for e in reply.events]
    assert deltas[:3] == [{"reasoning_content": "r"}, {"content": "a"}, {"content": "b"}]
    calls = [d["tool_calls"][0] for d in deltas[3:]]
    assert [c["index"] for c in calls] == [0, 0, 0, 1, 1, 1]
    assert "".join(c["function"]["arguments"] for c in calls if c["index"] == 1) == '{"a":1}'
