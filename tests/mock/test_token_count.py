"""Prompt tokens are counted once per message, so a long conversation's sends stay cheap."""

from __future__ import annotations

import pytest

from streamdesk.mock import replies
from streamdesk.mock.chat import Defaults, plan_chat
from streamdesk.mock.replies import reply_for, tokenize

DEFAULTS = Defaults(tokens_per_second=0, first_token_delay=0, reply_tokens=40)


def test_each_send_tokenizes_only_the_messages_it_adds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request repeats the conversation; only its last answer and prompt are new to the mock."""
    tokenized: list[str] = []

    def counting(text: str) -> list[str]:
        tokenized.append(text)
        return tokenize(text)

    monkeypatch.setattr(replies, "tokenize", counting)
    messages: list[dict[str, str]] = []
    for k in range(12):
        prompt = f"question {k}: " + "why " * 100
        messages.append({"role": "user", "content": prompt})
        tokenized.clear()
        chat = plan_chat({"model": "m", "messages": messages}, {}, None, DEFAULTS)
        earlier = [m["content"] for m in messages[:-2]]  # all but the last answer and prompt
        assert prompt in tokenized
        assert not [t for t in tokenized if t in earlier]  # not the whole conversation again
        assert chat.prompt_tokens == sum(len(tokenize(m["content"])) for m in messages)
        answer = f"answer {k}: " + "".join(reply_for(prompt, 400))
        messages.append({"role": "assistant", "content": answer})


@pytest.mark.parametrize("text", ["", "short", "a" * 300, "x\ud800y " * 100, "é 中 🙂 " * 80])
def test_a_counted_text_gives_the_same_count_again(text: str) -> None:
    first = replies.count_tokens(text)
    assert first == len(tokenize(text)) == replies.count_tokens(text)
