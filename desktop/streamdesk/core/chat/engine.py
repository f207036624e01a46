"""The one place that opens a transport: endpoint, transport, `stream_chat`, reply, history.

`stream_reply` resolves the target's endpoint (key, signing, proxy, CA bundle, timeouts), opens
the transport of its protocol, runs `stream_chat`, feeds every event into the `Reply` and the
optional history record, yields it to the caller, and closes the transport whatever happens.
The window, `ask`, compare, bench, Test connection and the self-test all stream through it, so
they cannot disagree about what a reply counted, cost or how it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Protocol

from streamdesk.core.attachments import no_vision
from streamdesk.core.chat.context import REFUSED_PERCENT, budget, fitted, request_tokens
from streamdesk.core.chat.conversation import request_notice
from streamdesk.core.chat.reply import Reply, ToolRound
from streamdesk.core.chat.target import KeySource, MissingKey, Target, resolve_endpoint
from streamdesk.core.chat.tools import (
    NOT_RUN,
    ToolEvent,
    ToolRunner,
    round_messages,
    unanswered,
)
from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    ReasoningDelta,
    Retrying,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
)
from streamdesk.core.redact import redact_known
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.stream import Sleep, backoff_delay, stream_chat
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports import Transport, make_transport
from streamdesk.core.wording import turn_too_long

log = logging.getLogger(__name__)


class ReplyRecorder(Protocol):
    """Where a reply is persisted as it streams (`core.chat.record.ReplyRecord` fits)."""

    def apply(self, event: StreamEvent) -> None: ...
    def restart(self, reply: Reply) -> None:
        """The broken attempt is kept as an earlier version; a new one starts."""

    def finish(self, reply: Reply) -> None: ...

    def tools_changed(self, reply: Reply) -> None:
        """A tool round began, or one of its calls got its result."""


# Mid-stream failures worth another attempt: the connection or the server broke, not the request.
RESUMABLE = frozenset(
    {
        FailureKind.CUT_MID_STREAM,
        FailureKind.STALLED,
        FailureKind.BAD_RESPONSE,
        FailureKind.WEBSOCKET_CLOSED,
        FailureKind.SERVER_ERROR,
    }
)
RESUME_STRATEGIES = ("continue", "restart", "off")
# Requests one reply may make, retries and resumes together: a bounded total, so a flaky server
# never sees a retry storm from one reply.
MAX_REQUESTS = 10


@dataclass(frozen=True, slots=True)
class ResumePolicy:
    """What to do when a reply breaks after its first token: carry it on ("continue"), send the
    request again ("restart") or stop there ("off"), up to `attempts` more times."""

    strategy: str = "off"
    attempts: int = 2

    @classmethod
    def of(
        cls, target: Target, override: str | None = None, attempts: int | None = None
    ) -> ResumePolicy:
        """The provider's policy; `override` ("auto" = the provider's) and `attempts` choose
        another."""
        provider = target.provider
        chosen = target.resume or provider.resume
        strategy = chosen if override in (None, "auto") else override
        count = provider.resume_attempts if attempts is None else max(0, attempts)
        return cls(strategy or "off", count)


@dataclass(frozen=True, slots=True)
class Resuming:
    """The reply broke mid-stream; the engine carries on after `delay` seconds."""

    attempt: int  # the attempt that comes next (2, 3, …)
    attempts: int  # the most there can be
    strategy: str  # "continue" | "restart"
    delay: float
    failure: Failure  # what broke it
    tokens: int  # the reply's token count when it broke


@dataclass(frozen=True, slots=True)
class Trimmed:
    """The engine left more of the oldest messages out of the reply's next request, so that it
    fits the model's context window: a tool round made it longer, or the server refused it as
    too long (then a `Retrying` came first). `notice` says all that `request` leaves out, in
    place of what was said for the request the reply began with."""

    request: ChatRequest
    notice: str


ChatEvent = StreamEvent | Resuming | ToolEvent | Trimmed
ROUND_LIMIT = "Not run: the limit of {} tool rounds per reply was reached."


def missing_key_failure(exc: MissingKey) -> Failure:
    if exc.reason:
        return Failure(FailureKind.KEYCHAIN_UNAVAILABLE, exc.reason)
    return Failure(FailureKind.AUTHENTICATION, f"No API key is set for {exc.provider_name}.")


def vision_failure(target: Target, request: ChatRequest) -> Failure | None:
    """Why `request` cannot go to `target`: it carries images and the model reads none.
    Checked before anything is sent, so the user hears it from us, not as a server's 400."""
    if not request.images or target.provider.reads_images(target.model):
        return None
    return Failure(FailureKind.BAD_REQUEST, no_vision(target.model))


