"""Fault scenarios: their names, what each does, and the per-request options that choose them.

A scenario is chosen per request by the `X-Mock-Scenario: NAME` header (WebSocket: on the upgrade
request, or a `"scenario"` field in the `chat.completion` message) or by a model name ending in
`#NAME` (`gpt-4.1#http-429`); the header wins over the suffix, and the suffix is stripped before the
model is echoed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from streamdesk.mock.replies import MAX_TOKENS

SCENARIOS: dict[str, str] = {
    "ok": "A normal streamed reply.",
    "http-400": "HTTP 400 invalid_request_error before any byte of the stream.",
    "http-401": "HTTP 401: the API key is rejected.",
    "http-403": "HTTP 403: the key may not use this model.",
    "http-404": "HTTP 404: the model does not exist.",
    "http-429": "HTTP 429 rate limit with Retry-After: 1 and retry-after-ms: 1000.",
    "http-500": "HTTP 500 server error.",
    "http-503": "HTTP 503: the server is overloaded.",
    "bad-json": "A data line that is not JSON after 5 tokens, then the rest of the reply.",
    "error-event": "An error object in a data line after 5 tokens (WS: an error frame); no [DONE].",
    "cut": "Connection closed after 5 tokens, no [DONE] (WS: TCP dropped, no close frame).",
    "ws-close-1011": "WebSocket closes with code 1011 after 5 tokens (SSE: same as cut).",
    "stall": "Silence for 60 s after 5 tokens with the connection kept open, then the rest.",
    "no-first-token": "Response headers (WS: handshake), then 60 s of silence before the reply.",
    "slow-first-token": "The first token arrives after 3 s.",
    "one-byte": "The stream is written one byte per write (WS: frame bytes one by one).",
    "crlf": "SSE lines end with CRLF.",
    "cr": "SSE lines end with a lone CR.",
    "keepalive": "': keep-alive' comment lines between events (WS: a ping between frames).",
    "split-utf8": "Writes split multi-byte characters (é, 中, emoji); WS: fragmented text frames.",
    "bom": "The SSE stream starts with a UTF-8 byte order mark.",
    "reasoning": "reasoning_content deltas (DeepSeek style) before the reply.",
    "flaky-429-once": "429 (Retry-After: 0.1) once per X-Mock-Flaky-Id or prompt, then OK.",
    "flaky-503-once": "503 (Retry-After: 0.1) once per X-Mock-Flaky-Id or prompt, then OK.",
    "too-long-once": "400 context_length_exceeded once per X-Mock-Flaky-Id or prompt, then OK.",
    "truncate": "The stream ends cleanly after 5 tokens without [DONE] (WS: a normal close).",
    "cut-at-start": "The response starts (SSE: headers; WS: handshake), then the connection drops.",
    "cut-at-start-once": "As cut-at-start, once per X-Mock-Flaky-Id or prompt; then a reply.",
    "cut-once": "As cut, once per X-Mock-Flaky-Id or prompt; then a normal reply.",
    "truncate-once": "As truncate, once per X-Mock-Flaky-Id or prompt; then a normal reply.",
    "bad-json-once": "As bad-json, once per X-Mock-Flaky-Id or prompt; then a normal reply.",
    "ws-close-once": "As ws-close-1011, once per X-Mock-Flaky-Id or prompt; then a normal reply.",
    "error-event-once": "As error-event, once per X-Mock-Flaky-Id or prompt; then a normal reply.",
}

FAULT_AFTER = 5
"""Tokens streamed before a mid-stream fault (bad-json, error-event, cut, ws-close-1011, stall)."""

STALL_SECONDS = 60.0
SLOW_FIRST_TOKEN_SECONDS = 3.0

MID_STREAM_FAULTS = frozenset(
    {"bad-json", "error-event", "cut", "ws-close-1011", "stall", "truncate", "cut-at-start"}
)
# A fault played once per conversation (X-Mock-Flaky-Id or prompt), then a normal reply: what a
# client that resumes a cut reply recovers from. A continuation (the partial reply sent as the
# assistant's prefix) has the same prompt, so it gets the rest of the reply.
ONCE: dict[str, str] = {
    "cut-once": "cut",
    "truncate-once": "truncate",
    "bad-json-once": "bad-json",
    "ws-close-once": "ws-close-1011",
    "error-event-once": "error-event",
    "cut-at-start-once": "cut-at-start",
}


@dataclass(frozen=True, slots=True)
class HttpError:
    """An OpenAI-shaped error: status, `error.type`, `error.code`, message, Retry-After."""

    status: int
    type: str
    code: str
    message: str
    retry_after: float | None = None

    def body(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.type, "code": self.code}}

    def headers(self) -> list[tuple[str, str]]:
        if self.retry_after is None:
            return []
        seconds = f"{self.retry_after:g}"
        return [("retry-after", seconds), ("retry-after-ms", str(round(self.retry_after * 1000)))]

    def ws_frame(self) -> dict[str, object]:
        """The WebSocket error frame: `code` is the HTTP status this error would have had."""
        error: dict[str, object] = {"message": self.message, "type": self.type, "code": self.status}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return {"type": "error", "error": error}


HTTP_ERRORS: dict[str, HttpError] = {
    "http-400": HttpError(400, "invalid_request_error", "invalid_request", "Mock: bad request."),
    "http-401": HttpError(
        401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided."
    ),
    "http-403": HttpError(
        403, "permission_error", "permission_denied", "This key may not use this model."
    ),
    "http-404": HttpError(404, "invalid_request_error", "model_not_found", "Model not found."),
    "http-429": HttpError(
        429, "rate_limit_error", "rate_limit_exceeded", "Rate limit reached.", retry_after=1.0
    ),
    "http-500": HttpError(500, "server_error", "server_error", "The server had an error."),
    "http-503": HttpError(503, "server_error", "overloaded", "The server is overloaded."),
}
FLAKY: dict[str, HttpError] = {
    "flaky-429-once": HttpError(
        429, "rate_limit_error", "rate_limit_exceeded", "Rate limit reached.", retry_after=0.1
    ),
    "flaky-503-once": HttpError(
        503, "server_error", "overloaded", "The server is overloaded.", retry_after=0.1
    ),
    "too-long-once": HttpError(
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages resulted"
        " in 131072 tokens. Please reduce the length of the messages.",
    ),
}
STREAM_ERROR = HttpError(500, "server_error", "server_error", "The server had an error mid-stream.")


def unauthorized() -> HttpError:
    return HttpError(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")


def bad_request(message: str) -> HttpError:
    return HttpError(400, "invalid_request_error", "invalid_request", message)


def split_model(model: str) -> tuple[str, str | None]:
    """`"gpt-4.1#http-429"` -> `("gpt-4.1", "http-429")`."""
    name, sep, scenario = model.partition("#")
    return (name, scenario) if sep else (model, None)


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast a reply streams; `interval` 0 means as fast as possible."""

    interval: float
    first_token_delay: float
    tokens: int | None


def _rate_to_interval(value: float) -> float:
    if value < 0 or math.isnan(value):
        raise ValueError("tokens per second must be >= 0")
    return 0.0 if value == 0 or math.isinf(value) else 1.0 / value


def pace_from(
    headers: Mapping[str, str],
    tokens_per_second: float,
    first_token_delay: float,
    tokens: int | None,
) -> Pace:
    """Constructor defaults overridden by `X-Mock-*` headers; raises ValueError on bad values."""
    rate = headers.get("x-mock-tokens-per-second")
    delay = headers.get("x-mock-first-token-delay")
    count = headers.get("x-mock-tokens")
    first = float(delay) if delay is not None else first_token_delay
    if first < 0 or math.isnan(first) or math.isinf(first):
        raise ValueError("first token delay must be a finite number >= 0")
    n = int(count) if count is not None else tokens
    if n is not None and not 0 <= n <= MAX_TOKENS:
        raise ValueError(f"X-Mock-Tokens must be between 0 and {MAX_TOKENS}")
    interval = _rate_to_interval(float(rate) if rate is not None else tokens_per_second)
    return Pace(interval, first, n)
