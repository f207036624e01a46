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

from streamdesk.cli._common import at_least_one, one_line, warn
from streamdesk.cli.ask_attach import EXIT_ATTACHMENT, Attached, add_attach_flag, image_fitter
from streamdesk.cli.ask_setup import UsageError, add_network_flags
from streamdesk.cli.ask_tools import ToolServersFailed, add_tool_flags
from streamdesk.cli.assistants import add_assistant_flag, use_assistant
from streamdesk.cli.sinks import (
    EXIT_CODES,
    EXIT_NOT_APPROVED,
    EXIT_OK,
    EXIT_TOOL_LIMIT,
    EXIT_TOOL_SERVER,
    EXIT_USAGE,
    JsonSink,
    Sink,
    TextSink,
)
from streamdesk.core.attachments import AttachmentRefused
from streamdesk.core.chat.conversation import request_notice
from streamdesk.core.events import Failure, FailureKind

if TYPE_CHECKING:
    from streamdesk.cli.ask_history import AskThread
    from streamdesk.core.chat import ChatEvent, KeySource, Target
    from streamdesk.core.providers import Provider
    from streamdesk.core.store.settings import Settings

__all__ = ["EXIT_CODES", "EXIT_OK", "EXIT_USAGE", "consume", "register", "run"]
CANCELLED_MESSAGE = "Stopped by the user; the partial reply was kept."

