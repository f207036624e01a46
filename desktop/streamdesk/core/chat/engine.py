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
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Protocol

from streamdesk.core.chat.reply import Reply
from streamdesk.core.chat.target import KeySource, MissingKey, resolve_endpoint
from streamdesk.core.errors import StreamError
from streamdesk.core.events import Failure, FailureKind, StreamEvent
from streamdesk.core.request import ChatRequest
from streamdesk.core.stream import stream_chat
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports import Transport, make_transport

log = logging.getLogger(__name__)


class ReplyRecorder(Protocol):
    """Where a reply is persisted as it streams (`core.chat.record.ReplyRecord` fits)."""

    def apply(self, event: StreamEvent) -> None: ...
    def finish(self, reply: Reply) -> None: ...


def missing_key_failure(exc: MissingKey) -> Failure:
    if exc.reason:
        return Failure(FailureKind.KEYCHAIN_UNAVAILABLE, exc.reason)
    return Failure(FailureKind.AUTHENTICATION, f"No API key is set for {exc.provider_name}.")


async def stream_reply(
    reply: Reply,
    request: ChatRequest,
    *,
    keys: KeySource | None,
    trace: StreamTrace | None = None,
    recorder: ReplyRecorder | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """Stream `request` to `reply.target`; every stream ends with one Done or Failure event.

    Cancelling the consumer (Stop, Esc, closing the window) marks the reply stopped with its
    text kept, records it and re-raises; a consumer that stops iterating early (Test
    connection stops at the first token) leaves it stopped too.
    """
    target = reply.target
    reply.begin(trace if trace is not None else StreamTrace())
    assert reply.trace is not None
    transport: Transport | None = None
    failure: Failure | None = None
    try:
        try:
            problems: list[str] = []
            endpoint = await resolve_endpoint(target, keys, problems)
            reply.keychain_problem = problems[0] if problems else None
            transport = make_transport(
                target.protocol,
                endpoint,
                provider_id=target.provider.id,
                extra_headers=dict(extra_headers) if extra_headers else None,
            )
        except MissingKey as exc:
            reply.missing_key = exc
            failure = missing_key_failure(exc)
        except StreamError as exc:  # e.g. a CA bundle that cannot be read
            failure = Failure(exc.kind, str(exc), status=exc.status)
        except ValueError as exc:  # no WebSocket URL for this provider, an unknown protocol
            failure = Failure(FailureKind.BAD_REQUEST, str(exc))
        if failure is not None:
            reply.apply(failure)
            if recorder is not None:
                recorder.apply(failure)
            yield failure
            return
        assert transport is not None
        events = stream_chat(
            transport,
            request,
            trace=reply.trace,
            timeouts=endpoint.timeouts,
            max_retries=endpoint.max_retries,
        )
        async with contextlib.aclosing(events):
            async for event in events:
                reply.apply(event)
                if recorder is not None:
                    recorder.apply(event)
                yield event
    except asyncio.CancelledError:
        reply.stop()
        raise
    except Exception as exc:  # a bug below must not leave a reply spinning forever
        log.exception("the stream failed unexpectedly")
        failure = Failure(FailureKind.NETWORK, f"Unexpected error: {exc}")
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


async def collect(
    reply: Reply,
    request: ChatRequest,
    *,
    keys: KeySource | None,
    trace: StreamTrace | None = None,
    recorder: ReplyRecorder | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> Reply:
    """Stream `request` to its end and return the reply (for callers that only want figures)."""
    events = stream_reply(
        reply, request, keys=keys, trace=trace, recorder=recorder, extra_headers=extra_headers
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
