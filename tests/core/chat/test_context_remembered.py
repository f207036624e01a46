"""A text's estimate is remembered: a message sent again costs a look-up, not a count of its
characters, and the figure is the one counted afresh (text, images, tool calls, tool results,
reasoning). A changed text is counted again, what is remembered stays within two generations,
and threads that estimate at once get the same figures. A long chat sent twice counts only the
new prompt the second time, and trims it as before."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.core.attachment_files import png

from streamdesk.core.attachments import image_attachment
from streamdesk.core.chat import Conversation, Reply, ReplyStatus, Target, Turn, context
from streamdesk.core.chat.context import (
    IMAGE_TOKENS,
    MESSAGE_TOKENS,
    TextEstimates,
    estimated_tokens,
    text_tokens,
)
from streamdesk.core.events import ReasoningBlock, ToolCall
from streamdesk.core.providers import ModelInfo, mock_provider
from streamdesk.core.request import Message, arguments_json

IMAGE = image_attachment("dot.png", png(2, 2))
MESSAGES = [
    Message("system", "Be brief."),
    Message("user", "parse `config.toml` and print 3 keys\n" * 40),
    Message("user", "長い会話の最後に送る 🚀 Ünïcödé", attachments=(IMAGE, IMAGE)),
    Message(
        "assistant",
        "Reading it.",
        tool_calls=(
            ToolCall(0, "call_1", "read_file", {"path": "config.toml", "lines": [1, 2, 3]}),
            ToolCall(1, "call_2", "search", arguments_text='{"query": "ключ", "limit": 5}'),
            ToolCall(2, "call_3", "broken", error="arguments are not a JSON object"),
        ),
        reasoning_blocks=(ReasoningBlock("The user wants three keys.", signature="sig"),),
    ),
    Message("tool", '{"title": "x", "port": 8080}', tool_call_id="call_1", name="read_file"),
    Message("tool", "no such file", tool_call_id="call_2", name="search", is_error=True),
    Message("assistant", ""),
]


def counted_afresh(message: Message) -> int:
    """The estimate of `message` with every text counted now (nothing remembered)."""
    texts = [message.content, *(block.text for block in message.reasoning_blocks)]
    texts += [part for call in message.tool_calls for part in (call.name, arguments_json(call))]
    return (
        MESSAGE_TOKENS
        + sum(text_tokens(text) for text in texts)
        + IMAGE_TOKENS * len(message.attachments)
    )


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts counted (not looked up) from now on, by an estimate that remembers nothing
    yet."""
    counted: list[str] = []
    count = text_tokens

    def counting(text: str) -> int:
        counted.append(text)
        return count(text)

    monkeypatch.setattr(
        context, "TEXT_ESTIMATES", TextEstimates(context.TEXT_ESTIMATES.generation_bytes)
    )
    monkeypatch.setattr(context, "text_tokens", counting)
    yield counted


def copy(text: str) -> str:
    """An equal string that is another object (as a reply's text joined again is)."""
    return "".join([text[:1], text[1:]]) if text else text


def test_a_remembered_estimate_is_the_one_counted_afresh(counts: list[str]) -> None:
    for message in MESSAGES:
        assert estimated_tokens(message) == counted_afresh(message)
        again = dataclasses.replace(message, content=copy(message.content))
        assert estimated_tokens(message) == estimated_tokens(again) == counted_afresh(message)
    assert counts  # the fixture's counter did count them the first time


def test_a_message_is_counted_once_and_a_changed_one_again(counts: list[str]) -> None:
    reply = Message("assistant", "Here is how:\n```python\nprint(1)\n```\n" * 50)
    estimated_tokens(reply)
    assert counts == [reply.content]
    counts.clear()
    estimated_tokens(reply)
    estimated_tokens(Message("assistant", copy(reply.content)))  # built again for a new request
    assert counts == []
    longer = dataclasses.replace(reply, content=reply.content + "And done.")
    assert estimated_tokens(longer) == counted_afresh(longer)
    assert counts == [longer.content]
    counts.clear()
    asked = MESSAGES[3]
    estimated_tokens(asked)
    counts.clear()
    call = dataclasses.replace(asked.tool_calls[1], arguments_text='{"query": "value"}')
    changed = dataclasses.replace(asked, tool_calls=(asked.tool_calls[0], call))
    assert estimated_tokens(changed) == counted_afresh(changed)
    assert counts == ['{"query": "value"}']


def test_what_is_remembered_stays_within_two_generations() -> None:
    estimates = TextEstimates(generation_bytes=20_000)
    texts = [f"message {n}: " + "word " * 40 for n in range(2_000)]
    largest = max(map(len, texts)) + 100  # a string's header
    kept = texts[:5]  # looked up at every send, as a long chat's texts are
    for n, text in enumerate(texts):
        assert estimates.tokens(text) == text_tokens(text)
        if n % 50 == 0:
            for again in kept:
                assert estimates.tokens(again) == text_tokens(again)
        assert estimates.held_bytes <= 2 * estimates.generation_bytes + largest
    remembered = TextEstimates(generation_bytes=20_000)
    remembered.tokens(texts[0])
    assert remembered.held_bytes > 0
    for text in texts[1:]:  # never looked up again: it leaves
        remembered.tokens(text)
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return text_tokens(text)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(context, "text_tokens", counting)
        for text in kept:
            estimates.tokens(text)
        assert calls == []  # looked up often enough to stay
        remembered.tokens(texts[0])
        assert calls == [texts[0]]


def test_threads_estimating_at_once_get_the_same_figures() -> None:
    estimates = TextEstimates(generation_bytes=5_000)  # generations turn over meanwhile
    texts = [f"turn {n} " + "abc DEF 123 " * (n % 30) for n in range(600)]
    expected = [text_tokens(text) for text in texts]
    start = threading.Barrier(4)

    def estimate_all(offset: int) -> Callable[[], list[int]]:
        def run() -> list[int]:
            start.wait()
            order = texts[offset:] + texts[:offset]
            figures = [estimates.tokens(copy(text)) for text in order]
            return figures[len(texts) - offset :] + figures[: len(texts) - offset]

        return run

    with ThreadPoolExecutor(4) as pool:
        runs = [pool.submit(estimate_all(offset)) for offset in (0, 150, 300, 450)]
        assert all(run.result() == expected for run in runs)


def test_a_long_chat_sent_again_counts_only_its_new_prompt(counts: list[str]) -> None:
    model = ModelInfo("small", context_window=30_000)
    relay = mock_provider("http://127.0.0.1:9/v1", "ws://127.0.0.1:9/v1/ws")
    to = Target(dataclasses.replace(relay, models=(model,)), "small")
    conversation = Conversation(target=to)
    conversation.load(
        [
            Turn(n, f"question {n} " * 30, Reply(to, parts=[f"answer {n} " * 300]))
            for n in range(200)
        ]
    )
    for turn in conversation.turns:
        turn.reply.status = ReplyStatus.COMPLETE
    first = conversation.ask("and now?")
    assert first.request.left_out > 0
    counted_first = len(counts)
    counts.clear()
    del conversation.turns[-1]  # unanswered: the same request is asked again
    second = conversation.ask("and now, again?")
    assert counts == ["and now, again?"]
    kept = len(first.request.fit.turns) if first.request.fit is not None else 0
    assert kept > 5 and counted_first == 1 + 2 * (kept + 1)  # the prompt, each turn tried
    assert second.request.messages[:-1] == first.request.messages[:-1]
    assert second.request.left_out == first.request.left_out
    assert second.request.fit == first.request.fit