_EPILOG = (
    "The API key comes from the OS keychain (`streamdesk keys set PROVIDER`) or the\n"
    "STREAMDESK_API_KEY environment variable, never from a flag. Local servers (ollama,\n"
    "lmstudio, vllm, llamacpp) and a bare --base-url need no key; a provider that needs\n"
    "one and has none exits 3 before anything is sent. Only when nothing at all is\n"
    "configured (no provider chosen, no key stored) does ask talk to the built-in\n"
    "offline mock server, and it says so on stderr. Requests are signed only when the\n"
    "provider's profile says so or with --sign.\n"
    "Provider, timeouts, retries, proxy and CA bundle default to the settings file\n"
    "(the window's File ▸ Settings); the flags above override them for one run.\n\n"
    "Every ask is stored in the history unless --no-save (`streamdesk history list`).\n"
    "  ask --continue ID          continues the unfinished (partial, stopped or error) last\n"
    "                             reply of conversation ID in place: its text is sent as the\n"
    "                             assistant's prefix and what arrives is appended to it; on\n"
    "                             success it is marked complete.\n"
    '  ask --continue ID "PROMPT" asks something new in conversation ID: the conversation\n'
    "                             is sent, then PROMPT; the reply is stored under it (an\n"
    "                             unfinished last reply stays as it is, marked).\n"
    "  A continued conversation goes to the provider, URL, model and protocol it was held\n"
    "  with; --provider, --base-url, --model or --protocol switch it on purpose. An ID\n"
    "  that is not in the history exits 5 (not_found), as `history show ID` does.\n\n"
    "A reply cut mid-stream (connection dropped, stall, malformed chunk, abnormal close,\n"
    "error event) is resumed on its own, up to the provider's attempts: continue sends the\n"
    "partial reply as the assistant's prefix and joins the rest to it on stdout; restart\n"
    "sends the request again, says so on stderr and starts the new attempt on a new line.\n"
    "With --json every record carries the reply's attempt number (a retrying record: the\n"
    "request's).\n\n"
    "A conversation longer than the model reads goes without its oldest turns, said on\n"
    "stderr; when a tool round makes the request longer, or the server refuses it as too\n"
    "long (then it is sent once more, shorter), the new count is said too (--json: a\n"
    "trimmed record).\n\n"
    "Tools: --mcp NAME|FILE offers the tools of MCP servers (configured in settings.toml\n"
    "[mcp.servers.NAME], see `streamdesk mcp list`, or a JSON file in the mcpServers shape\n"
    "other clients use). Each call the model makes is asked about on the terminal (tool,\n"
    "server, arguments; y once, a always in this run, N deny), or run without asking with\n"
    "--allow-tools. Without a terminal and without --allow-tools a tool call ends the reply\n"
    "(exit 22). Results go back to the model and the reply carries on, up to\n"
    "--max-tool-rounds rounds (then exit 23). Each call and result is one line on stderr\n"
    "(--json: tool_call and tool_result records) and is stored with the reply. A server's\n"
    "stderr goes to its log (`streamdesk mcp list` shows where). `--continue ID` without\n"
    "--mcp offers the configured servers the conversation enabled (in the window, or by\n"
    "name with --mcp when it began), still asking about each call.\n\n"
    "Attachments: --attach FILE (repeatable). PNG, JPEG, GIF and WebP images go as image\n"
    "parts in the API's own shape, downscaled with Qt when larger than it takes (long edge:\n"
    "chat and Responses 2048 px, Anthropic 1568 px, Gemini 3072 px; at most 5 MB each).\n"
    "UTF-8 text and code files are inlined after the prompt as fenced blocks named by the\n"
    "file. A file over 20 MB, any other binary file, or images for a model without vision\n"
    "exit 25 before anything is sent. Images are stored once in the history and sent again\n"
    "by --continue.\n\n"
    "Exit codes:\n  0   the reply finished\n  2   usage error\n"
    + "".join(f"  {code:<4}{kind.value}\n" for kind, code in EXIT_CODES.items())
    + f"  {EXIT_NOT_APPROVED:<4}a tool call nobody could approve ended the reply\n"
    + f"  {EXIT_TOOL_LIMIT:<4}the reply stopped at the tool round limit\n"
    + f"  {EXIT_TOOL_SERVER:<4}an --mcp server could not start\n"
    + f"  {EXIT_ATTACHMENT:<4}an --attach file cannot be sent (nothing was sent)\n"
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
    p.add_argument(
        "--protocol",
        choices=("sse", "ws"),
        help="default: sse (with --continue: the conversation's)",
    )
    p.add_argument("--model", help="model id (default: the provider's default model)")
    p.add_argument(
        "--api",
        choices=("chat", "responses", "anthropic", "gemini"),
        help="the API to speak (default: the provider's): OpenAI chat completions or Responses,"
        " Anthropic Messages, Gemini",
    )
    p.add_argument("--max-tokens", type=at_least_one, metavar="N", help="cap the reply length")
    p.add_argument("--system", metavar="TEXT", help="a system message sent before the prompt")
    p.add_argument(
        "--reasoning",
        action="store_true",
        help="ask for the model's thinking (Anthropic, Gemini, Responses); shown on stderr",
    )
    p.add_argument("--sign", action="store_true", help="sign the request (X-Timestamp/X-Signature)")
    p.add_argument("--json", action="store_true", help="print one JSON object per event per line")
    p.add_argument("--scenario", metavar="NAME", help="mock fault scenario (sends X-Mock-Scenario)")
    p.add_argument("--first-token-timeout", type=float, metavar="S", help="seconds")
    p.add_argument("--stall-timeout", type=float, metavar="S", help="seconds")
    p.add_argument("--max-retries", type=int, metavar="N", help="retries before the first token")
    p.add_argument(
        "--resume",
        choices=("auto", "continue", "restart", "off"),
        default="auto",
        help="after a cut mid-reply: carry the reply on, send it again, or stop (default auto:"
        " the provider's way)",
    )
    p.add_argument(
        "--resume-attempts",
        type=int,
        metavar="N",
        help="how many times a cut reply is resumed (default: the provider's, 2)",
    )
    add_attach_flag(p)
    add_assistant_flag(p)
    add_tool_flags(p)
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
    from streamdesk.core.store.history import ConversationNotFound

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
    if args.attach and prompt is None:
        warn("usage: --attach needs a PROMPT (a new turn), not a continued reply")
        return EXIT_USAGE
    try:
        attached = Attached.read(args.attach)
    except AttachmentRefused as exc:
        warn(str(exc))
        return EXIT_ATTACHMENT
    sink = JsonSink(sys.stdout) if args.json else TextSink(sys.stdout, sys.stderr)
    try:
        return asyncio.run(_ask(args, prompt, sink, attached))
    except AttachmentRefused as exc:
        warn(str(exc))
        return EXIT_ATTACHMENT
    except UsageError as exc:
        warn(f"usage: {exc}")
        return EXIT_USAGE
    except ConversationNotFound as exc:  # as `history show ID` says it
        warn(str(exc))
        return EXIT_CODES[FailureKind.NOT_FOUND]
    except ToolServersFailed:
        return EXIT_TOOL_SERVER
    except KeyboardInterrupt:
        sink.event(Failure(FailureKind.CANCELLED, CANCELLED_MESSAGE), sink.elapsed())
        return sink.finish()


async def _ask(args: argparse.Namespace, prompt: str | None, sink: Sink, attached: Attached) -> int:
    from streamdesk.cli import ask_setup as setup
    from streamdesk.cli.ask_history import AskThread
    from streamdesk.cli.ask_tools import open_tools
    from streamdesk.core.chat import ResumePolicy, Target, stream_reply, with_api
    from streamdesk.core.store.secrets import KeyStore
    from streamdesk.core.trace import StreamTrace

    settings = setup.load_cli_settings()
    keys = KeyStore()
    async with contextlib.AsyncExitStack() as stack:
        thread = AskThread.open(args, None if prompt is None else attached.prompt(prompt))
        if thread.store is not None:
            stack.callback(thread.store.close)
        use_assistant(settings, args, thread.conversation)
        provider = setup.pick_provider(settings, args, keys, thread.stored_target)
        if provider is None:
            provider = await _offline_demo(stack, settings, keys)
        else:
            _say_url_fault(settings, provider)
        if args.api:
            provider = with_api(provider, args.api)
        protocol = args.protocol or (
            thread.stored_target.protocol if thread.stored_target else "sse"
        )
        if protocol == "ws" and provider.api != "chat":
            raise UsageError(f"the {provider.api} API streams over SSE only; drop --protocol ws")
        if protocol == "ws" and not provider.ws_url:
            raise UsageError(f"provider {provider.id!r} has no WebSocket URL; pass --ws-url")
        timeouts = setup.timeouts_of(provider, args)
        target = Target(
            provider,
            model="",
            protocol=protocol,
            timeouts=timeouts,
            max_retries=args.max_retries,
            sign=True if args.sign else None,
            network=setup.network_of(settings, args),
        )
        target = dataclasses.replace(target, model=await _model(args, thread, target, keys))
        images = attached.images_for(target)
        tools = await open_tools(stack, settings, args, keys, thread.conversation)
        sink.tools = tools
        if tools is not None:  # listed already: their schemas count in the context estimate
            thread.conversation.offered_tools = (await tools.prepare()).specs
        thread.conversation.image_fitter = image_fitter()
        plan = thread.plan(target, args, images)
        if notice := request_notice(plan.request, plan.turn.target):
            warn(notice)
        sink.reply = plan.turn.reply
        sink.max_attempts = (
            args.max_retries if args.max_retries is not None else provider.max_retries
        ) + 1
        recorder = thread.recorder(plan.turn)
        sink.resume_hint = thread.resume_hint
        headers = {"X-Mock-Scenario": args.scenario} if args.scenario else None
        sink.trace = trace = StreamTrace()
        events = stream_reply(
            plan.turn.reply,
            plan.request,
            keys=keys,
            trace=trace,
            recorder=recorder,
            extra_headers=headers,
            resume=ResumePolicy.of(target, args.resume, args.resume_attempts),
            tools=tools,
        )
        # aclosing: if the consumer raises (a closed stdout), the generators unwind here, on
        # this loop, not later in asyncio's finalizer where httpx can no longer close.
        async with contextlib.aclosing(events):
            await consume(events, sink)
        return sink.finish()


def _say_url_fault(settings: Settings, provider: Provider) -> None:
    """A URL of the chosen profile that Settings ▸ Providers would refuse, said before sending
    (as the window's banner says it); the request goes as it would anyway."""
    from streamdesk.core.provider_urls import fault_sentence, profile_url_faults

    for fault in profile_url_faults(p for p in settings.providers if p.id == provider.id):
        used = provider.base_url if fault.field == "base_url" else provider.ws_url or ""
        if fault.url == used:  # not when --base-url or --ws-url put another in its place
            warn(one_line(fault_sentence(fault), limit=400))


async def _offline_demo(
    stack: contextlib.AsyncExitStack, settings: Settings, keys: KeySource
) -> Provider:
    """The built-in mock in this process: the user has configured nothing at all."""
    from streamdesk.cli.ask_setup import keychain_problem
    from streamdesk.core import providers
    from streamdesk.core.errors import KeychainUnavailable
    from streamdesk.mock import MockServer

    why = ""
    try:
        keys.list()
    except KeychainUnavailable as exc:
        why = f": {keychain_problem(exc)}"
    mock = await stack.enter_async_context(MockServer())
    warn(f"no API key set{why}; using the built-in offline mock server ({mock.sse_base_url})")
    demo = providers.mock_provider(mock.sse_base_url, mock.ws_url)
    return dataclasses.replace(demo, timeouts=settings.timeouts(), max_retries=settings.max_retries)


async def _model(
    args: argparse.Namespace, thread: AskThread, target: Target, keys: KeySource
) -> str:
    """--model, else the continued conversation's (on its own host), else the provider's
    default, else the one model the server lists, else the conversation's model elsewhere."""
    from streamdesk.core.chat import only_server_model

    stored = thread.stored_target
    switched = args.provider or args.base_url
    model = args.model or (stored.model if stored and not switched else "")
    model = model or target.provider.default_model
    if not model:
        model = await only_server_model(target, keys) or ""
    if not model and stored is not None:  # another host, the same model as before
        model = stored.model
    if not model:
        raise UsageError(f"provider {target.provider.id!r} has no default model; pass --model")
    return model


async def consume(events: AsyncIterator[ChatEvent], sink: Sink) -> None:
    """Feed every event to the sink with its time since the request started."""
    clock = time.perf_counter
    async for event in events:
        sink.event(event, sink.elapsed() if sink.trace is None else clock() - sink.trace.t_start)
