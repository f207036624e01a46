"""One event vocabulary for every transport.

A transport turns a request into an async iterator of these immutable events. The window, the
CLI, the history store and the inspector consume them without knowing which protocol ran.
Every stream ends with exactly one `Done` or `Failure`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FailureKind(enum.Enum):
    """What went wrong, at the level a user can act on. Values are stable (stored, printed)."""

    AUTHENTICATION = "authentication"  # 401: key missing or rejected
    PERMISSION = "permission"  # 403
    NOT_FOUND = "not_found"  # 404: wrong URL or model
    RATE_LIMITED = "rate_limited"  # 429
    SERVER_ERROR = "server_error"  # 5xx, or an error object from the server
    BAD_REQUEST = "bad_request"  # other 4xx
    BAD_RESPONSE = "bad_response"  # malformed stream data
    MESSAGE_TOO_BIG = "message_too_big"  # one SSE event or WebSocket message over the size cap
    EMPTY_REPLY = "empty_reply"  # 200, then the stream ended without any event
    CONNECTION_REFUSED = "connection_refused"
    NAME_NOT_RESOLVED = "name_not_resolved"
    TLS_ERROR = "tls_error"
    CONNECT_TIMEOUT = "connect_timeout"
    FIRST_TOKEN_TIMEOUT = "first_token_timeout"
    STALLED = "stalled"  # no data between tokens for too long
    CUT_MID_STREAM = "cut_mid_stream"  # ended before [DONE] / completion.done
    WEBSOCKET_CLOSED = "websocket_closed"  # closed abnormally (close code in the message)
    CANCELLED = "cancelled"  # stopped by the user
    KEYCHAIN_UNAVAILABLE = "keychain_unavailable"
    NETWORK = "network"  # any other transport-level error

    @property
    def retryable(self) -> bool:
        """Worth another attempt before the first token (as openai-python does)."""
        return self in _RETRYABLE


_RETRYABLE = frozenset(
    {
        FailureKind.RATE_LIMITED,
        FailureKind.SERVER_ERROR,
        FailureKind.CONNECTION_REFUSED,
        FailureKind.CONNECT_TIMEOUT,
        FailureKind.NETWORK,
        FailureKind.WEBSOCKET_CLOSED,
    }
)


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply's visible text."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning (DeepSeek-style `reasoning_content`)."""

    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as reported by the server, counted the OpenAI way: `cached_tokens` is the
    part of `prompt_tokens` read from the provider's cache and `reasoning_tokens` the part of
    `completion_tokens` spent thinking, so each is billed at its own price."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Retrying:
    """An attempt failed before any token; another follows after `delay` seconds."""

    attempt: int  # the attempt that failed, from 1
    delay: float
    failure: Failure


@dataclass(frozen=True, slots=True)
class Done:
    """The reply finished as the server intended."""

    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """The stream ended without finishing. Text received before it is kept by the consumer."""

    kind: FailureKind
    message: str
    retry_after: float | None = None  # seconds, when the server said
    status: int | None = None  # HTTP status or WebSocket close code


StreamEvent = TextDelta | ReasoningDelta | Usage | Retrying | Done | Failure
TERMINAL_EVENTS = (Done, Failure)
