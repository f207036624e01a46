"""What to send and where: a chat request and the endpoint that serves it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


CONTINUATIONS = ("assistant", "prefix", "vllm")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    # A continuation (the last message is the assistant's partial reply): how the server is
    # told to carry it on (see `Provider.continuation`); "" for an ordinary request.
    continuation: str = ""

    def _messages(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in self.messages]
        if self.continuation == "prefix" and out and out[-1]["role"] == "assistant":
            out[-1]["prefix"] = True
        return out

    def _options(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.continuation == "vllm":
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        return body

    def openai_body(self) -> dict[str, Any]:
        """The JSON body of an OpenAI-compatible streaming chat completion."""
        return self._options(
            {
                "model": self.model,
                "messages": self._messages(),
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        )

    def websocket_message(self) -> dict[str, Any]:
        """The first frame of the WebSocket protocol."""
        return self._options(
            {
                "type": "chat.completion",
                "model": self.model,
                "messages": self._messages(),
                "stream": True,
            }
        )


class AuthStyle(enum.Enum):
    BEARER = "bearer"  # Authorization: Bearer KEY
    X_API_KEY = "x-api-key"  # X-API-Key: KEY
    QUERY_PARAM = "query"  # ?api_key=KEY (WebSocket servers that cannot take headers)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. Defaults follow openai-python where it has one (connect 5 s)."""

    connect: float = 5.0
    first_token: float = 60.0  # request sent -> first token
    stall: float = 30.0  # longest silence between two pieces of data
    write: float = 10.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A resolved provider: URLs, credentials and network policy for one request."""

    base_url: str  # e.g. https://api.example.com/v1 ; SSE posts to {base_url}/chat/completions
    ws_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    auth: AuthStyle = AuthStyle.BEARER
    sign: bool = False
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_retries: int = 2
    ca_bundle: str | None = None  # path to a PEM bundle; TLS is always verified
    proxy: str | None = None  # None: honour the environment; "" : no proxy; else a URL

    @property
    def chat_url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    @property
    def models_url(self) -> str:
        return self.base_url.rstrip("/") + "/models"
