"""One exception hierarchy for the core; every error carries a `FailureKind`.

Transports raise `StreamError` internally; the stream layer turns it into a `Failure` event so
consumers see failures as data, in order with the text that came before.
"""

from __future__ import annotations

from streamdesk.core.events import Failure, FailureKind


class StreamdeskError(Exception):
    """Base of every error the core raises on purpose."""


class StreamError(StreamdeskError):
    """A request or stream failed; `message` is one sentence that says what to do."""

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.status = status

    def to_failure(self) -> Failure:
        return Failure(self.kind, self.message, self.retry_after, self.status)


class KeychainUnavailable(StreamdeskError):
    """The OS keychain cannot be reached or is locked; the app may hold a key in memory instead."""


class SettingsError(StreamdeskError):
    """The settings file is unreadable or invalid; `field` names the bad entry when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


QUOTE_LIMIT = 120  # characters of a bad line quoted in a failure message


def quote(line: str, limit: int = QUOTE_LIMIT) -> str:
    """`line` on one line, cut to `limit` characters (with "…"), for an error message: line
    breaks and other control characters are written as escapes ("\\n", "\\x1b"), so a server's
    text can neither break the line nor drive a terminal."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in line[:limit])
    return shown + "…" if len(line) > limit else shown


def excerpt(data: str, limit: int = QUOTE_LIMIT) -> str:
    """What a server sent, quoted inside a sentence: between curly quotes, so where it ends is
    plain even when it was cut or is itself half a quotation (“{"content": "oops”)."""
    return f"“{quote(data, limit)}”"
