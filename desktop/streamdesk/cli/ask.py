"""`streamdesk ask`: stream one reply to stdout, over SSE or WebSocket.

stdout carries only the reply (or JSON lines with `--json`); notices, reasoning and the one-line
failure go to stderr, so `streamdesk ask ... > answer.md` keeps a clean file. The exit code says
which failure happened (`EXIT_CODES`), and a partial reply is always kept on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TextIO

from streamdesk.cli._common import warn
from streamdesk.cli.ask_setup import UsageError, add_network_flags
from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    ReasoningDelta,
    Retrying,
    StreamEvent,
    TextDelta,
    Usage,
)

if TYPE_CHECKING:
    from streamdesk.core.request import ChatRequest, Endpoint
    from streamdesk.core.trace import StreamTrace

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CODES: dict[FailureKind, int] = {
    FailureKind.AUTHENTICATION: 3,
    FailureKind.PERMISSION: 4,
    FailureKind.NOT_FOUND: 5,
    FailureKind.KEYCHAIN_UNAVAILABLE: 6,
    FailureKind.RATE_LIMITED: 7,
    FailureKind.SERVER_ERROR: 8,
    FailureKind.BAD_REQUEST: 9,
    FailureKind.BAD_RESPONSE: 10,
    FailureKind.CONNECTION_REFUSED: 11,
    FailureKind.NAME_NOT_RESOLVED: 12,
    FailureKind.TLS_ERROR: 13,
    FailureKind.CONNECT_TIMEOUT: 14,
    FailureKind.FIRST_TOKEN_TIMEOUT: 15,
    FailureKind.STALLED: 16,
    FailureKind.CUT_MID_STREAM: 17,
    FailureKind.WEBSOCKET_CLOSED: 18,
    FailureKind.NETWORK: 19,
    FailureKind.CANCELLED: 130,
}
CANCELLED_MESSAGE = "Stopped by the user; the partial reply was kept."

_EPILOG = (
    "The API key comes from the OS keychain (`streamdesk keys set PROVIDER`) or the\n"
    "STREAMDESK_API_KEY environment variable, never from a flag. With no key and no\n"
    "--base-url, ask talks to the built-in offline mock server and says so on stderr.\n"
    "Provider, timeouts, retries, proxy and CA bundle default to the settings file\n"
    "(the window's File ▸ Settings); the flags above override them for one run.\n\n"
    "Exit codes:\n  0   the reply finished\n  2   usage error\n"
    + "".join(f"  {code:<4}{kind.value}\n" for kind, code in EXIT_CODES.items())
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "ask",
        help="stream one reply to stdout",
        description="Ask one question and stream the reply to stdout as it arrives.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("prompt", metavar="PROMPT", help='the question; "-" reads it from stdin')
    p.add_argument(
        "--provider", help="provider id or a profile from Settings (default: the active one)"
    )
    p.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8765/v1")
    p.add_argument("--ws-url", help="WebSocket URL (default with --base-url: ws(s)://…/v1/ws/chat)")
    p.add_argument("--protocol", choices=("sse", "ws"), default="sse", help="default: sse")
    p.add_argument("--model", help="model id (default: the provider's default model)")
    p.add_argument("--max-tokens", type=int, metavar="N", help="cap the reply length")
    p.add_argument("--system", metavar="TEXT", help="a system message sent before the prompt")
    p.add_argument("--sign", action="store_true", help="sign the request (X-Timestamp/X-Signature)")
    p.add_argument("--json", action="store_true", help="print one JSON object per event per line")
    p.add_argument("--scenario", metavar="NAME", help="mock fault scenario (sends X-Mock-Scenario)")
    p.add_argument("--first-token-timeout", type=float, metavar="S", help="seconds")
    p.add_argument("--stall-timeout", type=float, metavar="S", help="seconds")
    p.add_argument("--max-retries", type=int, metavar="N", help="retries before the first token")
    add_network_flags(p)
    p.add_argument("--no-save", action="store_true", help="do not store the exchange in history")
    p.add_argument(
        "--continue",
        dest="continue_id",
        type=int,
        metavar="ID",
        help="continue conversation ID (a partial last reply is continued in place)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    except KeyboardInterrupt:
        return EXIT_CODES[FailureKind.CANCELLED]
    if not prompt.strip():
        warn("usage: the prompt is empty")
        return EXIT_USAGE
    sink = JsonSink(sys.stdout) if args.json else TextSink(sys.stdout, sys.stderr)
    try:
        return asyncio.run(_ask(args, prompt, sink))
    except UsageError as exc:
        warn(f"usage: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sink.event(Failure(FailureKind.CANCELLED, CANCELLED_MESSAGE), sink.elapsed())
        return sink.finish()


async def _ask(args: argparse.Namespace, prompt: str, sink: Sink) -> int:
    from streamdesk.cli import ask_setup as setup
    from streamdesk.core import providers
    from streamdesk.core.request import ChatRequest, Message
    from streamdesk.core.store.secrets import KeyStore

    settings = setup.load_cli_settings()
    provider = setup.pick_provider(settings, args.provider)
    store = KeyStore()
    try:
        key = setup.find_key(provider, args, store)
    except setup.KeychainNeeded as exc:
        failure = Failure(
            FailureKind.KEYCHAIN_UNAVAILABLE,
            f"{exc} Set STREAMDESK_API_KEY for this run, or pass --base-url for a "
            "server that needs no key.",
        )
        sink.event(failure, sink.elapsed())
        return sink.finish()
    async with contextlib.AsyncExitStack() as stack:
        if key is None and provider.needs_key and not args.base_url:
            from streamdesk.mock import MockServer

            mock = await stack.enter_async_context(MockServer())
            warn(f"no API key set; using the built-in offline mock server ({mock.sse_base_url})")
            provider = providers.mock_provider(mock.sse_base_url, mock.ws_url)
            endpoint = setup.mock_endpoint(provider, settings)
        else:
            endpoint = setup.endpoint_for(provider, key, settings, args, store)
        provider_id = provider.id
        endpoint = _adjust(endpoint, args)
        if args.protocol == "ws" and not endpoint.ws_url:
            raise UsageError(f"provider {provider_id!r} has no WebSocket URL; pass --ws-url")
        model = args.model or provider.default_model
        if not model:
            raise UsageError(f"provider {provider_id!r} has no default model; pass --model")
        messages = [Message("user", prompt)]
        if args.system:
            messages.insert(0, Message("system", args.system))
        saver = None
        if not args.no_save or args.continue_id is not None:
            saver = HistorySaver(args, prompt, provider_id, model)
            messages = saver.messages(messages)
            sink = saver.wrap(sink)
        request = ChatRequest(model, tuple(messages), max_tokens=args.max_tokens)
        headers = {"X-Mock-Scenario": args.scenario} if args.scenario else None
        try:
            code = await ask_stream(args.protocol, endpoint, request, sink, provider_id, headers)
        finally:
            if saver is not None:
                saver.close()
    return code


def _adjust(endpoint: Endpoint, args: argparse.Namespace) -> Endpoint:
    timeouts = endpoint.timeouts
    if args.first_token_timeout is not None:
        timeouts = dataclasses.replace(timeouts, first_token=args.first_token_timeout)
    if args.stall_timeout is not None:
        timeouts = dataclasses.replace(timeouts, stall=args.stall_timeout)
    retries = endpoint.max_retries if args.max_retries is None else max(0, args.max_retries)
    return dataclasses.replace(
        endpoint, timeouts=timeouts, sign=endpoint.sign or args.sign, max_retries=retries
    )


async def ask_stream(
    protocol: str,
    endpoint: Endpoint,
    request: ChatRequest,
    sink: Sink,
    provider_id: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> int:
    """Stream one request into `sink` and return the exit code.

    The seam for history (a later issue): anything that consumes events can sit beside `sink`
    in `consume`, e.g. a writer that persists the reply in batches.
    """
    from streamdesk.core.stream import make_transport, stream_chat
    from streamdesk.core.trace import StreamTrace

    trace = StreamTrace()
    sink.trace = trace
    transport = make_transport(
        protocol, endpoint, provider_id=provider_id, extra_headers=extra_headers
    )
    events = stream_chat(
        transport,
        request,
        trace=trace,
        timeouts=endpoint.timeouts,
        max_retries=endpoint.max_retries,
    )
    try:
        # aclosing: if the consumer raises (a closed stdout), the generators unwind here, on
        # this loop, not later in asyncio's finalizer where httpx can no longer close.
        async with contextlib.aclosing(events):
            await consume(events, sink, trace)
    finally:
        await transport.aclose()
    return sink.finish()


async def consume(events: AsyncIterator[StreamEvent], sink: Sink, trace: StreamTrace) -> None:
    """Feed every event to the sink with its time since the request started."""
    t0 = trace.t_start
    clock = time.perf_counter
    async for event in events:
        sink.event(event, clock() - t0)


class Sink:
    """Where events go. `finish()` ends the output and returns the exit code."""

    def __init__(self) -> None:
        self.trace: StreamTrace | None = None
        self.outcome: Done | Failure | None = None
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        start = self.trace.t_start if self.trace is not None else self._t0
        return time.perf_counter() - start

    def event(self, event: StreamEvent, t: float) -> None:
        raise NotImplementedError

    def finish(self) -> int:
        if isinstance(self.outcome, Failure):
            return EXIT_CODES[self.outcome.kind]
        return EXIT_OK


class TextSink(Sink):
    """The reply on stdout, flushed per token; reasoning dimmed on stderr; failures on stderr."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        super().__init__()
        self.out = out
        self.err = err
        self._last = "\n"  # last character written to stdout
        self._reasoning = False
        self._dim = err.isatty()

    def event(self, event: StreamEvent, t: float) -> None:
        if isinstance(event, TextDelta):
            self._end_reasoning()
            self.out.write(event.text)
            self.out.flush()
            self._last = event.text[-1:] or self._last
        elif isinstance(event, ReasoningDelta):
            if not self._reasoning:
                self._reasoning = True
                self._write_err("[reasoning] ")
            self._write_err(event.text)
        elif isinstance(event, Retrying):
            self._end_reasoning()
            f = event.failure
            warn(f"{f.kind.value}: {f.message} Retrying in {event.delay:.1f} s.")
        elif isinstance(event, Done | Failure):
            self._end_reasoning()
            self.outcome = event
            if self._last != "\n":
                self.out.write("\n")
                self._last = "\n"
            self.out.flush()
            if isinstance(event, Failure):
                warn(f"{event.kind.value}: {event.message}")

    def _write_err(self, text: str) -> None:
        self.err.write(f"\x1b[2m{text}\x1b[0m" if self._dim else text)
        self.err.flush()

    def _end_reasoning(self) -> None:
        if self._reasoning:
            self._reasoning = False
            self.err.write("\n")
            self.err.flush()


