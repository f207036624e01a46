"""What a native provider API adds to the shared chat plan: its request, errors and stream."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from streamdesk.mock.chat import Chat
from streamdesk.mock.scenarios import HttpError
from streamdesk.mock.sse import SseReply, chat_reply, completion_json


@dataclass(frozen=True, slots=True)
class Dialect:
    """One API's shapes around the same deterministic reply.

    `translate(body, path_model)` turns the API's request into a chat-completions body and
    whether it asked for reasoning (raises ChatRejected); `stream` lays a planned chat out as
    that API's events; `whole` is its non-streaming answer; `error_body` its error JSON.
    """

    name: str
    translate: Callable[[Mapping[str, Any], str | None], tuple[dict[str, Any], bool]]
    error_body: Callable[[HttpError], dict[str, object]]
    stream: Callable[[Chat], SseReply]
    whole: Callable[[Chat], dict[str, object]]


def _chat_body(body: Mapping[str, Any], path_model: str | None) -> tuple[dict[str, Any], bool]:
    return dict(body), False


def _openai_error(error: HttpError) -> dict[str, object]:
    return error.body()


CHAT = Dialect("chat", _chat_body, _openai_error, chat_reply, completion_json)
"""`POST /v1/chat/completions`: the request is already a chat body."""
