"""The token estimate against real tokenizers: for each kind of text, the count of the dearest
of o200k and cl100k (OpenAI), Gemini, DeepSeek V3, Qwen 3, Llama 3.1 and Claude's published
tokenizer, measured offline once (the tokenizers are not dependencies). Code, JSON, logs and
digits cost far more tokens per character than prose: the estimate must not fall short of
them by more than the margin a request keeps, nor overshoot prose by much."""

from __future__ import annotations

import json

import pytest

from streamdesk.core.chat.context import FILL_PERCENT, text_tokens

PROSE = (
    "Streamdesk keeps a long conversation within the model's context window by leaving out the "
    "oldest whole turns. The estimate has to be honest: a request that is larger than the server "
    "allows fails with an error, and the user loses the answer they were waiting for. Prose is "
    "the easy case; code, JSON and logs break into many more tokens per character."
)
CODE = """def history_within(turns, room):
    kept = []
    for position in range(len(turns) - 1, -1, -1):
        earlier = turns[position]
        if not sendable(earlier):
            continue
        messages = turn_messages(earlier)
        if room is not None:
            room -= sum(estimated_tokens(m) for m in messages)
            if room < 0:
                break
        kept.append(messages)
    return [m for group in reversed(kept) for m in group]
"""
JSON = json.dumps(
    [
        {"id": i, "name": f"item-{i}", "price": round(i * 1.37, 2), "tags": ["new", "sale"]}
        for i in range(40)
    ],
    indent=2,
)
DIGITS = "\n".join(
    ",".join(str((i * 7919 + j * 104729) % 100000) for j in range(8)) for i in range(40)
)
LOG = "\n".join(
    f"2026-11-{1 + i % 28:02d} 12:{i % 60:02d}:{i * 7 % 60:02d} INFO worker-{i % 4} handled request"
    f" {i * 7919 % 100000} in {i % 97}.{i % 10} ms"
    for i in range(40)
)
CJK = (
    "流式桌面客户端会在请求超出模型的上下文窗口时省略最早的整轮对话。估算必须诚实：超过服务器允许"
    "长度的请求会失败，用户就得不到等待中的回答。代码、数据和日志每个字符消耗的词元比普通文字更多。"
)

# (text, the dearest tokenizer's count, which one, o200k's count)
MEASURED = {
    "prose": (PROSE, 73, "DeepSeek V3", 72),
    "code": (CODE, 127, "Gemini", 112),
    "json": (JSON, 2_251, "Gemini", 1_762),
    "digits": (DIGITS, 1_882, "Gemini", 956),
    "log": (LOG, 1_539, "Gemini", 1_117),
    "cjk": (CJK, 96, "cl100k", 67),
}


@pytest.mark.parametrize("kind", MEASURED)
def test_the_estimate_covers_the_dearest_tokenizer_within_the_margin(kind: str) -> None:
    text, dearest, _, o200k = MEASURED[kind]
    estimate = text_tokens(text)
    assert estimate * 100 >= dearest * FILL_PERCENT, (kind, estimate, dearest)
    assert estimate >= o200k
    assert estimate <= dearest * 1.35, "prose and code are not counted wildly over"


def test_digits_cost_a_token_each_and_random_text_more_than_words() -> None:
    assert text_tokens("1234567890" * 10) == 100  # Gemini and Qwen split numbers into digits
    words = text_tokens("streams never lie " * 10)
    scrambled = text_tokens("sTr3AmS9nEv3RlI3x " * 10)  # base64, hashes: short tokens
    assert scrambled > 2 * words
    assert text_tokens(" " * 40) == 5  # indentation costs little, but not nothing
    assert text_tokens("é" * 10) == 5 and text_tokens("😀" * 10) == 20
