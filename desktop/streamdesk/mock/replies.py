"""Deterministic, realistic Markdown replies, cut into LLM-like tokens.

The same prompt always gives the same reply (the random generator is seeded from a SHA-256 of
the prompt), so tests can compare what a client received with `reply_for(prompt)`. Replies hold
what a renderer must cope with: headings, emphasis, inline code, links, bullet and numbered lists,
a table, fenced code in several languages, and multi-byte characters (é, 中, an emoji) early on,
so a split UTF-8 character can be provoked even in short replies.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections.abc import Iterator

MAX_TOKENS = 100_000
"""Longest reply the mock will stream."""

_PIECE = re.compile(r"\n+| ?[A-Za-z]+| ?\d{1,3}| ?[^\sA-Za-z\d]| +|\s")

_TOPICS = (
    "streaming responses",
    "connection pooling",
    "backpressure",
    "retry budgets",
    "token buckets",
    "incremental rendering",
    "event loops",
    "server-sent events",
    "WebSocket framing",
    "cache invalidation",
)
_EMOJI = ("🚀", "🧪", "🧭", "📦", "💡", "🔍")  # all outside the BMP: 4 UTF-8 bytes
_NOUNS = (
    "request",
    "stream",
    "buffer",
    "socket",
    "parser",
    "client",
    "server",
    "timeout",
    "handler",
    "decoder",
    "payload",
    "session",
    "queue",
    "renderer",
    "transport",
)
_VERBS = ("reads", "writes", "flushes", "parses", "retries", "yields", "batches", "drops")
_ADJS = ("small", "incremental", "bounded", "lazy", "explicit", "idempotent", "predictable")
_IDENTS = ("read_chunk", "max_retries", "flush()", "asyncio.Queue", "Retry-After", "decode")
_LINKS = (
    ("the spec", "https://html.spec.whatwg.org/multipage/server-sent-events.html"),
    ("RFC 6455", "https://www.rfc-editor.org/rfc/rfc6455"),
    ("the docs", "https://docs.python.org/3/library/asyncio.html"),
)

_CODE = {
    "python": (
        "async def consume(stream):\n"
        "    total = 0\n"
        "    async for chunk in stream:\n"
        "        total += len(chunk)\n"
        '        print(f"{total} bytes so far")\n'
        "    return total\n"
    ),
    "javascript": (
        "const res = await fetch(url, { method: 'POST', body });\n"
        "const reader = res.body.getReader();\n"
        "for (;;) {\n"
        "  const { done, value } = await reader.read();\n"
        "  if (done) break;\n"
        "  console.log(new TextDecoder().decode(value));\n"
        "}\n"
    ),
    "bash": (
        "curl -N http://127.0.0.1:8765/v1/chat/completions \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -d \'{"model": "gpt-4.1", "stream": true}\'\n'
    ),
}


def tokenize(text: str) -> list[str]:
    """Cut text into word pieces of 1-6 characters; joining the pieces gives the text back."""
    out: list[str] = []
    for piece in _PIECE.findall(text):
        if len(piece) <= 6:
            out.append(piece)
            continue
        parts = -(-len(piece) // 5)
        size = -(-len(piece) // parts)
        out.extend(piece[i : i + size] for i in range(0, len(piece), size))
    return out


_COUNTED: dict[bytes, int] = {}  # digest of a long text -> its token count
_COUNTED_MAX = 4096
_COUNT_DIRECTLY = 256  # shorter texts are cheaper to count than to hash


def count_tokens(text: str) -> int:
    """The token count the mock reports in `usage`.

    Long texts are counted once: every request of a conversation repeats all its earlier
    messages, and the in-process mock (offline demo) runs on the window's event loop, so
    recounting them made each send cost O(conversation): +1.5 ms of loop lag per 2,000-token
    reply (measured). A 16-byte digest is the key, so the cache holds no message text.
    """
    if len(text) < _COUNT_DIRECTLY:
        return len(tokenize(text))
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    count = _COUNTED.get(key)
    if count is None:
        if len(_COUNTED) >= _COUNTED_MAX:
            _COUNTED.clear()
        count = _COUNTED[key] = len(tokenize(text))
    return count


def _rng(prompt: str, salt: str) -> random.Random:
    digest = hashlib.sha256(f"{salt}\0{prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_NOUNS) for _ in range(rng.randint(4, 9))]
    words.insert(1, rng.choice(_VERBS))
    style = rng.randint(0, 5)
    k = rng.randrange(2, len(words))
    if style == 0:
        words[k] = f"**{words[k]}**"
    elif style == 1:
        words[k] = f"*{rng.choice(_ADJS)}*"
    elif style == 2:
        words[k] = f"`{rng.choice(_IDENTS)}`"
    elif style == 3:
        label, url = rng.choice(_LINKS)
        words[k] = f"[{label}]({url})"
    text = " ".join(words)
    return f"The {text}{rng.choice(('.', '.', ', and that matters.', '!'))}"


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 4))) + "\n\n"


def _bullets(rng: random.Random, numbered: bool) -> str:
    lines = []
    for i in range(rng.randint(3, 5)):
        mark = f"{i + 1}." if numbered else "-"
        lines.append(f"{mark} **{rng.choice(_NOUNS).title()}**: {_sentence(rng)}")
    return "\n".join(lines) + "\n\n"


def _table(rng: random.Random) -> str:
    rows = ["| Setting | Default | Effect |", "|---|---:|---|"]
    for _ in range(rng.randint(3, 4)):
        noun = rng.choice(_NOUNS)
        rows.append(f"| `{noun}_limit` | {rng.randint(1, 500)} | {rng.choice(_ADJS)} {noun} |")
    return "\n".join(rows) + "\n\n"


def _code(rng: random.Random) -> str:
    lang = rng.choice((*_CODE, "json"))
    if lang == "json":
        noun, retries, timeout = rng.choice(_NOUNS), rng.randint(0, 5), rng.randint(1, 60)
        body = f'{{\n  "{noun}": {{ "retries": {retries}, "timeout": {timeout} }}\n}}\n'
    else:
        body = _CODE[lang]
    return f"```{lang}\n{body}```\n\n"


def _blocks(rng: random.Random) -> Iterator[str]:
    """An endless Markdown document: an intro, then sections of varied blocks."""
    topic = rng.choice(_TOPICS)
    label, url = rng.choice(_LINKS)
    yield f"## {rng.choice(_EMOJI)} {topic.capitalize()}, explained\n\n"
    yield (
        f"Here is a naïve take on {topic} first, then a better one — a café-sized example "
        f"(中文读者也适用) with **{rng.choice(_NOUNS)}**, `{rng.choice(_IDENTS)}` and "
        f"[{label}]({url}).\n\n"
    )
    section = 0
    while True:
        section += 1
        yield f"### {section}. {rng.choice(_ADJS).capitalize()} {rng.choice(_NOUNS)}s\n\n"
        yield _paragraph(rng)
        yield _bullets(rng, numbered=section % 2 == 0)
        if section % 2 == 1:
            yield _table(rng)
        yield _code(rng)
        yield _paragraph(rng) if section % 2 == 1 else f"> **Note:** {_sentence(rng)}\n\n"


@functools.lru_cache(maxsize=64)
def _reply(prompt: str, tokens: int | None) -> tuple[str, ...]:
    rng = _rng(prompt, "reply")
    target = rng.randint(280, 500) if tokens is None else min(max(tokens, 0), MAX_TOKENS)
    out: list[str] = []
    has_code = False
    for block in _blocks(rng):
        out.extend(tokenize(block))
        has_code = has_code or block.startswith("```")
        if len(out) >= target and has_code and not block.startswith("#"):
            break
    if tokens is not None:
        del out[target:]
    elif out and out[-1].startswith("\n"):
        out[-1] = "\n"
    return tuple(out)


def reply_for(prompt: str, tokens: int | None = None) -> list[str]:
    """The tokens the server streams for this prompt.

    With `tokens=None` the reply is 300-600 tokens and ends at a block boundary; with a number it
    is exactly that many tokens (capped at 100,000), a prefix of any longer reply.
    """
    return list(_reply(prompt, tokens))


@functools.lru_cache(maxsize=64)
def _reasoning(prompt: str) -> tuple[str, ...]:
    rng = _rng(prompt, "reasoning")
    topic = rng.choice(_TOPICS)
    text = (
        f"Okay, the user wants to know about {topic}. Let me think about what matters most. "
        + " ".join(_sentence(rng) for _ in range(rng.randint(2, 4)))
        + " I should give an overview, then a code example and a table."
    )
    return tuple(tokenize(text))


def reasoning_for(prompt: str) -> list[str]:
    """The `reasoning_content` tokens streamed before the reply when reasoning is on."""
    return list(_reasoning(prompt))