def continuation_of(request: ChatRequest, text: str, style: str, tokens: int) -> ChatRequest:
    """`request` with `text` as the assistant's message to carry on (replacing a prefix the
    request already ended with); a max_tokens cap keeps counting the `tokens` already had."""
    messages = request.messages
    if request.continuation and messages and messages[-1].role == "assistant":
        messages = messages[:-1]
    cap = request.max_tokens
    return dataclasses.replace(
        request,
        messages=(*messages, Message("assistant", text)),
        continuation=style,
        max_tokens=None if cap is None else max(1, cap - tokens),
    )


class Joiner:
    """Joins a continuation to the text it carries on: a server that repeats the end of the
    prefix has the repeat dropped, and a space already there is not doubled.

    It holds the first characters back only while they could still be such a repeat.
    """

    HOLD = 64  # characters compared with the end of the prefix
    MIN_OVERLAP = 8  # a shorter repeat may be the text itself ("the" after "the")

    def __init__(self, prefix: str) -> None:
        self.tail = prefix[-self.HOLD :]
        self.held = ""
        self.joined = not prefix

    def feed(self, text: str) -> str:
        if self.joined:
            return text
        self.held += text
        if len(self.held) < self.HOLD and self.held in self.tail:
            return ""  # could still be a repeat of the prefix's end
        return self.flush()

    def flush(self) -> str:
        if self.joined:
            return ""
        self.joined = True
        held, tail = self.held, self.tail
        for k in range(min(len(held), len(tail)), self.MIN_OVERLAP - 1, -1):
            if tail.endswith(held[:k]):
                return held[k:]
        if tail.endswith(" ") and held.startswith(" "):
            return held.lstrip(" ")
        return held


