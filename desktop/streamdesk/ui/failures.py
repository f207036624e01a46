"""How a failed reply is presented: a short title, one sentence, and the actions offered.

The sentence comes from the core (it already says what happened and what to do); the title names
the kind in a few words and, for endings mid-stream, how much arrived.
"""

from __future__ import annotations

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
    """The core's sentence plus what to do here: set the key, or Continue a kept partial reply."""
    if failure.kind is FailureKind.AUTHENTICATION:
        return f"{failure.message} Open Settings (Ctrl+,) to set the key."
    if resumable:
        return f"{failure.message} Press Continue to resume."
    return failure.message
