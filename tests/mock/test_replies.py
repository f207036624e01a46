"""The offline demo's replies: topic-aware, realistic Markdown, deterministic, tokenized like an
LLM's output, with another take when the same request comes again."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.mock.wire import chat_body, raw_post
from websockets.asyncio.client import ClientConnection, connect

from streamdesk.mock import SCENARIOS, MockServer, reasoning_for, reply_for
from streamdesk.mock.replies import MAX_TOKENS, subject_of, tokenize, topic_for
from streamdesk.mock.reply_texts import FALLBACK, TOPICS

EVERY_TAKE = [(t.name, k) for t in (*TOPICS, FALLBACK) for k in range(len(t.takes))]


def text(prompt: str, variant: int = 0) -> str:
    return "".join(reply_for(prompt, variant=variant))


def test_same_prompt_gives_the_same_reply_and_other_topics_differ() -> None:
    assert reply_for("hello") == reply_for("hello")
    assert reply_for("Explain SSE") != reply_for("Explain asyncio")
    assert reasoning_for("hello") == reasoning_for("hello")


@pytest.mark.parametrize(
    ("prompt", "heading"),
    [
        ("Explain server-sent events", "## Server-sent events (SSE)"),
        ("Explain streaming", "## 🚀 Streaming, token by token"),
        ("SSE vs WebSocket?", "## SSE vs WebSocket"),
        ("How do WebSockets work?", "## WebSockets in a nutshell"),
        ("Show me a Python example", "## A small, idiomatic Python example"),
        ("asyncio gather with a timeout", "## asyncio: doing many things while waiting"),
        ("Compare the protocols in a table", "## Ways to stream from server to client"),
        ("Write a poem", "## Tokens at Dusk"),
        ("How to set up a Python project with venv", "## How to set up a Python project"),
        ("JSON over HTTP basics", "## HTTP and JSON, the basics"),
        ("Hello! What can you do?", "## 👋 Hi! This is Streamdesk's offline demo"),
        ("How do I bake sourdough bread?", "## Bake sourdough bread"),
        ("What do you think about climate change?", "## What do you think about climate change"),
    ],
)
def test_the_prompts_words_pick_the_reply(prompt: str, heading: str) -> None:
    assert text(prompt).split("\n", 1)[0] == heading


def test_the_general_answer_names_the_prompts_subject_safely() -> None:
    reply = text("Kill me softly")
    assert reply.startswith("## Kill me softly\n") and "kill me softly" not in reply, "once"
    assert "offline demo" in reply and "Settings" in reply
    assert subject_of("What is a *bold* [idea]?") == r"\*bold\* \[idea\]"
    assert subject_of("?") == "your question"
    assert subject_of("Tell me about " + "word " * 40).endswith("…")
    assert topic_for("What is a token bucket?") is FALLBACK  # one weak word is not a topic


@pytest.mark.parametrize(("topic", "take"), EVERY_TAKE)
def test_every_take_is_well_formed_markdown_of_a_few_hundred_words(topic: str, take: int) -> None:
    source = next(t for t in (*TOPICS, FALLBACK) if t.name == topic).takes[take]
    body = source.replace("{subject}", "tide pools").replace("{Subject}", "Tide pools")
    assert body.startswith("## ") and body.endswith("\n") and "ubject}" not in body
    assert body.count("```") % 2 == 0, "every fence is closed"
    assert 80 <= len(tokenize(body)) <= 750 and len(body.split()) <= 400
    assert not re.search(r"\b(\w{3,}) \1\b", body), "no repeated words"
    code = re.findall(r"```(\w*)\n(.*?)```", body, re.DOTALL)
    assert all(len(line) <= 72 for _, block in code for line in block.splitlines()), "fits"
    for language, block in code:
        if language == "python":
            compile(block, f"{topic}-{take}", "exec")
        elif language == "json":
            json.loads(block)
    for row in (line for line in body.splitlines() if line.startswith("|")):
        assert row.count("|") == body.split("\n|", 1)[1].split("\n")[0].count("|") + 1


def test_code_tables_and_poems_are_shaped_for_their_prompt() -> None:
    python = text("Show me a Python example")
    assert "```python\n" in python and "def " in python
    assert "|---|" in text("Make a table of streaming protocols")
    poem = text("Write a poem").split("\n\n", 1)[1]
    verses = [line for line in poem.splitlines() if line]
    assert len(verses) >= 8 and all(len(v) < 60 for v in verses)
    assert "\n\n" in poem.strip(), "stanzas"
    assert not any(v.startswith(("-", "#", "|")) for v in verses)


def test_the_streaming_reply_has_multibyte_characters_in_its_first_tokens() -> None:
    first = "".join(reply_for("Explain streaming")[:40])
    assert "é" in first and "中" in first and any(ord(c) > 0xFFFF for c in first)


def test_a_variant_is_another_take_and_wraps_around() -> None:
    prompt = "Explain server-sent events"
    takes = len(topic_for(prompt).takes)
    assert text(prompt, 1) != text(prompt) and text(prompt, 1).startswith("## ")
    assert text(prompt, takes) == text(prompt)
    assert reasoning_for(prompt, 1) != reasoning_for(prompt)
    assert reply_for(prompt, 50, variant=1) == reply_for(prompt, 50), "a length is a fixture"


def test_reasoning_reads_as_thinking_about_the_prompt() -> None:
    thinking = "".join(reasoning_for("Explain server-sent events"))
    assert thinking.startswith("The user wrote “Explain server-sent events”.")
    assert "EventSource" in thinking
    assert "sourdough" in "".join(reasoning_for("How do I bake sourdough?"))


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


def test_a_long_reply_starts_with_the_prompts_answer_and_goes_on_with_real_sections() -> None:
    prompt = "benchmark: a long reply with code, lists and tables"
    long = "".join(reply_for(prompt, 50_000))
    assert long.startswith(text(prompt).rstrip("\n"))
    assert long.count("\n## ") > 50 and long.count("```") > 50
    assert "## Server-sent events (SSE)" in long and "## Tokens at Dusk" in long


@given(st.text())
def test_tokenize_loses_nothing(sample: str) -> None:
    assert "".join(tokenize(sample)) == sample


@pytest.mark.asyncio
async def test_a_varying_server_gives_the_next_take_when_the_same_request_comes_again() -> None:
    prompt = "Explain server-sent events"
    async with MockServer(tokens_per_second=0, first_token_delay=0, vary_replies=True) as server:
        first = await raw_post(server.port, chat_body(prompt))
        cut = await raw_post(server.port, chat_body(prompt), {"X-Mock-Scenario": "cut"})
        again = await raw_post(server.port, chat_body(prompt))
        other_route = await raw_post(server.port, chat_body(prompt, max_tokens=3000))
    assert "".join(first.content()) == text(prompt)
    assert cut.content() == reply_for(prompt, variant=1)[:5], "a cut take is asked again"
    assert "".join(again.content()) == text(prompt, 1) != text(prompt)
    assert "".join(other_route.content()) == text(prompt, 2 % len(topic_for(prompt).takes))


@pytest.mark.asyncio
async def test_a_continuation_carries_on_the_take_it_was_cut_from() -> None:
    prompt = "Write a poem"
    async with MockServer(tokens_per_second=0, first_token_delay=0, vary_replies=True) as server:
        await raw_post(server.port, chat_body(prompt))
        cut = "".join(
            (await raw_post(server.port, chat_body(prompt), {"X-Mock-Scenario": "cut"})).content()
        )
        body = chat_body(prompt)
        body["messages"].append({"role": "assistant", "content": cut})
        rest = "".join((await raw_post(server.port, body)).content())
    assert cut + rest == text(prompt, 1)


async def _stopped_sse(server: MockServer, prompt: str, chars: int) -> str:
    """Stream `prompt`'s reply slowly and hang up once `chars` characters came, as Stop does."""
    got = ""
    slow = {"X-Mock-Tokens-Per-Second": "20"}
    url = f"{server.sse_base_url}/chat/completions"
    async with (
        httpx.AsyncClient() as client,
        client.stream("POST", url, json=chat_body(prompt), headers=slow) as response,
    ):
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                got += "".join(
                    c["delta"].get("content") or "" for c in json.loads(line[6:])["choices"]
                )
            if len(got) >= chars:
                return got
    raise AssertionError(f"the reply ended before {chars} characters: {got!r}")


