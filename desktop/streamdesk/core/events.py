"""One event vocabulary for every transport.

A transport turns a request into an async iterator of these immutable events. The window, the
CLI, the history store and the inspector consume them without knowing which protocol ran.
Every stream ends with exactly one `Done` or `Failure`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
class ReasoningBlock:
    """One finished block of the model's reasoning, as the API must get it back unchanged in
    the assistant turn of a tool round (Anthropic's `thinking` and `redacted_thinking` blocks).
    `text` is the reasoning already streamed as `ReasoningDelta`s and `signature` the server's
    opaque token over it; a block the server encrypted has only its `redacted` data. Emitted
    when the block ends, in the order the blocks came."""

    text: str = ""
    signature: str = ""
    redacted: str = ""


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call as it streams, for showing it live. `index` numbers the
    reply's calls 0, 1, … in the order they began (whatever the API numbers them by), telling
    parallel calls apart; `call_id` and `name` are what the server has sent of them so far
    ("" before), and `arguments` is the next piece of the JSON text (often not JSON on its
    own; "" when the fragment only brought the id or name)."""

    index: int
    call_id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call, assembled by the dialect's interpreter and emitted once its
    arguments are whole (at the latest just before `Done`); `index` as in `ToolCallDelta`.
    Arguments that are not a JSON object make `error` say so (and `arguments` is empty): that
    call fails, the stream does not. A call the server sent without an id gets one starting
    "sd-". `signature` is an opaque token some APIs require back with the call in the next
    request (Gemini's thoughtSignature): keep it with the call."""

    index: int
    call_id: str
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    arguments_text: str = ""
    error: str = ""
    signature: str = ""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What running a tool call gave, reported by the tool loop (never by a transport).
    `outcome` is "ok", "error", "denied", "timeout" or "cancelled"; `content` is the tool's
    text (untrusted, like model output) or the reason it has none."""

    call_id: str
    name: str
    server: str
    content: str
    outcome: str = "ok"
    duration: float = 0.0  # seconds the tool ran


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
    """The reply finished as the server intended. A reply that asks for tools ends with
    `finish_reason` "tool_calls" whatever the dialect calls it ("tool_use", "function_call")."""

    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """The stream ended without finishing. Text received before it is kept by the consumer."""

    kind: FailureKind
    message: str
    retry_after: float | None = None  # seconds, when the server said
    status: int | None = None  # HTTP status or WebSocket close code


StreamEvent = (
    TextDelta
    | ReasoningDelta
    | ReasoningBlock
    | ToolCallDelta
    | ToolCall
    | ToolResult
    | Usage
    | Retrying
    | Done
    | Failure
)
TERMINAL_EVENTS = (Done, Failure)
