"""With thinking on, the mock's Anthropic dialect signs its thinking before a tool call and,
as the real API does, refuses the next request unless that thinking comes back first and
unchanged in the assistant message of the call. The official SDK, which echoes the message as
it received it, is the judge: what it sends back is accepted, and Streamdesk writes the same
blocks from what its own interpreter read."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types import Message as Message_
from tests.mock.sdks import Clients
from tests.mock.wire import raw_post

from streamdesk.core.dialects import dialect
from streamdesk.core.dialects.anthropic import request_body
from streamdesk.core.events import ReasoningBlock, TextDelta, ToolCall
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.sse import SSEDecoder
from streamdesk.mock import MockServer

pytestmark = pytest.mark.asyncio

PROMPT = "add 2 and 3"
ADD: Any = {
    "name": "add",
    "description": "Add two numbers",
    "input_schema": {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
}
THINKING: Any = {"type": "enabled", "budget_tokens": 1024}
ASKED: Any = [{"role": "user", "content": PROMPT}]


async def sdk_message(clients: Clients, messages: Any, **thinking: Any) -> Message_:
    """The SDK's final message for `messages` streamed from the mock with the add tool."""
    async with clients.anthropic.messages.stream(
        model="claude-sonnet-4.5", max_tokens=4096, messages=messages, tools=[ADD], **thinking
    ) as stream:
        return await stream.get_final_message()


def text_of(message: Message_) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


async def first_round(clients: Clients) -> list[dict[str, Any]]:
    """The assistant's content blocks as the SDK assembled them from the mock's stream."""
    final = await sdk_message(clients, ASKED, thinking=THINKING)
    assert final.stop_reason == "tool_use"
    return [b.model_dump(exclude_none=True) for b in final.content]


async def answer(clients: Clients, content: list[dict[str, Any]]) -> str:
    use = next(b for b in content if b["type"] == "tool_use")
    messages: Any = [
        *ASKED,
        {"role": "assistant", "content": content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "5"}],
        },
    ]
    return text_of(await sdk_message(clients, messages, thinking=THINKING))


async def test_the_sdk_echoing_the_assistant_message_is_answered(clients: Clients) -> None:
    content = await first_round(clients)
    assert [b["type"] for b in content] == ["thinking", "tool_use"]
    assert content[0]["signature"] and content[0]["thinking"]
    assert await answer(clients, content) == "The add tool returned: 5."


async def test_thinking_dropped_or_changed_is_refused_as_the_api_refuses_it(
    clients: Clients,
) -> None:
    content = await first_round(clients)
    with pytest.raises(anthropic.BadRequestError, match="Expected `thinking` or `redacted"):
        await answer(clients, content[1:])
    changed = {**content[0], "thinking": content[0]["thinking"] + " "}
    with pytest.raises(anthropic.BadRequestError, match="Invalid `signature`"):
        await answer(clients, [changed, *content[1:]])


async def test_without_thinking_asked_nothing_is_checked(clients: Clients) -> None:
    use: Any = {"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 2, "b": 3}}
    messages: Any = [
        *ASKED,
        {"role": "assistant", "content": [use]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "5"}],
        },
    ]
    assert text_of(await sdk_message(clients, messages)) == "The add tool returned: 5."


async def test_streamdesk_sends_back_the_blocks_the_sdk_would(
    server: MockServer, clients: Clients
) -> None:
    body = {
        "model": "claude-sonnet-4.5",
        "max_tokens": 4096,
        "stream": True,
        "messages": ASKED,
        "tools": [ADD],
        "thinking": THINKING,
    }
    raw = (await raw_post(server.port, body, path="/v1/messages")).body
    interpreter, decoder = dialect("anthropic").interpreter(), SSEDecoder()
    events = [e for sse in decoder.feed(raw) for e in interpreter.interpret(sse)]
    blocks = tuple(e for e in events if isinstance(e, ReasoningBlock))
    calls = tuple(e for e in events if isinstance(e, ToolCall))
    request = ChatRequest(
        "claude-sonnet-4.5",
        (
            Message("user", PROMPT),
            Message("assistant", "", tool_calls=calls, reasoning_blocks=blocks),
            Message("tool", "5", tool_call_id=calls[0].call_id, name="add"),
        ),
        reasoning=True,
    )
    written = request_body(request)["messages"][1]["content"]
    expected = await first_round(clients)
    assert written[0] == expected[0]  # the thinking block, signature and all
    assert [b["type"] for b in written] == [b["type"] for b in expected]
    sent = {**body, "messages": request_body(request)["messages"]}
    reply = await raw_post(server.port, sent, path="/v1/messages")
    assert reply.status == 200, reply.body
    interpreter = dialect("anthropic").interpreter()
    said = [e for sse in SSEDecoder().feed(reply.body) for e in interpreter.interpret(sse)]
    assert "".join(e.text for e in said if isinstance(e, TextDelta)) == "The add tool returned: 5."
