"""How a failed reply is presented: a short title, one sentence, and the actions offered.

The core's message says what happened and what to do (quoting the server only where its words
add something, see `core.wording`). The window shows it under a title that already names the
kind, so a clause that only restates the title goes ("Rate limited: HTTP 429 from host." rather
than "…: rate limited."), and the action names the place in this window ("Settings ▸ Providers").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.wording import MID_REPLY_KINDS, adds_to, resumed_at, tokens_so_far

if TYPE_CHECKING:
    from streamdesk.core.chat import Reply

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


def failure_title(failure: Failure, tokens: int, resumed: int | None = None) -> str:
    """A short title; mid-stream endings say how much of the reply arrived: "Connection cut
    after 312 tokens", "… after 15 tokens (5 since it resumed)" for a reply carried on from
    `resumed` tokens (`core.wording.resumed_at`)."""
    if failure.kind is FailureKind.AUTHENTICATION and failure.status is None:
        return "No API key"  # nothing was sent, so nothing was rejected
    title = FAILURE_TITLES.get(failure.kind, failure.kind.value.replace("_", " ").capitalize())
    if tokens and failure.kind in MID_REPLY_KINDS:
        title += f" after {tokens_so_far(tokens, resumed)}"
    return title


def reply_failure_title(reply: Reply) -> str:
    """The title of the failure `reply` ended with, counting its tokens across resumes."""
    assert reply.failure is not None, "only a failed reply has a failure title"
    return failure_title(reply.failure, reply.completion_tokens, resumed_at(reply.attempts))


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