class JsonSink(Sink):
    """One JSON object per event per line, for scripts; `t` is seconds since the request."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out

    def event(self, event: StreamEvent, t: float) -> None:
        record: dict[str, Any]
        if isinstance(event, TextDelta):
            record = {"type": "text", "text": event.text}
        elif isinstance(event, ReasoningDelta):
            record = {"type": "reasoning", "text": event.text}
        elif isinstance(event, Usage):
            record = {
                "type": "usage",
                "prompt_tokens": event.prompt_tokens,
                "completion_tokens": event.completion_tokens,
                "total_tokens": event.total_tokens,
            }
        elif isinstance(event, Retrying):
            f = event.failure
            record = {
                "type": "retrying",
                "attempt": event.attempt,
                "delay": round(event.delay, 3),
                "kind": f.kind.value,
                "message": f.message,
            }
        elif isinstance(event, Done):
            self.outcome = event
            record = {"type": "done", "finish_reason": event.finish_reason, **self._timings()}
        else:
            self.outcome = event
            record = {
                "type": "failure",
                "kind": event.kind.value,
                "message": event.message,
                "retry_after": event.retry_after,
                "status": event.status,
                **self._timings(),
            }
        record["t"] = round(t, 6)
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()
        if isinstance(event, Failure):
            warn(f"{event.kind.value}: {event.message}")

    def _timings(self) -> dict[str, Any]:
        trace = self.trace
        if trace is None:
            return {}
        ttft = trace.ttft
        return {
            "ttft": None if ttft is None else round(ttft, 6),
            "tokens": len(trace.token_times),
            "attempts": trace.attempts,
            "bytes": trace.bytes_received,
        }


class HistorySaver:
    """`ask` in history: the prompt stored at once, the reply streamed in with a ReplyWriter
    (flushed at most every 250 ms, so a kill -9 loses at most the last batch).

    With `--continue ID` the conversation's messages are sent first; if its last reply is
    partial, it is sent as the assistant's prefix and what comes is appended to it.
    """

    def __init__(self, args: argparse.Namespace, prompt: str, provider: str, model: str) -> None:
        from streamdesk.core.store.history import HistoryError, HistoryStore

        self.store = HistoryStore()
        self.args, self.prompt, self.provider, self.model = args, prompt, provider, model
        self.save = not args.no_save
        self.cid: int | None = args.continue_id
        self.resume_id: int | None = None
        if self.cid is not None:
            try:
                self.store.get_conversation(self.cid)
            except HistoryError as exc:
                self.store.close()
                raise UsageError(str(exc)) from None

    def messages(self, new: list[Any]) -> list[Any]:
        from streamdesk.core.request import Message

        if self.cid is None:
            return new
        conv = self.store.get_conversation(self.cid)
        stored = [Message(m.role, m.content) for m in self.store.messages(self.cid)]
        system = [Message("system", conv.system_prompt)] if conv.system_prompt else []
        last = self.store.messages(self.cid, limit=1)
        if last and last[0].role == "assistant" and last[0].status != "complete":
            self.resume_id = last[0].id  # the prompt asks to continue; the reply is appended
        return [*system, *stored, *[m for m in new if m.role != "system" or not system]]

    def wrap(self, sink: Sink) -> Sink:
        from streamdesk.core.store.history import ReplyWriter

        if not self.save:
            return sink
        if self.cid is None:
            self.cid = self.store.create_conversation(provider=self.provider, model=self.model)
            self.store.auto_title(self.cid, self.prompt)
        if self.resume_id is not None:
            reply_id = self.resume_id
        else:
            self.store.add_message(self.cid, "user", self.prompt)
            reply_id = self.store.add_message(
                self.cid, "assistant", "", status="streaming", model=self.model,
                protocol=self.args.protocol,
            )  # fmt: skip
        return _TeeSink(sink, ReplyWriter(self.store, reply_id), self.args.protocol)

    def close(self) -> None:
        self.store.close()


class _TeeSink(Sink):
    """Forwards every event to the output sink and to the history writer."""

    def __init__(self, inner: Sink, writer: Any, protocol: str) -> None:
        super().__init__()
        self.inner, self.writer, self.protocol = inner, writer, protocol

    def event(self, event: StreamEvent, t: float) -> None:
        self.inner.trace = self.trace
        self.inner.event(event, t)
        if not self.writer.finished:
            trace = self.trace
            timings = {"total": round(t, 4)}
            if trace is not None and trace.ttft is not None:
                timings["ttft"] = round(trace.ttft, 4)
            self.writer.feed(event, timings=timings, protocol=self.protocol)

    def finish(self) -> int:
        if not self.writer.finished:  # the stream ended without Done or Failure
            self.writer.finish("partial" if self.writer.has_text else "error")
        return self.inner.finish()

    def elapsed(self) -> float:
        return self.inner.elapsed()
