"""Prompt tokens are an estimate from the text's length: a send costs the same however long the
conversation it repeats, and the figure is the client's own estimate."""

from __future__ import annotations

import pytest

from streamdesk.core.chat.reply import CHARS_PER_TOKEN as CLIENT_CHARS_PER_TOKEN
from streamdesk.mock import replies
from streamdesk.mock.chat import Defaults, plan_chat
from streamdesk.mock.replies import CHARS_PER_TOKEN, count_tokens, reply_for, tokenize

DEFAULTS = Defaults(tokens_per_second=0, first_token_delay=0, reply_tokens=40)


def test_a_long_conversation_is_counted_without_reading_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The in-process mock runs on the window's loop: counting must not tokenize the history."""
    messages = []
    for k in range(500):
        prompt = f"question {k}: why does the stream stall?"
        messages.append({"role": "user", "content": prompt})
        messages.append({"role": "assistant", "content": "".join(reply_for(prompt, 400))})
    messages.append({"role": "user", "content": "and now?"})

    tokenized: list[str] = []

    def recording(text: str) -> list[str]:
        tokenized.append(text)
        return tokenize(text)

    monkeypatch.setattr(replies, "tokenize", recording)
    chat = plan_chat({"model": "m", "messages": messages}, {}, None, DEFAULTS)
    history = {m["content"] for m in messages}
    assert not [t for t in tokenized if t in history]  # only the reply was cut into tokens
    assert chat.prompt_tokens == sum(-(-len(m["content"]) // 4) for m in messages)


@pytest.mark.parametrize(
    ("text", "tokens"), [("", 0), ("a", 1), ("abcd", 1), ("abcde", 2), ("price me!", 3)]
)
def test_one_token_per_four_characters_rounded_up(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens


def test_the_estimate_is_the_clients_rule_and_near_the_streamed_token_count() -> None:
    assert CHARS_PER_TOKEN == CLIENT_CHARS_PER_TOKEN  # same figure with or without usage
    for prompt in ("Explain streaming", "Write a poem", "Show me a Python example", "hi"):
        reply = "".join(reply_for(prompt))
        assert 0.6 <= count_tokens(reply) / len(tokenize(reply)) <= 1.5
