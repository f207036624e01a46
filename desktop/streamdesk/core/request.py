"""What to send and where: a chat request and the endpoint that serves it."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streamdesk.core.attachments import Attachment
from streamdesk.core.errors import StreamError
from streamdesk.core.events import FailureKind, ReasoningBlock, ToolCall
from streamdesk.core.redact import redact_known, redact_url

HTTP_SCHEMES = ("http", "https")
WS_SCHEMES = ("ws", "wss")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
SHOWN_CHARS = 40  # of a bad value quoted in a message: enough to recognise it


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str
    # An assistant message that asked for tools carries the calls; each dialect writes them
    # in its own shape (chat `tool_calls`, Anthropic `tool_use`, Gemini `functionCall`,
    # Responses `function_call` items).
    tool_calls: tuple[ToolCall, ...] = ()
    # A "tool" message is one call's result: `content` is what the tool returned (or why it
    # did not run), `tool_call_id` and `name` say which call it answers.
    tool_call_id: str = ""
    name: str = ""
    is_error: bool = False
    # Images sent with a user message; each dialect writes them as its own image parts after
    # the text (chat `image_url`, Anthropic `image`, Gemini `inlineData`, Responses
    # `input_image`).
    attachments: tuple[Attachment, ...] = ()
    # The reasoning blocks the reply gave before asking for `tool_calls`: APIs that sign their
    # reasoning (Anthropic) want them back first in that assistant message; others ignore them.
    reasoning_blocks: tuple[ReasoningBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered to the model: its name, what it does, and its input as JSON Schema."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})


CONTINUATIONS = ("assistant", "prefix", "vllm")


@dataclass(frozen=True, slots=True)
class EarlierTurn:
    """An earlier turn of the conversation that a request carries: its `messages` in the
    request, and `shown`, the messages a user counts in it (its prompt, if its own, and its
    reply)."""

    messages: int
    shown: int


@dataclass(frozen=True, slots=True)
class ContextFit:
    """What keeps a request within its model's context window after it was built, as a tool
    round adds to it or the server refuses it as too long: the window (None: unknown), the
    tokens kept for the reply (the max_tokens its body sends, or an allowance), and the earlier
    turns it carries, oldest first from message `start`, which may be left out whole."""

    window: int | None
    reserve: int
    start: int
    turns: tuple[EarlierTurn, ...] = ()


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    # A continuation (the last message is the assistant's partial reply): how the server is
    # told to carry it on (see `Provider.continuation`); "" for an ordinary request.
    continuation: str = ""
    # Ask for the model's thinking where the API has to be asked (Anthropic extended thinking,
    # Gemini thought summaries, Responses reasoning summaries); chat completions send it anyway.
    reasoning: bool = False
    # Tools the model may call; each dialect writes them in its own request shape.
    tools: tuple[ToolSpec, ...] = ()
    # What the user is told about stored images left out of this request (a model that reads
    # none, an image that could not be scaled for the API); "" when every image goes.
    image_notice: str = ""
    # Messages of the conversation's oldest turns left out so the request fits the model's
    # context window (its prompts and replies, as the user counts them); 0 when all go.
    left_out: int = 0
    # Its earlier turns and window, so it can be made to fit again (None: a request that is not
    # a conversation's, such as a probe, which is sent as it is).
    fit: ContextFit | None = None

    @property
    def images(self) -> tuple[Attachment, ...]:
        """Every image the request carries, in order."""
        return tuple(image for m in self.messages for image in m.attachments)

    @property
    def size(self) -> int:
        """Characters of text plus bytes of images: what the encoded body grows with. Counted
        from lengths, without encoding anything: messages with their tool calls, reasoning
        and images, and the tools' schemas."""
        return sum(_message_size(m) for m in self.messages) + sum(
            len(tool.name) + len(tool.description) + _json_size(tool.parameters)
            for tool in self.tools
        )

    def _messages(self) -> list[dict[str, Any]]:
        out = [_chat_message(m) for m in self.messages]
        if self.continuation == "prefix" and out and out[-1]["role"] == "assistant":
            out[-1]["prefix"] = True
        return out

    def _options(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.tools:
            body["tools"] = [_chat_tool(tool) for tool in self.tools]
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


SCALAR_SIZE = 8  # what `ChatRequest.size` counts for a number, bool or null


def _message_size(message: Message) -> int:
    """A message's part of `ChatRequest.size`."""
    calls = sum(
        len(call.call_id)
        + len(call.name)
        + len(call.signature)
        + (len(call.arguments_text) if call.arguments_text else _json_size(call.arguments))
        for call in message.tool_calls
    )
    reasoning = sum(
        len(block.text) + len(block.signature) + len(block.redacted)
        for block in message.reasoning_blocks
    )
    images = sum(len(image.data) for image in message.attachments)
    return len(message.content) + calls + reasoning + images


def _json_size(value: object) -> int:
    """About how many characters `value` takes as JSON text: its strings' and keys' lengths."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(len(str(key)) + _json_size(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return sum(_json_size(item) for item in value)
    return SCALAR_SIZE


def _chat_message(message: Message) -> dict[str, Any]:
    """A message in the chat-completions shape (also the WebSocket protocol's)."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.attachments:
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
        parts += [
            {"type": "image_url", "image_url": {"url": image.data_url}}
            for image in message.attachments
        ]
        return {"role": message.role, "content": parts}
    if not message.tool_calls:
        return {"role": message.role, "content": message.content}
    calls = [
        {
            "id": call.call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": arguments_json(call)},
        }
        for call in message.tool_calls
    ]
    return {"role": message.role, "content": message.content or None, "tool_calls": calls}


def _chat_tool(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = dict(tool.parameters)
    return {"type": "function", "function": function}


def arguments_json(call: ToolCall) -> str:
    """A call's arguments as the JSON text APIs take back: as the model wrote them when they
    were a JSON object, else `{}` (the call failed, and its result says why)."""
    if call.arguments_text and not call.error:
        return call.arguments_text
    return json.dumps(dict(call.arguments), ensure_ascii=False)


def shown(value: str) -> str:
    """A bad value quoted in a message: without secrets, cut to a few dozen characters."""
    text = redact_known(redact_url(value))
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    """Why `url` cannot be used with one of `schemes` (a short clause), or None when it can."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
    except ValueError as exc:
        if "IPv6" in str(exc):
            return "the host is not a valid IPv6 address"
        return "the port must be a number from 0 to 65535"
    if "://" not in url:
        return f"it has no scheme (start it with {schemes[0]}://)"
    if parts.scheme.lower() not in schemes:
        return f"the scheme must be {' or '.join(schemes)}"
    if not parts.hostname:
        return "it has no host"
    return None


def check_url(url: str, what: str, schemes: tuple[str, ...]) -> None:
    """Raise a BAD_REQUEST `StreamError` naming `what` when `url` cannot be used."""
    problem = url_problem(url, schemes)
    if problem is not None:
        raise StreamError(
            FailureKind.BAD_REQUEST, f'The {what} "{shown(url)}" is not valid: {problem}.'
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
    api: str = "chat"  # the dialect: chat (completions) | responses | anthropic | gemini

    def __post_init__(self) -> None:
        """Every URL is checked here, where it enters the request path, so a bad one is a
        BAD_REQUEST failure naming it rather than an exception deep in httpx or websockets."""
        if self.base_url:
            check_url(self.base_url, "base URL", HTTP_SCHEMES)
        if self.ws_url:
            check_url(self.ws_url, "WebSocket URL", WS_SCHEMES)
        if self.proxy:
            check_url(self.proxy, "proxy URL", PROXY_SCHEMES)

    @property
    def chat_url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    @property
    def models_url(self) -> str:
        return self.base_url.rstrip("/") + "/models"
