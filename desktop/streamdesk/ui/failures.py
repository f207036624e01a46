"""How a failed reply is presented: a short title, one sentence, and the actions offered.

The core's message says what happened and what to do (quoting the server only where its words
add something, see `core.wording`). The window shows it under a title that already names the
kind, so a clause that only restates the title goes ("Rate limited: HTTP 429 from host." rather
than "…: rate limited."), and the action names the place in this window ("Settings ▸ Providers").
"""

from __future__ import annotations

import re

from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.wording import adds_to

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

# "HTTP 429 from host: rate limited." — the clause after the host, up to its full stop.
_HTTP_CLAUSE = re.compile(r"^(?P<head>HTTP \d+ from \S+): (?P<clause>[^.]*)\.(?P<rest>.*)$")


def failure_sentence(failure: Failure, title: str) -> str:
    """The core's message for showing under `title`, without a clause that only repeats it."""
    message = failure.message.strip()
    if (clause := _HTTP_CLAUSE.match(message)) and not adds_to(clause["clause"], title):
        message = f"{clause['head']}.{clause['rest']}"
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
