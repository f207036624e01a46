"""Phrasing the window and the command line share: money, and whether a server's own words add
something to the sentence we already say.

Money reads the same everywhere (`money`): whole cents from a cent up ("$0.01", "$12.50",
"$1,234.00"), two significant digits under a cent so a short reply is not "$0.00" ("$0.00042",
"$0.0021"), "<$0.000001" under a millionth, "≈" before an estimate, "–" when no price is known,
and "demo" for a reply of the offline demo (no money is involved).

A request that leaves the oldest messages out because the model reads no more says how many and
why (`history_left_out`), in the window under the reply and on the command line alike.

A reply that failed after text arrived says how much (`tokens_so_far`): the reply's tokens, and
when it was resumed, how many came since: "after 15 tokens (5 since it resumed)". The core's
failure messages name no count, since a transport knows only its own request's.

A file that cannot be imported says why in the same words in the window and the terminal
(`import_problem`): "not valid JSON (Expecting value at line 1, column 1)".

A failure's message quotes the server ("The server said: …") so a user sees what it meant;
but "Rate limit reached." under "HTTP 429: rate limited" or "The server had an error
mid-stream" under "The server sent an error mid-stream" only say it twice. Words are compared
lower-cased and crudely stemmed, without filler, so the quote stays exactly when it holds a
fact of its own ("The server is overloaded", "Mock: bad request").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from streamdesk.core.events import FailureKind

if TYPE_CHECKING:
    from streamdesk.core.chat.reply import Attempt

__all__ = [
    "DEMO_COST",
    "MID_REPLY_KINDS",
    "UNKNOWN_COST",
    "adds_to",
    "history_left_out",
    "import_problem",
    "money",
    "resumed_at",
    "tokens_so_far",
    "turn_too_long",
]

DEMO_COST = "demo"
UNKNOWN_COST = "–"
_SMALLEST = 0.000001  # a millionth of a dollar: any less reads "<$0.000001"

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


def money(usd: float | None, *, estimated: bool = False, demo: bool = False) -> str:
    """A cost as a person reads it: "$12.50", "$0.0021", "≈$0.01" when estimated, "–" when no
    price is known, "demo" when it came from the offline demo (whatever its list price)."""
    if demo:
        return DEMO_COST
    if usd is None:
        return UNKNOWN_COST
    mark = "≈" if estimated else ""
    if usd == 0:
        return f"{mark}$0.00"
    if usd < _SMALLEST:
        return f"{mark}<${_SMALLEST:.6f}"
    from decimal import Decimal  # not before the window's first paint (its status bar)

    shown = Decimal(f"{usd:.2g}")  # two significant digits; 0.00999 rounds up to a cent
    if shown >= Decimal("0.01"):
        return f"{mark}${usd:,.2f}"
    return f"{mark}${shown:.{1 - shown.adjusted()}f}"


def history_left_out(messages: int, model: str, window: int | None) -> str:
    """What to say when the oldest `messages` of a chat stayed out of a request because
    `model` reads `window` tokens at most (None: the server said it reads fewer)."""
    which = "The oldest message was" if messages == 1 else f"The oldest {messages:,} messages were"
    reads = f" ({window:,} tokens)" if window is not None else ""
    return f"{which} not sent: the conversation is longer than {model} reads{reads}."


def turn_too_long(model: str, window: int, tokens: int, room: int) -> str:
    """Why a reply stopped before a request that its own tool rounds made longer than `model`
    reads: about `tokens` estimated, where `room` fit once the reply's reserve was kept."""
    return (
        f"The reply stopped: with its tool results, its next request would be about {tokens:,}"
        f" tokens, more than the {room:,} that fit in {model}'s context window ({window:,}"
        " tokens) with room for the answer, even with every earlier message left out. Ask for"
        " less from the tools, or use a model that reads more."
    )


def import_problem(exc: Exception) -> str:
    """Why a file was not imported, from what reading or storing it raised, for "cannot import
    chat.json: …": "not valid JSON (Expecting value at line 1, column 1)", "No such file or
    directory", or the history's own reason."""
    import json  # not before the window's first paint

    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"not valid JSON (not UTF-8 text: byte {exc.start:,} is 0x{exc.object[exc.start]:02x})"
        )
    if isinstance(exc, RecursionError):
        return "not valid JSON (nested too deeply)"
    return str(exc)


def tokens_so_far(tokens: int, resumed_at: int | None = None) -> str:
    """A reply's token count where it broke: "1 token", "15 tokens", or "15 tokens (5 since
    it resumed)" for a reply carried on from `resumed_at` tokens (see `resumed_at`)."""
    said = f"{tokens} token{'s' if tokens != 1 else ''}"
    if resumed_at:
        said += f" ({tokens - resumed_at} since it resumed)"
    return said


def resumed_at(attempts: Sequence[Attempt]) -> int | None:
    """The reply's token count when it last carried on after a cut, given its earlier
    `attempts` (`Reply.attempts`); None when it never did, or started again from nothing
    (then its count is the new version's alone)."""
    if not attempts or attempts[-1].strategy != "continue":
        return None
    return attempts[-1].tokens


MID_REPLY_KINDS = frozenset(
    {
        FailureKind.CUT_MID_STREAM,
        FailureKind.WEBSOCKET_CLOSED,
        FailureKind.STALLED,
        FailureKind.BAD_RESPONSE,
        FailureKind.SERVER_ERROR,
        FailureKind.MESSAGE_TOO_BIG,
    }
)
"""Failures that can end a reply after text arrived: the window's title and the terminal's
line say how much had (`tokens_so_far`)."""