def _continued(prompt: str, partial: str) -> dict[str, object]:
    body = chat_body(prompt)
    body["messages"].append({"role": "assistant", "content": partial})
    return body


@pytest.mark.asyncio
async def test_regenerate_after_stop_brings_another_take_and_continue_the_stopped_one() -> None:
    """A stopped take was seen: the same request again gets the next take, and a continuation
    of the stopped one carries on that take (Stop then Continue joins one take)."""
    prompt = "Write a poem"
    takes = len(topic_for(prompt).takes)
    heading = text(prompt, 1).split("\n", 1)[0]
    assert takes == 3 and not any(text(prompt, k).startswith(heading) for k in (0, 2))
    async with MockServer(tokens_per_second=0, first_token_delay=0, vary_replies=True) as server:
        first = "".join((await raw_post(server.port, chat_body(prompt))).content())
        stopped = await _stopped_sse(server, prompt, len(heading) + 20)
        again = "".join((await raw_post(server.port, chat_body(prompt))).content())
        rest = "".join((await raw_post(server.port, _continued(prompt, stopped))).content())
        after = "".join((await raw_post(server.port, chat_body(prompt))).content())
    assert first == text(prompt) and text(prompt, 1).startswith(stopped)
    assert again == text(prompt, 2), "Regenerate after Stop: another take than the stopped one"
    assert stopped + rest == text(prompt, 1), "continued from the take it was cut from"
    assert after == text(prompt), "the count goes on from the regenerated take"


