"""What a conversation is made of: the target of a request, its turns, and where replies go.

Plain data shared by the session, the window and (later) the history store's adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.providers import Provider
from streamdesk.core.request import ChatRequest, Timeouts
from streamdesk.core.trace import StreamTrace

if TYPE_CHECKING:
    from streamdesk.ui.session import ChatSession


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
class Target:
    """Where and how the next request goes: chosen in the header, read at send time."""

    provider: Provider
    model: str
    protocol: str = "sse"  # "sse" | "ws"
    api_key: str | None = None
    timeouts: Timeouts | None = None  # None: the provider's
    max_retries: int | None = None  # None: the provider's
    scenario: str | None = None  # mock fault, sent as the model suffix "MODEL#SCENARIO"

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
    view: Any = None  # transcript ReplyView
    trace: StreamTrace | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)
