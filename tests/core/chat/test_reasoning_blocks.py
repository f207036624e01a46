"""A reply keeps the reasoning blocks of the request that asked for tools with that tool round,
stores them with it, and sends them back with its calls."""

from __future__ import annotations

import json

from streamdesk.core.chat import Reply, Target
from streamdesk.core.chat.reply import ToolRound, rounds_of
from streamdesk.core.chat.tools import reply_messages
from streamdesk.core.events import (
    Failure,
    FailureKind,
    ReasoningBlock,
    ReasoningDelta,
    Retrying,
    TextDelta,
    ToolCall,
)
from streamdesk.core.providers import mock_provider

THOUGHT = ReasoningBlock("Add them.", "EqQBCgIY")
HIDDEN = ReasoningBlock(redacted="EmwKAhgB")
ADD = ToolCall(0, "toolu_a", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}')


def reply() -> Reply:
    return Reply(Target(mock_provider("http://127.0.0.1:1/v1", "ws://127.0.0.1:1/v1"), "m", "sse"))


def test_a_round_takes_the_blocks_its_request_gave_and_the_next_starts_empty() -> None:
    r = reply()
    for event in (ReasoningDelta("Add them."), HIDDEN, THOUGHT, TextDelta("Adding.")):
        r.apply(event)
    first = r.end_round([ADD])
    assert first.reasoning_blocks == (HIDDEN, THOUGHT)
    second = r.end_round([ADD])
    assert second.reasoning_blocks == ()
    messages, tail = reply_messages(r)
    assert [m.reasoning_blocks for m in messages if m.role == "assistant"] == [
        (HIDDEN, THOUGHT),
        (),
    ]
    assert messages[0].content == "Adding." and tail == ""


def test_blocks_of_an_attempt_that_failed_are_dropped() -> None:
    retried = reply()
    retried.apply(HIDDEN)
    retried.apply(Retrying(1, 0.5, Failure(FailureKind.SERVER_ERROR, "")))
    assert retried.end_round([ADD]).reasoning_blocks == ()

    resumed = reply()
    resumed.apply(TextDelta("Add"))
    resumed.apply(THOUGHT)
    resumed.apply(Failure(FailureKind.CUT_MID_STREAM, ""))
    resumed.reopen("continue", 10)
    assert resumed.end_round([ADD]).reasoning_blocks == ()


def test_blocks_survive_the_stored_form_and_older_rounds_read_without_them() -> None:
    found = ToolRound(7, (ADD,), reasoning_blocks=(HIDDEN, THOUGHT))
    stored = json.loads(json.dumps(found.as_dict()))
    assert stored["reasoning_blocks"] == [
        {"redacted": "EmwKAhgB"},
        {"text": "Add them.", "signature": "EqQBCgIY"},
    ]
    (back,) = rounds_of([stored])
    assert back.reasoning_blocks == (HIDDEN, THOUGHT) and back.calls == found.calls
    older = {k: v for k, v in stored.items() if k != "reasoning_blocks"}
    assert "reasoning_blocks" not in ToolRound(7, (ADD,)).as_dict()
    (plain,) = rounds_of([older])
    assert plain.reasoning_blocks == ()


def test_a_copied_round_keeps_its_blocks_and_has_results_of_its_own() -> None:
    found = ToolRound(0, (ADD,), reasoning_blocks=(THOUGHT,))
    copy = found.copy()
    copy.results.append(object())  # type: ignore[arg-type]
    assert copy.reasoning_blocks == (THOUGHT,) and found.results == []
