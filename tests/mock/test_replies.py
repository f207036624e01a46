"""Replies are deterministic, realistic Markdown, and tokenized like an LLM's output."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamdesk.mock import SCENARIOS, reasoning_for, reply_for
from streamdesk.mock.replies import MAX_TOKENS, tokenize


def test_same_prompt_gives_the_same_reply_and_other_prompts_differ() -> None:
    assert reply_for("hello") == reply_for("hello")
    assert reply_for("hello") != reply_for("hello!")
    assert reasoning_for("hello") == reasoning_for("hello")


def test_default_reply_is_300_to_600_tokens_of_rich_markdown() -> None:
    for prompt in ("a", "b", "Explain streaming", "/reasoning", "中文"):
        tokens = reply_for(prompt)
        assert 300 <= len(tokens) <= 650
        text = "".join(tokens)
        assert text.startswith("## ")
        assert "**" in text and "`" in text and "](https://" in text
        assert "\n- " in text or "\n1. " in text
        assert "|---|" in text  # a table
        assert text.count("```") >= 2 and text.count("```") % 2 == 0  # closed fences
        assert "é" in text and "中" in text


def test_tokens_are_word_pieces_of_one_to_six_characters() -> None:
    tokens = reply_for("pieces", 5000)
    assert all(1 <= len(t) <= 6 for t in tokens)
    assert any(t.startswith(" ") for t in tokens)
    assert "\n" in tokens or "\n\n" in tokens


def test_explicit_length_is_exact_and_a_prefix_of_longer_replies() -> None:
    long = reply_for("length", 20_000)
    assert len(long) == 20_000
    assert reply_for("length", 123) == long[:123]
    assert reply_for("length", 0) == []
    assert len(reply_for("max", MAX_TOKENS + 5)) == MAX_TOKENS


@given(st.text())
def test_tokenize_loses_nothing(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_every_required_scenario_is_described() -> None:
    required = [
        "ok",
        "http-401",
        "http-403",
        "http-404",
        "http-429",
        "http-500",
        "http-503",
        "http-400",
        "bad-json",
        "error-event",
        "cut",
        "ws-close-1011",
        "stall",
        "no-first-token",
        "slow-first-token",
        "one-byte",
        "crlf",
        "cr",
        "keepalive",
        "split-utf8",
        "bom",
        "reasoning",
        "flaky-429-once",
        "flaky-503-once",
    ]
    for name in required:
        assert SCENARIOS[name].strip()
