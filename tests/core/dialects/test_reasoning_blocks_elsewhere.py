"""Reasoning blocks are Anthropic's to send back: every other API's request is the same with
or without them."""

from __future__ import annotations

import pytest

from streamdesk.core.dialects import DIALECTS
from streamdesk.core.events import ReasoningBlock, ToolCall
from streamdesk.core.request import ChatRequest, Message

ADD = ToolCall(0, "call_1", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}', signature="c2ln")
BLOCKS = (ReasoningBlock("I should add.", "EqQB"), ReasoningBlock(redacted="EmwK"))


def request(blocks: tuple[ReasoningBlock, ...]) -> ChatRequest:
    return ChatRequest(
        "model",
        (
            Message("user", "add 2 and 3"),
            Message("assistant", "Adding.", tool_calls=(ADD,), reasoning_blocks=blocks),
            Message("tool", "5", tool_call_id="call_1", name="add"),
        ),
        reasoning=True,
    )


@pytest.mark.parametrize("api", ["gemini", "responses"])
def test_other_dialects_ignore_reasoning_blocks(api: str) -> None:
    write = DIALECTS[api].request_body
    assert write(request(BLOCKS)) == write(request(()))


def test_chat_completions_and_websocket_ignore_reasoning_blocks() -> None:
    assert request(BLOCKS).openai_body() == request(()).openai_body()
    assert request(BLOCKS).websocket_message() == request(()).websocket_message()
