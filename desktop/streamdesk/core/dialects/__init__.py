"""The provider APIs Streamdesk speaks besides chat completions, each a sans-I/O dialect.

A dialect is what a transport needs to talk one API over SSE: the request body, its path under
the provider's base URL, the key's headers, and a fresh interpreter per stream that turns the
decoded SSE events into core events (the `ChunkInterpreter` interface). Chat completions has
no entry here: the caller uses `openai_chunks` and `ChatRequest.openai_body` directly.

`sent_max_tokens` is the one rule for the max_tokens each API's body sends, which a request's
history must leave room for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from streamdesk.core.dialects import anthropic, gemini, responses
from streamdesk.core.events import StreamEvent
from streamdesk.core.request import ChatRequest
from streamdesk.core.sse import ServerSentEvent

__all__ = ["API_NAMES", "DIALECTS", "Dialect", "Interpreter", "dialect", "sent_max_tokens"]

API_NAMES = ("chat", "responses", "anthropic", "gemini")


class Interpreter(Protocol):
    """One stream's state: SSE events in, core events out, `StreamError` for failures."""

    done: bool  # the terminal event arrived
    events_seen: int

    def interpret(self, sse: ServerSentEvent) -> list[StreamEvent]: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """One API's wire format; `interpreter()` makes the state for one stream."""

    name: str
    interpreter: Callable[[], Interpreter]
    request_body: Callable[[ChatRequest], dict[str, Any]]
    request_path: Callable[[str], str]  # the model in, the path after the base URL out
    auth_headers: Callable[[str], dict[str, str]]  # the API key in


DIALECTS = {
    "anthropic": Dialect(
        "anthropic",
        anthropic.AnthropicInterpreter,
        anthropic.request_body,
        anthropic.request_path,
        anthropic.auth_headers,
    ),
    "gemini": Dialect(
        "gemini",
        gemini.GeminiInterpreter,
        gemini.request_body,
        gemini.request_path,
        gemini.auth_headers,
    ),
    "responses": Dialect(
        "responses",
        responses.ResponsesInterpreter,
        responses.request_body,
        responses.request_path,
        responses.auth_headers,
    ),
}


def dialect(api: str) -> Dialect:
    """The dialect of `api` ("anthropic", "gemini" or "responses"); ValueError for any other,
    "chat" included, which the caller serves with `openai_chunks`."""
    try:
        return DIALECTS[api]
    except KeyError:
        raise ValueError(
            f"No SSE dialect named {api!r}; expected one of {', '.join(DIALECTS)}."
        ) from None


def sent_max_tokens(api: str, asked: int | None, reasoning: bool) -> int | None:
    """The max_tokens the body of `api` sends for a request that asked for `asked` (None:
    none) with `reasoning` on or off: Anthropic's requires one and raises it for thinking
    (`anthropic.max_tokens`); the others send what was asked, or none (the server's default)."""
    if api == "anthropic":
        return anthropic.max_tokens(asked, reasoning)
    return asked
