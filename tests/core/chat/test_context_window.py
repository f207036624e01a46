"""A conversation longer than its model reads: the request leaves out the oldest whole turns so
its estimate fits the context window less the reply's reserve, keeps the system prompt, the new
prompt and a continuation's prefix (sent even when they alone are too long), keeps a turn's tool
rounds with it, counts the messages it left out, and finds the cut from the newest turn back
without making the older turns into messages. A model whose window is unknown gets it all."""

from __future__ import annotations

import dataclasses

import pytest
from tests.core.attachment_files import png

from streamdesk.core.attachments import image_attachment
from streamdesk.core.chat import Conversation, Reply, ReplyStatus, Target, ToolRound, Turn
from streamdesk.core.chat import conversation as conversation_module
from streamdesk.core.chat.context import (
    FILL_PERCENT,
    IMAGE_TOKENS,
    MESSAGE_TOKENS,
    REPLY_ALLOWANCE,
    TOOL_TOKENS,
    estimated_tokens,
    text_tokens,
    tool_tokens,
)
from streamdesk.core.chat.conversation import request_notice
from streamdesk.core.dialects import anthropic
from streamdesk.core.events import ToolCall, ToolResult
from streamdesk.core.providers import BUILTIN_PROVIDERS, ModelInfo, builtin, mock_provider
from streamdesk.core.request import ChatRequest, Message, ToolSpec

WINDOW = 20_000  # tokens: the reserve is a quarter of it (5,000), less than REPLY_ALLOWANCE
TEXT = "x" * 4_000  # 1,200 tokens a message (0.3 a letter), and a few more for its words
TURN = 2 * (1_210 + MESSAGE_TOKENS)  # more than a turn's prompt and reply cost


def room(window: int, reserve: int) -> int:
    """The tokens a request may fill: the margin's share of what the reserve leaves."""
    return (window - reserve) * FILL_PERCENT // 100


RELAY = mock_provider("http://127.0.0.1:9/v1", "ws://127.0.0.1:9/v1/ws")


def target(window: int | None = WINDOW) -> Target:
    model = ModelInfo("small", context_window=window)
    return Target(dataclasses.replace(RELAY, models=(model,)), "small")


def chat(turns: int, window: int | None = WINDOW, **options: object) -> Conversation:
    """A conversation of `turns` finished turns, each a prompt and a reply of 1,004 tokens."""
    to = target(window)
    conversation = Conversation(target=to, **options)  # type: ignore[arg-type]
    conversation.load(
        [
            Turn(
                n,
                f"question {n} {TEXT}",
                Reply(to, parts=[f"answer {n} {TEXT}"], status=ReplyStatus.COMPLETE),
            )
            for n in range(1, turns + 1)
        ]
    )
    return conversation


def tokens(request: ChatRequest) -> int:
    return sum(estimated_tokens(m) for m in request.messages)