@pytest.mark.asyncio
async def test_a_stopped_websocket_reply_is_continued_from_its_own_take() -> None:
    prompt = "Explain server-sent events"

    def message(*extra: dict[str, str]) -> str:
        body = chat_body(prompt)
        body["messages"].extend(extra)
        return json.dumps({"type": "chat.completion", **body})

    async def reply(ws: ClientConnection) -> str:
        got = ""
        while (frame := json.loads(await ws.recv()))["type"] != "completion.done":
            got += frame.get("delta", "") if frame["type"] == "content.delta" else ""
        return got

    async with MockServer(tokens_per_second=0, first_token_delay=0, vary_replies=True) as server:
        async with connect(server.ws_url) as ws:
            await ws.send(message())
            first = await reply(ws)
        slow = {"X-Mock-Tokens-Per-Second": "20"}
        async with connect(server.ws_url, additional_headers=slow) as ws:
            await ws.send(message())
            stopped = ""
            while len(stopped) < 60:
                stopped += json.loads(await ws.recv()).get("delta", "")
        async with connect(server.ws_url) as ws:
            await ws.send(message({"role": "assistant", "content": stopped}))
            rest = await reply(ws)
            await ws.send(message())
            after = await reply(ws)
    assert first == text(prompt) and stopped + rest == text(prompt, 1)
    assert after == text(prompt, 2 % len(topic_for(prompt).takes))


@pytest.mark.asyncio
async def test_a_server_without_variants_repeats_reply_for(server: MockServer) -> None:
    for _ in range(2):
        resp = await raw_post(server.port, chat_body("Write a poem"))
        assert "".join(resp.content()) == text("Write a poem")


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


def test_the_welcome_pages_python_question_gets_the_python_streaming_example() -> None:
    """The welcome page's "A Python question" card (ui/window/welcome.py) is the demo's first
    impression: reading a stream with httpx is answered with the streaming example, not the
    HTTP-and-JSON basics its words "HTTP response" also match."""
    card = "How do I read a streaming HTTP response line by line with httpx in Python?"
    assert topic_for(card).name == "streaming"
