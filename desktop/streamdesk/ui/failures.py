"""How a failed reply is presented: a short title, one sentence, and the actions offered.

The core's message says what happened and what to do, and may end with the server's own words
(`The server said: "…"`, or an error object's message sent mid-stream). The window shows it
under a title that already names the kind, so the sentence here is composed again from those
parts: a clause that only restates the title goes, the server's words are quoted once and only
when they add something the title and the sentence do not say, and the action names the place
in this window ("Settings ▸ Providers").
"""

from __future__ import annotations

import re

from streamdesk.core.events import Failure, FailureKind

FAILURE_TITLES: dict[FailureKind, str] = {
    FailureKind.AUTHENTICATION: "Key rejected",
    FailureKind.PERMISSION: "Not allowed",
    FailureKind.NOT_FOUND: "Not found",
    FailureKind.RATE_LIMITED: "Rate limited",
    FailureKind.SERVER_ERROR: "Server error",
    FailureKind.BAD_REQUEST: "Request refused",
    FailureKind.BAD_RESPONSE: "Bad response",
    FailureKind.CONNECTION_REFUSED: "Connection refused",
    FailureKind.NAME_NOT_RESOLVED: "Unknown host",
    FailureKind.TLS_ERROR: "TLS failed",
    FailureKind.CONNECT_TIMEOUT: "Connect timed out",
    FailureKind.FIRST_TOKEN_TIMEOUT: "No reply",
    FailureKind.STALLED: "Stalled",
    FailureKind.CUT_MID_STREAM: "Connection cut",
    FailureKind.WEBSOCKET_CLOSED: "WebSocket closed",
    FailureKind.CANCELLED: "Stopped",
    FailureKind.KEYCHAIN_UNAVAILABLE: "Keychain unavailable",
    FailureKind.NETWORK: "Network error",
    FailureKind.MESSAGE_TOO_BIG: "Message too big",
    FailureKind.EMPTY_REPLY: "Empty reply",
}
SET_KEY = "Set the key in Settings\u00a0▸\u00a0Providers (Ctrl+,)."  # one unbroken place name

# The server's words as the core quotes them: after an HTTP status, and in an error object
# sent inside the stream ("…mid-stream: <words> (<type>, <code>). <what to do>").
_HTTP_SAID = re.compile(r'\s*The server said: "(?P<said>.*)"\s*$', re.DOTALL)
_STREAM_SAID = re.compile(
    r"^(?P<head>The server (?:sent an error mid-stream|stopped the stream for rate limiting"
    r"|refused the request mid-stream)): (?P<said>.*?)(?: \((?P<labels>[^()]*)\))?"
    r"\. (?P<tail>.*)$",
    re.DOTALL,
)
# "HTTP 429 from host: rate limited." — the clause after the host, up to its full stop.
_HTTP_CLAUSE = re.compile(r"^(?P<head>HTTP \d+ from \S+): (?P<clause>[^.]*)\.(?P<rest>.*)$")
# Words that carry no fact of their own when comparing the server's words with ours.
_FILLER = frozenset(
    {"a", "an", "and", "api", "are", "be", "been", "for", "has", "had", "have", "is", "it"}
    | {"its", "of", "or", "please", "the", "this", "that", "to", "was", "were", "with", "you"}
    | {"your", "reached", "exceeded", "occurred"}
)


def _words(text: str) -> set[str]:
    """Content words, lower-cased and crudely stemmed ("limited" and "limit" match)."""
    words = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in _FILLER:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        words.add(word)
    return words


def adds_something(said: str, known: str) -> bool:
    """Whether the server's words say something `known` (our title and sentence) does not."""
    return bool(_words(said) - _words(known))


def failure_sentence(failure: Failure, title: str) -> str:
    """The core's message for showing under `title`: no clause that only repeats the title,
    the server's words quoted once and only when they add something."""
    message = failure.message.strip()
    said = ""
    if match := _HTTP_SAID.search(message):
        said, message = match["said"].strip(), message[: match.start()].rstrip()
    elif match := _STREAM_SAID.match(message):
        said = match["said"].strip()
        labels = f" ({match['labels']})" if match["labels"] else ""
        message = f"{match['head']}{labels}. {match['tail']}"
    if (clause := _HTTP_CLAUSE.match(message)) and not adds_something(clause["clause"], title):
        message = f"{clause['head']}.{clause['rest']}"
    if said and adds_something(said, f"{title} {message}"):
        said = said.rstrip(".")
        message = f"{message} The server said: “{said}”."
    return message


def failure_title(failure: Failure, tokens: int) -> str:
    """A short title; mid-stream endings say how much arrived: "Connection cut after 312 tokens"."""
    if failure.kind is FailureKind.AUTHENTICATION and failure.status is None:
        return "No API key"  # nothing was sent, so nothing was rejected
    title = FAILURE_TITLES.get(failure.kind, failure.kind.value.replace("_", " ").capitalize())
    if tokens and failure.kind in (
        FailureKind.CUT_MID_STREAM,
        FailureKind.WEBSOCKET_CLOSED,
        FailureKind.STALLED,
        FailureKind.BAD_RESPONSE,
        FailureKind.SERVER_ERROR,
        FailureKind.MESSAGE_TOO_BIG,
    ):
        title += f" after {tokens} token" + ("s" if tokens != 1 else "")
    return title


def failure_actions(failure: Failure, has_text: bool) -> tuple[str, ...]:
    """Retry always resends; Continue only when there is partial text to continue from."""
    return ("Retry", "Continue") if has_text else ("Retry",)


def failure_text(failure: Failure, *, resumable: bool = False) -> str:
    """The sentence shown under the failure's title, then what to do here: set the key, or
    Continue a kept partial reply."""
    sentence = failure_sentence(failure, failure_title(failure, 0))
    if failure.kind is FailureKind.AUTHENTICATION:
        return f"{sentence} {SET_KEY}"
    if resumable:
        return f"{sentence} Press Continue to resume."
    return sentence


def describe_failure(failure: Failure) -> str:
    """Title and sentence on one line, for places without a failure box ("Rate limited: …")."""
    title = FAILURE_TITLES.get(failure.kind, failure.kind.value)
    return f"{title}: {failure_sentence(failure, title)}"