def test_the_oldest_turns_stay_out_and_the_newest_the_system_prompt_and_the_prompt_go() -> None:
    conversation = chat(100, system_prompt="Be brief.")
    request = conversation.ask("and now?").request
    sent = request.messages
    assert sent[0] == Message("system", "Be brief.")
    assert sent[-1] == Message("user", "and now?")
    history = sent[1:-1]
    kept = len(history) // 2
    assert 0 < kept < 100
    # the newest whole turns, in order, up to the one before the prompt
    assert [m.content.split()[1] for m in history[::2]] == [str(n) for n in range(101 - kept, 101)]
    assert [m.role for m in history] == ["user", "assistant"] * kept
    fill = room(WINDOW, WINDOW // 4)
    assert tokens(request) <= fill < tokens(request) + TURN
    assert request.left_out == 2 * (100 - kept)


def test_a_model_without_a_window_gets_the_whole_conversation() -> None:
    request = chat(100, window=None).ask("and now?").request
    assert len(request.messages) == 201 and request.left_out == 0
    unlisted = Conversation(target=Target(RELAY, "not-listed"))
    unlisted.load(chat(100).turns)
    assert len(unlisted.ask("and now?").request.messages) == 201


def test_a_short_conversation_goes_whole() -> None:
    request = chat(5).ask("and now?").request
    assert len(request.messages) == 11 and request.left_out == 0


def test_max_tokens_is_the_reserve_when_set() -> None:
    default = chat(100).ask("and now?").request
    wide = chat(100, params={"max_tokens": 10_000}).ask("and now?").request
    assert wide.max_tokens == 10_000
    assert tokens(wide) <= room(WINDOW, 10_000) < tokens(default)
    assert wide.left_out > default.left_out
    big = 1_000_000  # a large window's reserve is REPLY_ALLOWANCE, not a quarter of it
    large = chat(600, window=big).ask("and now?").request
    assert large.left_out
    assert tokens(large) <= room(big, REPLY_ALLOWANCE) < tokens(large) + TURN


@pytest.mark.parametrize(
    ("params", "sent"),
    [
        ({}, 4_096),  # the API requires max_tokens: its default is what the reply may take
        ({"max_tokens": 1_000, "reasoning": True}, 2_048),  # raised for the thinking budget
        ({"max_tokens": 6_000}, 6_000),
    ],
)
def test_the_reserve_is_the_max_tokens_the_body_sends(params: dict[str, object], sent: int) -> None:
    claude = dataclasses.replace(
        builtin("anthropic"), models=(ModelInfo("small", context_window=WINDOW),)
    )
    conversation = chat(100, params=params)
    conversation.target = Target(claude, "small")
    request = conversation.ask("and now?").request
    assert anthropic.request_body(request)["max_tokens"] == sent
    fill = room(WINDOW, sent)
    assert tokens(request) <= fill < tokens(request) + TURN


def test_a_turns_tool_rounds_go_or_stay_out_with_it() -> None:
    conversation = chat(30)
    for turn in conversation.turns:  # each reply asked for a tool before its text
        call = ToolCall(0, f"call-{turn.key}", "lookup", {"q": "x"})
        result = ToolResult(call.call_id, "lookup", "srv", "y" * 2_000)
        turn.reply.tool_rounds = [ToolRound(0, (call,), [result])]
    request = conversation.ask("and now?").request
    history = request.messages[:-1]
    assert request.left_out and history[0].role == "user"
    roles = [m.role for m in history]
    kept = roles.count("user")
    assert roles == ["user", "assistant", "tool", "assistant"] * kept
    asked = {c.call_id for m in history for c in m.tool_calls}
    assert asked == {m.tool_call_id for m in history if m.role == "tool"}
    assert request.left_out == 2 * (30 - kept)  # a prompt and a reply a turn, as shown


def test_the_tools_offered_count_in_the_estimate_and_are_left_to_the_engine() -> None:
    schema = {
        "type": "object",
        "properties": {
            f"field_{i}": {"type": "string", "description": "d" * 400} for i in range(4)
        },
    }
    tools = tuple(ToolSpec(f"tool_{n}", "Looks things up. " * 25, schema) for n in range(3))
    offered = sum(tool_tokens(tool) for tool in tools)
    assert offered > 3 * (TOOL_TOKENS + 400)  # each: 4 descriptions of 100 tokens, and more
    plain = chat(100).ask("and now?").request
    conversation = chat(100)
    conversation.offered_tools = tools
    request = conversation.ask("and now?").request
    assert request.tools == ()  # the engine attaches the tools it lists when it sends
    fill = room(WINDOW, WINDOW // 4)
    assert tokens(request) + offered <= fill < tokens(request) + offered + TURN
    assert request.left_out > plain.left_out
    # the name (30 CJK characters), and `{"type": "object"}`: 10 letters and 7 marks
    assert tool_tokens(ToolSpec("长" * 30)) == TOOL_TOKENS + 40 + 10


def test_a_prompt_too_long_by_itself_is_sent_anyway_with_the_system_prompt() -> None:
    conversation = chat(10, system_prompt="Be brief.")
    huge = "z" * (4 * WINDOW)
    request = conversation.ask(huge).request
    assert request.messages == (Message("system", "Be brief."), Message("user", huge))
    assert request.left_out == 20


def test_a_continuation_keeps_its_prefix_and_the_prompt_it_continues() -> None:
    conversation = chat(100)
    latest = conversation.turns[-1]
    latest.reply.status = ReplyStatus.PARTIAL
    send = conversation.continue_reply(latest)
    assert send is not None
    request = send.request
    assert request.messages[-1] == Message("assistant", f"answer 100 {TEXT}")
    assert request.messages[-2] == Message("user", f"question 100 {TEXT}")
    assert request.messages[0].role == "user" and 0 < request.left_out < 198
    assert request.continuation == "assistant"


def test_left_out_counts_the_prompts_and_replies_a_user_sees() -> None:
    conversation = chat(60)
    first, second, third = conversation.turns[:3]
    third.is_retry, third.prompt = True, ""  # a stored retry: a reply without a prompt
    second.superseded = True  # retried: never sent, so never left out either
    first.reply = Reply(first.target)  # a prompt that got no reply: not sent either
    request = conversation.ask("and now?").request
    kept = sum(m.role == "assistant" for m in request.messages)
    later_left_out = 2 * (60 - 3 - kept)
    assert request.left_out == later_left_out + 1  # the retry's reply alone


def test_the_cut_is_found_from_the_newest_turn_back(monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = chat(5_000)
    made: list[Reply] = []
    reply_messages = conversation_module.reply_messages

    def counting(reply: Reply) -> tuple[list[Message], str]:
        made.append(reply)
        return reply_messages(reply)

    monkeypatch.setattr(conversation_module, "reply_messages", counting)
    request = conversation.ask("and now?").request
    kept = sum(m.role == "assistant" for m in request.messages)
    assert kept < 20 and request.left_out == 2 * (5_000 - kept)
    # only the turns that went and the one that did not fit were made into messages
    assert len(made) == kept + 1
    assert made[0] is conversation.turns[-2].reply  # the newest first


def test_images_count_a_fixed_cost_and_text_that_is_not_ascii_counts_more() -> None:
    photo = image_attachment("dot.png", png(8, 8))
    with_image = Message("user", "", attachments=(photo, photo))
    assert estimated_tokens(with_image) == MESSAGE_TOKENS + 2 * IMAGE_TOKENS
    assert estimated_tokens(Message("user", "abcd" * 100)) == MESSAGE_TOKENS + 120
    assert estimated_tokens(Message("user", "长" * 100)) == MESSAGE_TOKENS + 134
    assert text_tokens("") == 0


def test_the_notice_says_how_many_messages_stayed_out_and_what_the_model_reads() -> None:
    relay = Target(builtin("holysheep"), "gpt-4.1")
    request = ChatRequest("gpt-4.1", (), left_out=9_412)
    assert request_notice(request, relay) == (
        "The oldest 9,412 messages were not sent: the conversation is longer than gpt-4.1"
        " reads (1,047,576 tokens)."
    )
    images = dataclasses.replace(request, left_out=1, image_notice="1 image left out.")
    assert request_notice(images, relay) == (
        "1 image left out. The oldest message was not sent: the conversation is longer than"
        " gpt-4.1 reads (1,047,576 tokens)."
    )
    assert request_notice(ChatRequest("gpt-4.1", ()), relay) == ""


def test_every_hosted_built_in_model_has_a_window_and_local_servers_none() -> None:
    for provider in BUILTIN_PROVIDERS:
        for model in provider.models:
            assert model.context_window, (provider.id, model.id)
    assert builtin("holysheep").context_window("gpt-4.1") == 1_047_576
    assert builtin("anthropic").context_window("claude-sonnet-4-5") == 200_000
    assert builtin("gemini").context_window("gemini-2.5-pro") == 1_048_576
    assert builtin("deepseek").context_window("deepseek-reasoner") == 128_000
    assert builtin("ollama").context_window("llama3.2") is None
