"""One reply as it streams: its text, its single token count, its cost and how it ended.

Every consumer (the window, `ask`, compare, bench, Test connection) feeds the same events into a
`Reply` and reads the same figures back, so a cut reply has the same tokens and cost in the
window, on the command line and in the history.

Counting: the server's usage when it came. A stream cut, stalled or stopped before the usage
chunk still cost tokens: then each text or reasoning delta counts as one completion token (so it
is on OpenAI-compatible streams), the prompt as one token per `CHARS_PER_TOKEN` characters, and
the figures are marked estimated. A continued reply adds what its earlier requests cost.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streamdesk.core.chat.target import MissingKey, Target
from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    ReasoningBlock,
    ReasoningDelta,
    Retrying,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolResult,
    Usage,
)
from streamdesk.core.trace import StreamTrace

CHARS_PER_TOKEN = 4


class ReplyStatus(enum.Enum):
    """Where a reply stands. Values are stored in the history (`messages.status`)."""

    PENDING = "pending"  # not sent yet
    STREAMING = "streaming"
    COMPLETE = "complete"  # ended as the server intended (Done)
    STOPPED = "stopped"  # the user stopped it
    PARTIAL = "partial"  # failed after some text: kept, continuable
    ERROR = "error"  # failed before any text

    @property
    def finished(self) -> bool:
        return self not in (ReplyStatus.PENDING, ReplyStatus.STREAMING)


@dataclass(frozen=True, slots=True)
class Earlier:
    """What the earlier requests of a continued reply had counted and cost."""

    completion_tokens: int = 0
    cost: float | None = None
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt of the reply that broke mid-stream and was resumed."""

    failure_kind: FailureKind
    tokens: int  # the reply's token count when it broke
    chars: int  # characters of its text when it broke
    strategy: str  # "continue" | "restart"

    def as_dict(self) -> dict[str, object]:
        return {
            "failure_kind": self.failure_kind.value,
            "tokens": self.tokens,
            "chars": self.chars,
            "strategy": self.strategy,
        }


