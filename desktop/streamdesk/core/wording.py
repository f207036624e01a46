"""Whether a server's own words add something to the sentence we already say.

A failure's message quotes the server ("The server said: …") so a user sees what it meant;
but "Rate limit reached." under "HTTP 429: rate limited" or "The server had an error
mid-stream" under "The server sent an error mid-stream" only say it twice. Words are compared
lower-cased and crudely stemmed, without filler, so the quote stays exactly when it holds a
fact of its own ("The server is overloaded", "Mock: bad request").
"""

from __future__ import annotations

import re

__all__ = ["adds_to"]

_FILLER = frozenset(
    {"a", "an", "and", "api", "are", "be", "been", "for", "has", "had", "have", "is", "it"}
    | {"its", "of", "or", "please", "the", "this", "that", "to", "was", "were", "with", "you"}
    | {"your", "reached", "exceeded", "occurred"}
)
_SUFFIXES = ("ing", "ed", "es", "s")


def _words(text: str) -> set[str]:
    """Content words, lower-cased and crudely stemmed ("limited" and "limit" match)."""
    words = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in _FILLER:
            continue
        for suffix in _SUFFIXES:
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        words.add(word)
    return words


def adds_to(said: str, known: str) -> bool:
    """Whether `said` (the server's words) holds a word `known` (our sentence) does not."""
    return bool(_words(said) - _words(known))
