"""The offline demo's replies: realistic Markdown chosen from the prompt, cut into LLM-like tokens.

A prompt's words pick a topic from a small library (`reply_texts`) by keyword score; a prompt
that matches none gets a general answer that names its subject. A topic has several takes:
`variant` picks one, so a server can give another take when the same request comes again
(Regenerate), while `reply_for(prompt)` stays the same for every caller. Replies hold what a
renderer must cope with (headings, emphasis, inline code, links, lists, tables, fenced code),
and the streaming reply has multi-byte characters (é, 中, an emoji) in its first lines, so a
split UTF-8 character can be provoked even in a short reply.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streamdesk.mock.reply_texts import FALLBACK, TOPICS, Topic

MAX_TOKENS = 100_000
"""Longest reply the mock will stream."""

CHARS_PER_TOKEN = 4
"""The usual rule of thumb for English text, as the client estimates prompts."""

MIN_SCORE = 3
"""A topic needs this keyword score to answer; below it the general answer does."""

_PIECE = re.compile(r"\n+| ?[A-Za-z]+| ?\d{1,3}| ?[^\sA-Za-z\d]| +|\s")
_WORD = re.compile(r"\w[\w'-]*")
_LEAD = re.compile(
    r"^(?:(?:please|pls|hey|hi|ok|okay|so)\b[,!]?\s*)*"
    r"(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?"
    r"(?:explain|describe|define|summari[sz]e|compare|"
    r"tell\s+me(?:\s+(?:a|an|some)\s+\w+)?(?:\s+about)?|"
    r"what(?:'s|\s+is|\s+are)|who(?:'s|\s+is|\s+are)|"
    r"how\s+(?:do|does|can|should|would)\s+(?:i|you|we|one)|how\s+to|"
    r"why\s+(?:do|does|is|are)|write(?:\s+me)?|give\s+me|show\s+me|"
    r"teach\s+me(?:\s+about)?|help\s+me(?:\s+with)?|talk\s+about|"
    r"i\s+(?:want|would\s+like)\s+to\s+know(?:\s+about)?)\s+",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~])")
_SUBJECT_CHARS = 60


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


def count_tokens(text: str) -> int:
    """The prompt token count the mock reports in `usage`: an estimate, one token per
    `CHARS_PER_TOKEN` characters, rounded up.

    The in-process mock (offline demo) runs on the window's event loop and every request
    repeats the whole conversation, so the count must not read the text: `len` of a str costs
    the same for 10 characters as for 2 MB.
    """
    return -(-len(text) // CHARS_PER_TOKEN)


# -- choosing a reply ---------------------------------------------------------------------


def _score(topic: Topic, words: frozenset[str], phrase: str) -> int:
    if not all(group & words for group in topic.needs):
        return 0
    return sum(
        weight
        for keyword, weight in topic.keywords.items()
        if (f" {keyword} " in phrase if " " in keyword else keyword in words)
    )


def topic_for(prompt: str) -> Topic:
    """The library topic with the highest keyword score (the first listed wins a tie), or the
    general answer when none reaches `MIN_SCORE`."""
    found = _WORD.findall(prompt.lower())
    words, phrase = frozenset(found), f" {' '.join(found)} "
    best, best_score = FALLBACK, MIN_SCORE - 1
    for topic in TOPICS:
        score = _score(topic, words, phrase)
        if score > best_score:
            best, best_score = topic, score
    return best


def _first_line(prompt: str) -> str:
    line = " ".join(prompt.strip().split("\n", 1)[0].split())
    return line if len(line) <= _SUBJECT_CHARS else line[:_SUBJECT_CHARS].rsplit(" ", 1)[0] + "…"


def subject_of(prompt: str) -> str:
    """What the prompt is about, in a few words: its first line without the question's lead-in
    ("Explain", "What is a", "How do I") or end punctuation, Markdown characters escaped."""
    line = _ARTICLE.sub("", _LEAD.sub("", _first_line(prompt))).strip(" ?!.,;:")
    line = re.sub(r"[,\s]+please$", "", line, flags=re.IGNORECASE)
    if not line.strip("…"):
        return "your question"
    if len(line) > 1 and line[0].isupper() and line[1].islower():
        line = line[0].lower() + line[1:]  # "Kill me softly" reads "kill me softly" mid-sentence
    return _MARKDOWN.sub(r"\\\1", line)


def _fill(text: str, subject: str) -> str:
    return text.replace("{subject}", subject).replace(
        "{Subject}", subject[:1].upper() + subject[1:]
    )


@functools.lru_cache(maxsize=256)
def _tokens_of(text: str) -> tuple[str, ...]:
    return tuple(tokenize(text))


def _sections(first: Topic) -> list[str]:
    """Every take of every topic, starting after `first`'s first take: what a long reply
    continues with."""
    takes = [take for topic in TOPICS for take in topic.takes]
    start = takes.index(first.takes[0]) + 1 if first is not FALLBACK else 0
    return takes[start:] + takes[:start]


@functools.lru_cache(maxsize=64)
def _reply(prompt: str, tokens: int | None, variant: int) -> tuple[str, ...]:
    topic = topic_for(prompt)
    subject = subject_of(prompt)
    if tokens is None:
        take = topic.takes[variant % len(topic.takes)]
        return _tokens_of(_fill(take, subject).rstrip("\n") + "\n")
    target = min(max(tokens, 0), MAX_TOKENS)
    out = list(_tokens_of(_fill(topic.takes[0], subject).rstrip("\n") + "\n\n"))
    sections = _sections(topic)
    k = 0
    while len(out) < target:
        out.extend(_tokens_of(sections[k % len(sections)].rstrip("\n") + "\n\n"))
        k += 1
    del out[target:]
    return tuple(out)


def reply_for(prompt: str, tokens: int | None = None, variant: int = 0) -> list[str]:
    """The tokens the server streams for this prompt.

    With `tokens=None` the reply is one take of the prompt's topic (`variant` picks which,
    wrapping around), ending in one newline. With a number it is exactly that many tokens
    (capped at `MAX_TOKENS`): the first take, then further sections of the library, repeated
    as needed; a requested length is a fixture (tests, benchmarks), so it ignores `variant` and
    is a prefix of any longer reply for the same prompt.
    """
    return list(_reply(prompt, tokens, variant))


@functools.lru_cache(maxsize=64)
def _reasoning(prompt: str, variant: int) -> tuple[str, ...]:
    topic = topic_for(prompt)
    subject = subject_of(prompt)
    text = f"The user wrote “{_first_line(prompt)}”. " + _fill(topic.reasoning, subject)
    if variant % len(topic.takes):
        text += " They asked again, so this time I'll come at it from a different angle."
    return tuple(tokenize(text))


def reasoning_for(prompt: str, variant: int = 0) -> list[str]:
    """The `reasoning_content` tokens streamed before the reply (`variant`'s) when reasoning
    is on."""
    return list(_reasoning(prompt, variant))


# -- another take on Regenerate -----------------------------------------------------------

RequestKey = tuple[str, int, str]


@dataclass(frozen=True, slots=True)
class Take:
    """Which take of its reply a request gets: `variant` (see `reply_for`) of the request `key`
    (see `ReplyVariants`); without a key (a plan made outside a server) nothing counts it."""

    variant: int = 0
    key: RequestKey | None = None


FIRST_TAKE = Take()
"""A plan's take when no server chose one: the first, counted by nobody."""


def continued_variant(prompt: str, prefix: str, preferred: int) -> int:
    """The take a partial reply (`prefix`, sent back to be continued) was cut from: `preferred`
    when its reply starts with `prefix` (a short prefix fits several), else the first take that
    does, else `preferred` (the prefix is not one of ours)."""
    candidates: list[int] = [preferred, *range(len(topic_for(prompt).takes))]
    for variant in candidates:
        if "".join(_reply(prompt, None, variant)).startswith(prefix):
            return variant
    return preferred


class ReplyVariants:
    """Which take a server gives a request: 0 the first time, 1 when the same request comes
    again (Regenerate sends the same messages), then 2, … wrapping around the topic's takes.

    A request is the same when it goes to the same route with the same number of messages and
    the same last user message. A take is given as soon as it is planned, whether it then ends
    whole or the user stops it (Regenerate after Stop brings another take, as a model would);
    one cut by a fault the server plays is not, and is asked again as it was. A continuation
    (the partial reply sent as the assistant's prefix) counts as its request and carries on the
    take the prefix was cut from (`continued_variant`), whatever was given since.
    With `vary` False every new request gets take 0, the same as `reply_for(prompt)`.
    """

    MAX_KEYS = 10_000  # a long-running server forgets old requests rather than grow

    def __init__(self, vary: bool) -> None:
        self.vary = vary
        self._given: dict[RequestKey, int] = {}

    @staticmethod
    def key(route: str, messages: object) -> RequestKey:
        """The request's identity: route, messages before any assistant prefix, last prompt."""
        if not isinstance(messages, Sequence):
            return (route, 0, "")
        asked: Sequence[Any] = messages
        if asked and isinstance(asked[-1], Mapping) and asked[-1].get("role") == "assistant":
            asked = asked[:-1]
        last = next(
            (m for m in reversed(asked) if isinstance(m, Mapping) and m.get("role") == "user"),
            None,
        )
        return (route, len(asked), repr(last.get("content")) if last is not None else "")

    def take(self, route: str, messages: object) -> Take:
        """The take this request gets now."""
        key = self.key(route, messages)
        return Take(self._given.get(key, 0), key)

    def given(self, take: Take) -> None:
        """The take goes out: the same request next time gets the one after it (continuing an
        earlier take never brings the count back)."""
        if not self.vary or take.key is None:
            return
        if take.key not in self._given and len(self._given) >= self.MAX_KEYS:
            self._given.clear()
        self._given[take.key] = max(self._given.get(take.key, 0), take.variant + 1)