@dataclass(eq=False)
class ToolRound:
    """The model asked for tools after `at` characters of the reply's text: its calls, and
    the result of each once it ran (in call order). The text after `at` came once the results
    went back, so the window shows the calls as a block between the two. `reasoning_blocks`
    are the signed reasoning the request gave before its calls, sent back with them."""

    at: int
    calls: tuple[ToolCall, ...]
    results: list[ToolResult] = field(default_factory=list)
    reasoning_blocks: tuple[ReasoningBlock, ...] = ()

    def result_of(self, call_id: str) -> ToolResult | None:
        return next((r for r in self.results if r.call_id == call_id), None)

    def copy(self) -> ToolRound:
        """The same round with a results list of its own (a continued reply adds to it)."""
        return dataclasses.replace(self, results=list(self.results))

    def as_dict(self) -> dict[str, Any]:
        """The stored form (history, exports)."""
        return {
            "at": self.at,
            "calls": [
                {
                    "id": c.call_id,
                    "name": c.name,
                    "arguments": dict(c.arguments),
                    "arguments_text": c.arguments_text,
                    "error": c.error,
                    **({"signature": c.signature} if c.signature else {}),
                }
                for c in self.calls
            ],
            "results": [
                {
                    "call_id": r.call_id,
                    "name": r.name,
                    "server": r.server,
                    "content": r.content,
                    "outcome": r.outcome,
                    "duration": round(r.duration, 4),
                }
                for r in self.results
            ],
            **(
                {"reasoning_blocks": [_block_dict(b) for b in self.reasoning_blocks]}
                if self.reasoning_blocks
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolRound:
        """A stored round; raises (KeyError, TypeError, ValueError) when it is not one."""
        calls = tuple(
            ToolCall(
                index=i,
                call_id=str(c["id"]),
                name=str(c["name"]),
                arguments=dict(c.get("arguments") or {}),
                arguments_text=str(c.get("arguments_text") or ""),
                error=str(c.get("error") or ""),
                signature=str(c.get("signature") or ""),
            )
            for i, c in enumerate(data["calls"])
        )
        results = [
            ToolResult(
                call_id=str(r["call_id"]),
                name=str(r["name"]),
                server=str(r.get("server") or ""),
                content=str(r.get("content") or ""),
                outcome=str(r.get("outcome") or "ok"),
                duration=float(r.get("duration") or 0.0),
            )
            for r in data.get("results") or ()
        ]
        blocks = tuple(
            ReasoningBlock(
                text=str(b.get("text") or ""),
                signature=str(b.get("signature") or ""),
                redacted=str(b.get("redacted") or ""),
            )
            for b in data.get("reasoning_blocks") or ()
        )
        return cls(int(data["at"]), calls, results, blocks)


def _block_dict(block: ReasoningBlock) -> dict[str, str]:
    """A reasoning block's stored form: only the fields it has."""
    if block.redacted:
        return {"redacted": block.redacted}
    return {"text": block.text, "signature": block.signature}


def rounds_of(stored: Sequence[Mapping[str, Any]] | None) -> list[ToolRound]:
    """Stored rounds back as `ToolRound`s; one that does not parse is dropped."""
    rounds: list[ToolRound] = []
    for item in stored or ():
        try:
            rounds.append(ToolRound.from_dict(item))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # written by another version: shown without it rather than not at all
    return rounds


@dataclass(frozen=True, slots=True)
class ReplyFigures:
    """A reply's figures at one moment (None: not known yet)."""

    status: ReplyStatus
    protocol: str
    retrying: bool
    ttft: float | None  # seconds
    tokens_per_s: float | None
    prompt_tokens: int | None
    completion_tokens: int
    cost: float | None  # USD
    estimated: bool  # tokens and cost estimated: the server sent no usage
    bytes_received: int


@dataclass(eq=False)
class Reply:
    """The state of one reply; `apply(event)` is its only input while it streams."""

    target: Target
    prompt_chars: int = 0  # characters sent, for the prompt estimate when no usage comes
    earlier: Earlier = field(default_factory=Earlier)
    parts: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    deltas: int = 0  # text and reasoning deltas of this request
    usage: Usage | None = None
    status: ReplyStatus = ReplyStatus.PENDING
    failure: Failure | None = None
    finish_reason: str | None = None
    retrying: Retrying | None = None  # the latest retry notice, until a token arrives
    trace: StreamTrace | None = None
    ended_at: float | None = None  # perf_counter when it ended
    missing_key: MissingKey | None = None  # nothing was sent: the provider needs a key
    keychain_problem: str | None = None  # why no key was sent to a server that needs none
    key_sent: bool = False  # the request carried an API key
    cost: float | None = None  # USD, settled when the reply ends (None: a price is unknown)
    estimated: bool = False  # tokens and cost estimated: the server sent no usage
    attempts: list[Attempt] = field(default_factory=list)  # earlier attempts, when resumed
    first_ttft: float | None = None  # of the first attempt: a resumed reply keeps its TTFT
    tool_rounds: list[ToolRound] = field(default_factory=list)  # in order, between the text
    # Reasoning blocks this request has finished so far: its tool round keeps them.
    reasoning_blocks: list[ReasoningBlock] = field(default_factory=list)
    # The reply ended on a tool request that was not run: "not_approved" (nobody could
    # approve it) or "round_limit" (too many rounds); "" otherwise.
    tool_stop: str = ""

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @property
    def has_text(self) -> bool:
        """Text to keep (a continued reply's earlier text included)."""
        return bool(self.parts)

    @property
    def has_content(self) -> bool:
        """Text or tool calls to keep: a reply worth continuing and sending again."""
        return bool(self.parts) or bool(self.tool_rounds)

    @property
    def tail(self) -> str:
        """The text since the last tool round (all of it when there was none)."""
        text = self.text
        return text[self.tool_rounds[-1].at :] if self.tool_rounds else text

    # -- input ----------------------------------------------------------------------------

    def begin(self, trace: StreamTrace) -> None:
        self.trace = trace
        self.status = ReplyStatus.STREAMING
        self.failure = None
        self.finish_reason = None
        self.retrying = None

    def apply(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self.parts.append(event.text)
            self.deltas += 1
            self.retrying = None
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
            self.deltas += 1
            self.retrying = None
        elif isinstance(event, ReasoningBlock):
            self.reasoning_blocks.append(event)
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Retrying):
            self.retrying = event
            self.reasoning_blocks.clear()  # of the attempt that failed; the next one thinks anew
        elif isinstance(event, Done):
            self.finish_reason = event.finish_reason
            self._end(ReplyStatus.COMPLETE, None)
        elif isinstance(event, Failure):
            if event.kind is FailureKind.CANCELLED:
                self._end(ReplyStatus.STOPPED, event)
            else:
                status = ReplyStatus.PARTIAL if self.has_content else ReplyStatus.ERROR
                self._end(status, event)

    def end_round(self, calls: Sequence[ToolCall]) -> ToolRound:
        """This request ended asking for `calls`: what it counted and cost is kept as earlier
        figures, the round is recorded at the current end of the text, and the reply goes on
        streaming (the next request carries the results). A call without an id gets one."""
        own_cost = self._settle_cost()
        estimated = (self.usage is None and self.deltas > 0) or self.earlier.estimated
        self.earlier = Earlier(self.completion_tokens, own_cost, estimated)
        if self.trace is not None:
            if self.first_ttft is None:
                self.first_ttft = self.trace.ttft
            self.trace.pause()  # the tools' time is not streaming time
        self.usage, self.deltas = None, 0
        number = len(self.tool_rounds) + 1
        named = tuple(
            c if c.call_id else dataclasses.replace(c, call_id=f"call_{number}_{c.index}")
            for c in calls
        )
        found = ToolRound(len(self.text), named, reasoning_blocks=tuple(self.reasoning_blocks))
        self.reasoning_blocks.clear()
        self.tool_rounds.append(found)
        return found

    def add_result(self, result: ToolResult) -> None:
        """A call of the latest round ran (or was refused)."""
        if self.tool_rounds:
            self.tool_rounds[-1].results.append(result)

    def reopen(self, strategy: str, prompt_chars: int) -> Attempt:
        """The engine resumes the reply after a mid-stream failure.

        "continue": the text so far stays and the next request carries it on; "restart": a new
        version starts from nothing. Either way what the broken attempt cost stays counted.
        """
        failure = self.failure
        assert failure is not None, "only a failed reply is resumed"
        attempt = Attempt(failure.kind, self.completion_tokens, len(self.text), strategy)
        self.attempts.append(attempt)
        if self.first_ttft is None and self.trace is not None:
            self.first_ttft = self.trace.ttft
        if strategy == "continue":
            self.earlier = Earlier(self.completion_tokens, self.cost, self.estimated)
        else:
            self.earlier = Earlier(0, self.cost, self.estimated)
            self.parts, self.reasoning = [], []
        self.usage, self.deltas, self.prompt_chars = None, 0, prompt_chars
        self.reasoning_blocks.clear()  # the broken request's: its calls never came
        self.status, self.failure, self.finish_reason = ReplyStatus.STREAMING, None, None
        self.ended_at, self.cost, self.estimated = None, None, False
        return attempt

    def stop(self) -> None:
        """The user stopped it (or its consumer went away): what arrived is kept."""
        if not self.status.finished:
            self._end(ReplyStatus.STOPPED, None)

    def _end(self, status: ReplyStatus, failure: Failure | None) -> None:
        if self.status.finished:
            return  # one ending per request: the first one counts
        self.status = status
        self.failure = failure
        self.retrying = None
        self.ended_at = time.perf_counter()
        self.estimated = (self.usage is None and self.deltas > 0) or self.earlier.estimated
        self.cost = self._settle_cost()

    # -- figures --------------------------------------------------------------------------

    @property
    def own_completion_tokens(self) -> int:
        """Completion tokens of this request: the server's usage, else one per delta."""
        return self.usage.completion_tokens if self.usage is not None else self.deltas

    @property
    def completion_tokens(self) -> int:
        """The one token count of the reply, earlier requests of a continued reply included."""
        return self.earlier.completion_tokens + self.own_completion_tokens

    @property
    def prompt_tokens(self) -> int | None:
        if self.usage is not None:
            return self.usage.prompt_tokens
        if self.deltas:
            return -(-self.prompt_chars // CHARS_PER_TOKEN)
        return None

    def _settle_cost(self) -> float | None:
        provider, model = self.target.provider, self.target.model
        earlier = self.earlier.cost
        if self.usage is None and not self.deltas:
            # nothing arrived and no usage: this request cost nothing (refused, rejected)
            return 0.0 if provider.free else earlier
        usage = self.usage
        own = provider.cost(
            model,
            self.prompt_tokens or 0,
            self.own_completion_tokens,
            cached_tokens=usage.cached_tokens if usage is not None else 0,
            reasoning_tokens=usage.reasoning_tokens if usage is not None else 0,
        )
        if own is None or earlier is None:
            return own
        return own + earlier

    def figures(self) -> ReplyFigures:
        trace = self.trace
        return ReplyFigures(
            status=self.status,
            protocol=self.target.protocol,
            retrying=self.retrying is not None,
            ttft=self.ttft,
            tokens_per_s=None if trace is None else trace.tokens_per_second,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost=self.cost,
            estimated=self.estimated,
            bytes_received=0 if trace is None else trace.bytes_received,
        )

    @property
    def ttft(self) -> float | None:
        """Seconds from the request to the first token (the first attempt's, when resumed)."""
        if self.first_ttft is not None:
            return self.first_ttft
        return None if self.trace is None else self.trace.ttft

    def timings(self) -> dict[str, float] | None:
        """Time to first token, total time and tokens per second (stored with the reply)."""
        trace = self.trace
        if trace is None:
            return None
        end = self.ended_at if self.ended_at is not None else time.perf_counter()
        out: dict[str, float] = {"total": round(end - trace.t_start, 4)}
        if self.ttft is not None:
            out["ttft"] = round(self.ttft, 4)
        speed = trace.tokens_per_second
        if speed is not None:
            out["tokens_per_s"] = round(speed, 2)
        return out
