"""What a conversation is made of: the target of a request, its turns, and where replies go.

Plain data shared by the session, the window and (later) the history store's adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from streamdesk.core.events import Failure, FailureKind, Usage
from streamdesk.core.providers import Provider
from streamdesk.core.request import ChatRequest, Timeouts
from streamdesk.core.trace import StreamTrace
from streamdesk.ui.failures import failure_text, failure_title
from streamdesk.ui.window.status_bar import PROTOCOL_NAMES

if TYPE_CHECKING:
    from streamdesk.ui.session.session import ChatSession

log = logging.getLogger(__name__)


class ReplySink(Protocol):
    """Where a reply is persisted as it streams (history's `ReplyWriter` fits)."""

    def append_text(self, text: str) -> None: ...
    def append_reasoning(self, text: str) -> None: ...
    def finish(
        self,
        status: str,
        *,
        failure_kind: str | FailureKind | None = None,
        failure_message: str | None = None,
        cost: float | None = None,
        protocol: str | None = None,
    ) -> None: ...


HistorySink = ReplySink | Callable[["ChatSession", "Turn", ChatRequest], ReplySink | None]


@dataclass(frozen=True, slots=True)
class Network:
    """The settings' network policy at send time (a snapshot: a later settings change applies
    to the next request, never to one already streaming)."""

    proxy_mode: str = "system"  # system | none | manual (credentials: keychain PROXY_KEY_ID)
    proxy_url: str = ""
    ca_bundle: str = ""
    timeouts: Timeouts | None = None  # the global timeouts, for the built-in mock
    max_retries: int | None = None  # the global retries, for the built-in mock


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how the next request goes: chosen in the header, read at send time."""

    provider: Provider
    model: str
    protocol: str = "sse"  # "sse" | "ws"
    api_key: str | None = None
    timeouts: Timeouts | None = None  # None: the provider's
    max_retries: int | None = None  # None: the provider's
    scenario: str | None = None  # mock fault, sent as the model suffix "MODEL#SCENARIO"
    network: Network = field(default_factory=Network)  # proxy, CA bundle, global timeouts

    @property
    def request_model(self) -> str:
        return f"{self.model}#{self.scenario}" if self.scenario else self.model


@dataclass(eq=False)
class Turn:
    """One prompt and its reply; `key` is the reply's key in the transcript."""

    key: int
    prompt: str
    target: Target
    parts: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    status: str = "pending"  # streaming | complete | stopped | error
    failure: Failure | None = None
    superseded: bool = False  # replaced by a Retry: left out of later requests
    is_retry: bool = False  # answers the prompt of an earlier turn (no user message of its own)
    prompt_tokens: int | None = None
    completion_tokens: int = 0
    cost: float | None = None
    estimated: bool = False  # tokens and cost estimated: the server sent no usage
    view: Any = None  # transcript ReplyView
    trace: StreamTrace | None = None
    # History: ids of the stored user message and reply, and how this reply is being written.
    user_id: int | None = None
    reply_id: int | None = None
    alt_index: int = 0  # which alternative of the reply is shown (0-based) ...
    alt_count: int = 1  # ... out of how many
    regen_of: int | None = None  # the next reply is a new alternative of this stored reply
    edit_of: int | None = None  # the prompt is a new alternative of this stored user message
    resume: bool = False  # a continuation: the reply is appended to `reply_id`

    @property
    def text(self) -> str:
        return "".join(self.parts)


def label(target: Target) -> str:
    return f"{target.model} · {PROTOCOL_NAMES.get(target.protocol, target.protocol)}"


def render_turns(view: Any, turns: list[Turn], *, live: Turn | None = None) -> None:
    """Re-render `turns` from scratch (O(shown turns), once): `live` streams again with the text
    it holds; a finished ReplyView takes no more text, so continuing needs a fresh one."""
    view.clear_messages()
    for t in turns:
        if not t.is_retry:
            view.add_user_message(t.prompt, ("user", t.key))
        if t is live:
            t.view = view.begin_assistant(t.key, label=label(t.target))
            if t.reasoning:
                t.view.append_reasoning("".join(t.reasoning))
            t.view.append_text(t.text)
            continue
        if t.status == "pending" and not t.parts:
            continue  # a prompt whose reply row is missing (deleted, imported)
        title = text = ""
        if t.failure is not None:
            title = failure_title(t.failure, t.completion_tokens)
            text = failure_text(t.failure)
        view.add_assistant_message(
            t.text,
            reasoning="".join(t.reasoning),
            status=t.status,
            failure_title=title,
            failure_text=text,
            key=t.key,
            label=label(t.target),
        )


def open_sink(
    hook: HistorySink | None, session: ChatSession, turn: Turn, request: ChatRequest
) -> ReplySink | None:
    """The sink for one reply: the hook itself, or what its factory makes (None: not stored)."""
    if hook is None:
        return None
    if hasattr(hook, "append_text"):
        return hook  # type: ignore[return-value]
    try:
        return hook(session, turn, request)  # type: ignore[operator]
    except Exception:
        log.exception("history sink could not start; the reply is shown but not stored")
        return None


CHARS_PER_TOKEN = 4  # a rough prompt-token estimate when the server sent no usage


def settle_cost(
    turn: Turn,
    request: ChatRequest,
    usage: Usage | None,
    deltas: int,
    *,
    tokens_before: int = 0,
    cost_before: float | None = None,
) -> None:
    """Tokens and cost of `turn` once one request has ended.

    The server's usage when it came. A stream cut, stalled or stopped before the usage chunk
    still cost tokens: then each text/reasoning delta counts as one completion token (so it is on
    OpenAI-compatible streams) and the prompt as one token per 4 characters, and the figures are
    marked `estimated`. A continued reply adds what its earlier requests cost (`cost_before`).
    """
    target = turn.target
    if usage is not None:
        prompt, completion, estimated = usage.prompt_tokens, usage.completion_tokens, False
    elif deltas:
        chars = sum(len(m.content) for m in request.messages)
        prompt, completion, estimated = -(-chars // CHARS_PER_TOKEN), deltas, True
    else:  # nothing arrived and no usage: nothing to count (a rejected or refused request)
        turn.completion_tokens = tokens_before
        turn.estimated = tokens_before > 0 and turn.estimated
        turn.cost = 0.0 if target.provider.free else cost_before
        return
    turn.prompt_tokens = prompt
    turn.completion_tokens = tokens_before + completion
    turn.estimated = estimated or (tokens_before > 0 and turn.estimated)
    cost = target.provider.cost(target.model, prompt, completion)
    turn.cost = cost if cost is None or cost_before is None else cost + cost_before