async def stream_reply(
    reply: Reply,
    request: ChatRequest,
    *,
    keys: KeySource | None,
    trace: StreamTrace | None = None,
    recorder: ReplyRecorder | None = None,
    extra_headers: Mapping[str, str] | None = None,
    resume: ResumePolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    tools: ToolRunner | None = None,
) -> AsyncGenerator[ChatEvent, None]:
    """Stream `request` to `reply.target`; every stream ends with one Done or Failure event.

    With `tools`, the runner's tools are offered; a request that ends asking for some is not
    the end: each call is approved and run (`ToolRunning`, `ToolResult` events), the results go
    back in the next request, and the reply carries on, for at most `tools.max_rounds` rounds.
    A reply that ends on a tool request nothing ran ends with `Done("tool_calls")` and says
    why in `reply.tool_stop`.

    Each request fits the model's context window (`ChatRequest.fit`): before it goes, the
    oldest earlier turns are left out as far as its estimate needs (`Trimmed` says so), but
    never the reply's own tool rounds: a round too long by itself ends the reply with a
    `BAD_REQUEST` failure that names the window and the estimate, and nothing is sent. A request
    the server refuses as too long (`dialects.wire.too_long`) before anything of it arrived is
    sent once more at once, with its oldest turns left out down to `REFUSED_PERCENT` of its
    estimate: a `Retrying` and a `Trimmed` announce it; with nothing to leave out, the refusal
    ends the reply.

    With a `resume` policy, a reply that breaks after its first token (a cut, a stall, a
    malformed chunk, an abnormal close, an error event) is carried on or sent again, with
    backoff, up to the policy's attempts: a `Resuming` event announces each, and the consumer
    sees the failure only when no attempt is left. Cancelling the consumer (Stop, Esc, closing
    the window) marks the reply stopped with its text kept, records it and re-raises; a
    consumer that stops iterating early (Test connection stops at the first token) leaves it
    stopped too.
    """
    from streamdesk.core.dialects.wire import too_long  # with the first request, not at start

    target = reply.target
    first = request
    policy = resume if resume is not None else ResumePolicy()
    reply.begin(trace if trace is not None else StreamTrace())
    assert reply.trace is not None
    transport: Transport | None = None
    failure: Failure | None = None
    try:
        try:
            failure = vision_failure(target, request)
            if failure is not None:
                raise StreamError(failure.kind, failure.message)
            problems: list[str] = []
            endpoint = await resolve_endpoint(target, keys, problems)
            reply.keychain_problem = problems[0] if problems else None
            reply.key_sent = endpoint.api_key is not None
            transport = make_transport(
                target.protocol,
                endpoint,
                extra_headers=dict(extra_headers) if extra_headers else None,
            )
        except MissingKey as exc:
            reply.missing_key = exc
            failure = missing_key_failure(exc)
        except StreamError as exc:  # e.g. a CA bundle that cannot be read
            failure = Failure(exc.kind, redact_known(str(exc)), status=exc.status)
        except ValueError as exc:  # no WebSocket URL for this provider, an unknown protocol
            failure = Failure(FailureKind.BAD_REQUEST, redact_known(str(exc)))
        if failure is not None:
            reply.apply(failure)
            if recorder is not None:
                recorder.apply(failure)
            yield failure
            return
        assert transport is not None
        if tools is not None:
            offered = (await tools.prepare()).specs
            request = dataclasses.replace(request, tools=offered) if offered else request
        limit = _limit(request)
        if limit is not None:  # the tools listed may not be those counted
            request = fitted(request, limit)
        if request.left_out != first.left_out:
            yield Trimmed(request, request_notice(request, target))
        attempt, joiner, failed = 1, None, 0
        calls: list[ToolCall] = []
        shrunk = False  # this request was sent again with less after a refusal as too long
        while True:
            broke: Failure | None = None
            asked: Done | None = None
            refused: Failure | None = None
            began = False  # text, reasoning or a tool call came from this request
            events = stream_chat(
                transport,
                request,
                trace=reply.trace,
                timeouts=endpoint.timeouts,
                max_retries=min(endpoint.max_retries, MAX_REQUESTS - 1 - failed),
                failed_before=failed,
                sleep=sleep,
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    if joiner is not None and isinstance(event, TextDelta):
                        text = joiner.feed(event.text)
                        if not text:
                            continue
                        event = TextDelta(text)
                    elif joiner is not None and isinstance(event, Done | Failure):
                        rest = joiner.flush()
                        if rest:
                            reply.apply(TextDelta(rest))
                            if recorder is not None:
                                recorder.apply(TextDelta(rest))
                            yield TextDelta(rest)
                    if isinstance(event, ToolCall):
                        calls.append(event)
                    elif isinstance(event, Retrying):
                        calls.clear()  # the next attempt asks again
                    elif isinstance(event, Done) and calls:
                        asked = event
                        break
                    elif isinstance(event, TextDelta | ReasoningDelta | ToolCallDelta):
                        began = True
                    elif (
                        isinstance(event, Failure)
                        and not began
                        and not shrunk
                        and too_long(event)
                        and failed + reply.trace.attempts < MAX_REQUESTS
                    ):
                        smaller = fitted(request, request_tokens(request) * REFUSED_PERCENT // 100)
                        if smaller.left_out != request.left_out:
                            refused, request = event, smaller
                            break
                    if (
                        isinstance(event, Failure)
                        and event.kind in RESUMABLE
                        and (reply.deltas > 0 or reply.attempts)  # text in this or an earlier
                        and policy.strategy in ("continue", "restart")
                        and attempt <= policy.attempts
                        and failed + reply.trace.attempts < MAX_REQUESTS
                    ):
                        broke = event
                        break
                    reply.apply(event)
                    if recorder is not None:
                        recorder.apply(event)
                    yield event
            if asked is not None:
                found = reply.end_round(calls)
                if recorder is not None:
                    recorder.tools_changed(reply)
                calls = []
                rounds = len(reply.tool_rounds)
                stop = ""
                if tools is None:
                    stop = "no_tools"
                elif rounds > tools.max_rounds:
                    stop = "round_limit"
                    why = ROUND_LIMIT.format(tools.max_rounds)
                    for result in unanswered(found, why, "cancelled", tools.server_of):
                        yield record_result(reply, recorder, result)
                else:
                    async for item in run_round(reply, found, tools, recorder):
                        yield item
                    stop = tools.stop_reason
                if stop:
                    reply.tool_stop = "" if stop == "no_tools" else stop
                    done = Done("tool_calls")
                    reply.apply(done)
                    if recorder is not None:
                        recorder.apply(done)
                    yield done
                    return
                grown = next_request(request, reply, found)
                limit = _limit(grown)
                request = grown if limit is None else fitted(grown, limit)
                if limit is not None and request_tokens(request) > limit:
                    failure = Failure(
                        FailureKind.BAD_REQUEST,
                        turn_too_long(
                            target.model,
                            target.provider.context_window(target.model) or limit,
                            request_tokens(request),
                            limit,
                        ),
                    )
                    reply.apply(failure)
                    if recorder is not None:
                        recorder.apply(failure)
                    yield failure
                    return
                if request.left_out != grown.left_out:
                    yield Trimmed(request, request_notice(request, target))
                reply.prompt_chars = sum(len(m.content) for m in request.messages)
                attempt, joiner, shrunk = 1, None, False
                failed += reply.trace.attempts - 1  # the retries this request needed
                continue
            if refused is not None:  # sent again at once with the oldest turns left out
                calls = []
                shrunk = True
                retry = Retrying(reply.trace.attempts, 0.0, refused)
                failed += reply.trace.attempts
                reply.apply(retry)
                if recorder is not None:
                    recorder.apply(retry)
                yield retry
                yield Trimmed(request, request_notice(request, target))
                reply.prompt_chars = sum(len(m.content) for m in request.messages)
                continue
            if broke is None:
                return
            reply.apply(broke)  # settles what the broken attempt counted and cost
            calls = []
            strategy = "continue" if reply.tool_rounds else policy.strategy
            if strategy == "continue":
                request = continuation_of(
                    request,
                    reply.tail,
                    target.provider.continuation,
                    reply.own_completion_tokens,
                )
                joiner = Joiner(reply.tail)
            elif recorder is not None:
                recorder.restart(reply)
            attempt += 1
            failed += reply.trace.attempts  # every request of this try failed, the last included
            delay = backoff_delay(failed - 1, broke.retry_after)
            tokens = reply.completion_tokens
            reply.trace.resumes.append((time.perf_counter(), tokens, broke.kind.value, strategy))
            reply.reopen(strategy, sum(len(m.content) for m in request.messages))
            yield Resuming(attempt, policy.attempts + 1, strategy, delay, broke, tokens)
            await sleep(delay)
    except asyncio.CancelledError:
        reply.stop()
        raise
    except Exception as exc:  # a bug below must not leave a reply spinning forever
        log.exception("the stream failed unexpectedly")
        failure = Failure(FailureKind.NETWORK, redact_known(f"Unexpected error: {exc}"))
        reply.apply(failure)
        if recorder is not None:
            recorder.apply(failure)
        yield failure
    finally:
        reply.stop()  # no ending came: the consumer went away
        if transport is not None:
            await close_transport(transport)
        if recorder is not None:
            try:
                recorder.finish(reply)
            except Exception:
                log.exception("the reply could not be recorded in the history")


def _limit(request: ChatRequest) -> int | None:
    """The tokens `request` may hold (`context.budget`); None when its model's window is
    unknown, or it is no conversation's: nothing to fit it to (and nothing to count)."""
    return None if request.fit is None else budget(request.fit)


def record_result(reply: Reply, recorder: ReplyRecorder | None, result: ToolResult) -> ToolResult:
    reply.add_result(result)
    if recorder is not None:
        recorder.tools_changed(reply)
    return result


async def run_round(
    reply: Reply, found: ToolRound, tools: ToolRunner, recorder: ReplyRecorder | None
) -> AsyncGenerator[ToolEvent, None]:
    """Approve and run the calls of `found`, recording each result. Stopped at any point
    (while waiting for approval, mid-tool), every call is still given a result."""
    try:
        events = tools.run(found.calls)
        async with contextlib.aclosing(events):
            async for item in events:
                if isinstance(item, ToolResult):
                    record_result(reply, recorder, item)
                yield item
    except BaseException:  # Stop (CancelledError) or the consumer went away (GeneratorExit)
        cut = tools.interrupted()
        if cut is not None:
            reply.add_result(cut)
        for result in unanswered(found, NOT_RUN, "cancelled", tools.server_of):
            reply.add_result(result)
        if recorder is not None:
            recorder.tools_changed(reply)
        raise


def next_request(request: ChatRequest, reply: Reply, found: ToolRound) -> ChatRequest:
    """`request` with the round's calls and results added: the text the model wrote since
    the previous round (a continued prefix included) and one tool message per call."""
    messages = list(request.messages)
    if request.continuation and messages and messages[-1].role == "assistant":
        messages.pop()  # the prefix it carried on is part of this round's text
    rounds = reply.tool_rounds
    previous = rounds[-2].at if len(rounds) > 1 else 0
    messages += round_messages(found, reply.text[previous : found.at])
    return dataclasses.replace(request, messages=tuple(messages), continuation="")


async def collect(
    reply: Reply,
    request: ChatRequest,
    *,
    keys: KeySource | None,
    trace: StreamTrace | None = None,
    recorder: ReplyRecorder | None = None,
    extra_headers: Mapping[str, str] | None = None,
    resume: ResumePolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> Reply:
    """Stream `request` to its end and return the reply (for callers that only want figures)."""
    events = stream_reply(
        reply,
        request,
        keys=keys,
        trace=trace,
        recorder=recorder,
        extra_headers=extra_headers,
        resume=resume,
        sleep=sleep,
    )
    async with contextlib.aclosing(events):
        async for _ in events:
            pass
    return reply


def prewarm() -> None:
    """Import the request path and build the default TLS contexts, so the first send does not
    pay for them on a GUI loop (blocking: run it in a worker thread)."""
    from streamdesk.core.transports._tls import prewarm as prewarm_transports

    prewarm_transports()


async def close_transport(transport: Transport) -> None:
    """Close even when cancelled again while closing (a window closing during a Stop)."""
    task = asyncio.ensure_future(transport.aclose())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
    except Exception:
        log.exception("closing the transport failed")
