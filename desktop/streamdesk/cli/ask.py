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
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from streamdesk.cli._common import warn
from streamdesk.cli.ask_setup import UsageError, add_network_flags
from streamdesk.cli.sinks import (
    EXIT_CODES,
    EXIT_OK,
    EXIT_USAGE,
    JsonSink,
    Sink,
    TextSink,
)
from streamdesk.core.events import Failure, FailureKind, StreamEvent

if TYPE_CHECKING:
    from streamdesk.core.request import ChatRequest, Endpoint
    from streamdesk.core.trace import StreamTrace

__all__ = ["EXIT_CODES", "EXIT_OK", "EXIT_USAGE", "ask_stream", "consume", "register", "run"]
CANCELLED_MESSAGE = "Stopped by the user; the partial reply was kept."

_EPILOG = (
    "The API key comes from the OS keychain (`streamdesk keys set PROVIDER`) or the\n"
    "STREAMDESK_API_KEY environment variable, never from a flag. Local servers (ollama,\n"
    "lmstudio, vllm, llamacpp) need no key. With no key and no --base-url, ask talks to\n"
    "the built-in offline mock server and says so on stderr.\n"
    "Provider, timeouts, retries, proxy and CA bundle default to the settings file\n"
    "(the window's File ▸ Settings); the flags above override them for one run.\n\n"
    "Every ask is stored in the history unless --no-save (`streamdesk history list`).\n"
    "  ask --continue ID          continues the unfinished (partial, stopped or error) last\n"
    "                             reply of conversation ID in place: its text is sent as the\n"
    "                             assistant's prefix and what arrives is appended to it; on\n"
    "                             success it is marked complete.\n"
    '  ask --continue ID "PROMPT" asks something new in conversation ID: the conversation\n'
    "                             is sent, then PROMPT; the reply is stored under it (an\n"
    "                             unfinished last reply stays as it is, marked).\n\n"
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
    p.add_argument(
        "prompt",
        metavar="PROMPT",
        nargs="?",
        help='the question; "-" reads it from stdin (optional only with --continue)',
    )
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
        help="continue conversation ID: with no PROMPT, its unfinished last reply in place;"
        " with a PROMPT, a new turn (see below)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.prompt is None and args.continue_id is None:
        warn("usage: PROMPT is required (it may be left out only with --continue ID)")
        return EXIT_USAGE
    try:
        prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    except KeyboardInterrupt:
        return EXIT_CODES[FailureKind.CANCELLED]
    if prompt is not None and not prompt.strip():
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


async def _ask(args: argparse.Namespace, prompt: str | None, sink: Sink) -> int:
    from streamdesk.cli import ask_setup as setup
    from streamdesk.cli.ask_history import HistorySaver
    from streamdesk.core import providers
    from streamdesk.core.request import ChatRequest, Message
    from streamdesk.core.store.secrets import KeyStore

    settings = setup.load_cli_settings()
    provider = setup.pick_provider(settings, args.provider)
    store = KeyStore()
    try:
        key, keychain_note = setup.find_key(provider, args, store)
    except setup.KeychainNeeded as exc:
        failure = Failure(
            FailureKind.KEYCHAIN_UNAVAILABLE,
            f"{exc}; set STREAMDESK_API_KEY for this run, or pass --base-url for a "
            "server that needs no key.",
        )
        sink.event(failure, sink.elapsed())
        return sink.finish()
    async with contextlib.AsyncExitStack() as stack:
        if key is None and provider.needs_key and not args.base_url:
            from streamdesk.mock import MockServer

            mock = await stack.enter_async_context(MockServer())
            why = f": {keychain_note}" if keychain_note else ""
            warn(
                f"no API key set{why}; using the built-in offline mock server ({mock.sse_base_url})"
            )
            provider = providers.mock_provider(mock.sse_base_url, mock.ws_url)
            endpoint = setup.mock_endpoint(provider, settings)
        else:
            endpoint = setup.endpoint_for(provider, key, settings, args, store)
            if keychain_note:  # said only if the server turns out to want a key
                sink.auth_note = keychain_note
        endpoint = _adjust(endpoint, args)
        if args.protocol == "ws" and not endpoint.ws_url:
            raise UsageError(f"provider {provider.id!r} has no WebSocket URL; pass --ws-url")
        model = args.model or provider.default_model
        if not model:
            raise UsageError(f"provider {provider.id!r} has no default model; pass --model")
        messages = [Message("user", prompt)] if prompt is not None else []
        if args.system:
            messages.insert(0, Message("system", args.system))
        saver = None
        if not args.no_save or args.continue_id is not None:
            saver = HistorySaver(args, prompt, provider, model)
            stack.callback(saver.close)
            messages = saver.messages(args.system)
        sink.max_attempts = endpoint.max_retries + 1
        if saver is not None:
            outer = saver.wrap(sink)  # creates the conversation: its id goes in the hint
            sink.resume_hint = saver.resume_hint
            sink = outer
        request = ChatRequest(model, tuple(messages), max_tokens=args.max_tokens)
        headers = {"X-Mock-Scenario": args.scenario} if args.scenario else None
        return await ask_stream(args.protocol, endpoint, request, sink, provider.id, headers)


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
