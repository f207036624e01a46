"""`streamdesk compare PROMPT --target SPEC --target SPEC …`: one prompt to several targets at
once, a table of how each did.

Every target streams through the conversation engine (`core.chat.compare`), in parallel, and is
stored as a conversation of its own (`streamdesk history show ID`, continued with `streamdesk ask
--continue ID`), so the table's tokens and cost are the ones the history keeps. Keys, proxy, CA
bundle and timeouts are the ones `ask` uses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streamdesk.cli._common import at_least_one, one_line, warn
from streamdesk.cli.ask_setup import UsageError, add_network_flags

if TYPE_CHECKING:
    from streamdesk.core.chat import ChatEvent, KeySource, Reply, Target
    from streamdesk.core.chat.compare import Lane, Standings
    from streamdesk.core.providers import Provider
    from streamdesk.core.store.history import HistoryStore
    from streamdesk.core.store.settings import Settings

EXIT_OK = 0
EXIT_SOME_FAILED = 1  # at least one target did not complete; each failure is said on stderr
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
APIS = ("chat", "responses", "anthropic", "gemini")
PROTOCOLS = ("sse", "ws")
MOCK = "mock"
REPLY_CHARS = 48  # of the reply's first line in the table

_EPILOG = f"""\
A target is PROVIDER[/API][:MODEL][@sse|@ws]:
  PROVIDER  a provider id from the settings or built in (openai, anthropic, ollama, …), or
            "mock": the built-in offline demo, started in this process; it costs no money, so
            its cost reads "demo" and it is never the cheapest
  API       another API the provider speaks: {", ".join(APIS)} (WebSocket is chat only)
  MODEL     default: the provider's default model
  @sse|@ws  the protocol (default: sse)
or URL|MODEL[@sse|@ws] for a bare OpenAI-compatible server (no key needed, no prices).
Examples:
  streamdesk compare "Explain SSE" --target mock:gpt-4.1 --target mock:deepseek-v3.2@ws \\
      --target mock/anthropic:claude-sonnet-4.5
  streamdesk compare "Hi" --target openai:gpt-4.1-mini --target 'http://localhost:8080/v1|qwen'

All targets stream at once. Each is stored as a conversation of its own (unless --no-save):
the table's tokens and cost are the ones `streamdesk history show ID` shows, and
`streamdesk ask --continue ID "…"` carries one of them on. A cost marked ≈ is estimated (the
server sent no usage), – is unknown (no price for the model), demo is the offline demo's.

Exit codes:
  {EXIT_OK}    every target completed
  {EXIT_SOME_FAILED}    some target failed or stopped (each failure is one line on stderr)
  {EXIT_USAGE}    usage error (a bad target, an unknown provider, fewer than two targets)
  {EXIT_INTERRUPTED}  interrupted (Ctrl+C): the replies so far are stored, marked stopped
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "compare",
        help="one prompt to several providers or models at once, side by side",
        description="Send one prompt to every --target at once and print a table: status, time "
        "to first token, tokens per second, tokens in and out, cost and the reply's first line.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("prompt", metavar="PROMPT", help='the prompt; "-" reads it from stdin')
    p.add_argument(
        "--target",
        dest="targets",
        action="append",
        type=parse_target,
        required=True,
        metavar="SPEC",
        help="PROVIDER[/API][:MODEL][@sse|@ws] or URL|MODEL[@sse|@ws]; at least two",
    )
    p.add_argument("--system", metavar="TEXT", help="a system message sent before the prompt")
    p.add_argument("--max-tokens", type=at_least_one, metavar="N", help="cap each reply's length")
    p.add_argument("--json", action="store_true", help="print one JSON object with every row")
    p.add_argument("--show", action="store_true", help="print each reply in full after the table")
    p.add_argument("--no-save", action="store_true", help="do not store the replies in history")
    add_network_flags(p)
    p.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A parsed --target: a provider id or a bare base URL, the API, the model, the protocol."""

    provider: str  # "" with a base URL
    base_url: str  # "" with a provider id
    api: str  # "" = the provider's
    model: str  # "" = the provider's default
    protocol: str

    @property
    def scenario(self) -> str:
        """The built-in mock's fault scenario named after its model ("mock:gpt-4.1#cut"): the
        target's `scenario`, in the request only, so the stored model is one `ask --continue`
        can use."""
        return self.model.partition("#")[2] if self.provider == MOCK else ""

    @property
    def model_name(self) -> str:
        """The model without the mock's scenario."""
        return self.model.partition("#")[0] if self.provider == MOCK else self.model

    @property
    def label(self) -> str:
        """How the table names it (the spec as written, with the defaults filled in later)."""
        where = f"{self.base_url}|" if self.base_url else self.provider
        api = f"/{self.api}" if self.api else ""
        model = self.model if self.base_url else f":{self.model}" if self.model else ""
        return f"{where}{api}{model}@{self.protocol}"


def parse_target(text: str) -> TargetSpec:
    """PROVIDER[/API][:MODEL][@sse|@ws] or URL|MODEL[@sse|@ws]; argparse says what is wrong."""
    spec, protocol = text.strip(), "sse"
    head, at, tail = spec.rpartition("@")
    if at and tail in PROTOCOLS:
        spec, protocol = head, tail
    if "|" in spec:
        url, _, model = spec.partition("|")
        if not url.startswith(("http://", "https://")) or not model:
            raise argparse.ArgumentTypeError(f"{text!r}: use URL|MODEL, e.g. http://host/v1|model")
        return TargetSpec("", url.strip(), "", model.strip(), protocol)
    where, _, model = spec.partition(":")
    provider, _, api = where.partition("/")
    if not provider or (api and api not in APIS):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use PROVIDER[/API][:MODEL][@sse|@ws] (API: {', '.join(APIS)})"
        )
    return TargetSpec(provider.strip(), "", api, model.strip(), protocol)


def run(args: argparse.Namespace) -> int:
    if len(args.targets) < 2:
        warn("usage: compare needs at least two --target")
        return EXIT_USAGE
    try:
        prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    if not prompt.strip():
        warn("usage: the prompt is empty")
        return EXIT_USAGE
    try:
        return asyncio.run(_compare(args, prompt))
    except UsageError as exc:
        warn(f"usage: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        warn("stopped by the user; the replies so far are stored, marked stopped")
        return EXIT_INTERRUPTED


async def _compare(args: argparse.Namespace, prompt: str) -> int:
    from streamdesk.cli import ask_setup as setup
    from streamdesk.core.chat.compare import Standings, plan_lanes, run_lanes
    from streamdesk.core.store.secrets import KeyStore

    settings = setup.load_cli_settings()
    keys = KeyStore()
    async with contextlib.AsyncExitStack() as stack:
        mock = await _mock_provider(stack, settings) if _wants_mock(args.targets) else None
        targets = [await _target(spec, settings, args, keys, mock) for spec in args.targets]
        params = {} if args.max_tokens is None else {"max_tokens": args.max_tokens}
        lanes = plan_lanes(prompt, targets, system_prompt=args.system or "", params=params)
        store = None if args.no_save else _open_store(lanes)
        if store is not None:
            stack.callback(store.close)
        labels = [
            spec_label(spec, lane.target) for spec, lane in zip(args.targets, lanes, strict=True)
        ]
        listener = Progress(labels, lanes) if sys.stderr.isatty() else None
        replies = await run_lanes(lanes, keys=keys, listener=listener)
        standings = Standings.of(replies)
        if args.json:
            print(json.dumps(as_json(prompt, labels, lanes, standings), ensure_ascii=False))
        else:
            print(table(labels, replies))
            print(summary(labels, replies, standings))
            if store is not None:
                print(stored_note(lanes))
            if args.show:
                print(full_replies(labels, replies))
        for label, lane in zip(labels, lanes, strict=True):
            line = failure_line(lane)
            if line:
                warn(f"{label}: {line}")
        return EXIT_OK if standings.complete == len(lanes) else EXIT_SOME_FAILED


class Progress:
    """On a terminal, one line on stderr as each target ends (a slow model keeps the table
    waiting)."""

    def __init__(self, labels: Sequence[str], lanes: Sequence[Lane]) -> None:
        self.labels = labels
        self.lanes = lanes

    def __call__(self, index: int, event: ChatEvent) -> None:
        from streamdesk.core.events import Done, Failure

        reply = self.lanes[index].reply
        if isinstance(event, Done | Failure) and reply.status.finished:
            warn(f"{self.labels[index]}: {status_of(reply)}")


def _wants_mock(specs: Sequence[TargetSpec]) -> bool:
    return any(spec.provider == MOCK for spec in specs)


async def _mock_provider(stack: contextlib.AsyncExitStack, settings: Settings) -> Provider:
    """The built-in mock, in this process, shared by every mock target."""
    from streamdesk.core import providers
    from streamdesk.mock import MockServer

    server = await stack.enter_async_context(MockServer())
    demo = providers.mock_provider(server.sse_base_url, server.ws_url)
    return dataclasses.replace(demo, timeouts=settings.timeouts(), max_retries=settings.max_retries)


async def _target(
    spec: TargetSpec,
    settings: Settings,
    args: argparse.Namespace,
    keys: KeySource,
    mock: Provider | None,
) -> Target:
    from streamdesk.cli import ask_setup as setup
    from streamdesk.core.chat import Target, base_url_provider, only_server_model, with_api

    if spec.base_url:
        provider = base_url_provider(spec.base_url)
    elif spec.provider == MOCK and mock is not None:
        provider = mock
    else:
        provider = setup.resolve(settings, spec.provider)
    if spec.api:
        provider = with_api(provider, spec.api)
    if spec.protocol == "ws" and provider.api != "chat":
        raise UsageError(f"{spec.label}: the {provider.api} API streams over SSE only; use @sse")
    if spec.protocol == "ws" and not provider.ws_url:
        raise UsageError(f"{spec.label}: provider {provider.id!r} has no WebSocket URL; use @sse")
    target = Target(
        provider,
        spec.model_name,
        protocol=spec.protocol,
        scenario=spec.scenario or None,
        network=setup.network_of(settings, args),
    )
    model = spec.model_name or provider.default_model or await only_server_model(target, keys)
    model = model or ""
    if not model:
        raise UsageError(f"{spec.label}: provider {provider.id!r} has no default model; name one")
    return dataclasses.replace(target, model=model)


def _open_store(lanes: Sequence[Lane]) -> HistoryStore | None:
    """Store each lane as a conversation of its own; None (said once) when the history
    cannot take them: the comparison still runs."""
    from streamdesk.core.chat import ConversationRecord
    from streamdesk.core.store.history import HistoryError, HistoryStore

    try:
        store = HistoryStore()
    except HistoryError as exc:
        warn(f"{exc} The replies are not saved.")
        return None
    if store.recovery_notice:
        warn(store.recovery_notice)
    try:
        for lane in lanes:
            lane.recorder = ConversationRecord(store, lane.conversation).open_reply(lane.turn)
    except HistoryError as exc:
        warn(f"{exc} Some replies are not saved.")
    return store


def spec_label(spec: TargetSpec, target: Target) -> str:
    """The spec with the model the target resolved to."""
    return spec.label if spec.model else dataclasses.replace(spec, model=target.model).label


# -- output ---------------------------------------------------------------------------------


def status_of(reply: Reply) -> str:
    """The status the table shows: complete (length), error: authentication, stopped…"""
    text = reply.status.value
    if reply.finish_reason and reply.finish_reason != "stop" and reply.failure is None:
        text += f" ({reply.finish_reason})"
    if reply.failure is not None and reply.status.value != "stopped":
        text += f": {reply.failure.kind.value}"
    return text


def cost_text(reply: Reply) -> str:
    """As `streamdesk history show` prints it; ≈ when estimated, – when no price is known,
    "demo" for the offline demo (no money is involved)."""
    from streamdesk.core.wording import money

    return money(reply.cost, estimated=reply.estimated, demo=reply.target.is_mock)


def cheapest(replies: Sequence[Reply]) -> int | None:
    """The complete reply that cost least; the offline demo's cost no money, so they do not
    compete (as in the window's compare)."""
    from streamdesk.core.chat import ReplyStatus

    priced = [
        (cost, index)
        for index, reply in enumerate(replies)
        if reply.status is ReplyStatus.COMPLETE
        and not reply.target.is_mock
        and (cost := reply.cost) is not None
    ]
    return min(priced)[1] if priced else None


def speed_of(reply: Reply) -> float | None:
    return None if reply.trace is None else reply.trace.tokens_per_second


def first_line(text: str) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return one_line(line, REPLY_CHARS)


def table(labels: Sequence[str], replies: Sequence[Reply]) -> str:
    head = ("TARGET", "STATUS", "TTFT ms", "TOK/S", "IN", "OUT", "COST", "REPLY")
    rows = [head]
    for label, reply in zip(labels, replies, strict=True):
        speed = speed_of(reply)
        rows.append(
            (
                label,
                status_of(reply),
                "–" if reply.ttft is None else f"{reply.ttft * 1000:.0f}",
                "–" if speed is None else f"{speed:.1f}",
                "–" if reply.prompt_tokens is None else str(reply.prompt_tokens),
                str(reply.completion_tokens),
                cost_text(reply),
                first_line(reply.text),
            )
        )
    widths = [max(len(row[c]) for row in rows) for c in range(len(head))]
    numeric = range(2, 7)  # TTFT to COST: right-aligned
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[c]) if c in numeric else cell.ljust(widths[c])
            for c, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def summary(labels: Sequence[str], replies: Sequence[Reply], standings: Standings) -> str:
    from streamdesk.core.chat import ReplyStatus

    complete = [i for i, r in enumerate(replies) if r.status is ReplyStatus.COMPLETE]

    def winners(best: int | None, shown: Callable[[int], str], word: str) -> str | None:
        """The best lane, or every complete lane whose figure reads the same: a tie."""
        if best is None:
            return None
        figure = shown(best)
        tied = [labels[i] for i in complete if shown(i) == figure]
        names = labels[best] if len(tied) < 2 else "tie, " + " and ".join(tied)
        return f"{word}: {names} ({figure})"

    parts = [
        winners(
            standings.fastest_first_token,
            lambda i: f"{(replies[i].ttft or 0) * 1000:.0f} ms",
            "first token soonest",
        ),
        winners(
            standings.fastest_speed, lambda i: f"{speed_of(replies[i]) or 0:.1f} tok/s", "fastest"
        ),
        winners(cheapest(replies), lambda i: cost_text(replies[i]), "cheapest"),
    ]
    done = f"{standings.complete} of {len(replies)} completed"
    return "; ".join([done, *(p for p in parts if p)])


def stored_note(lanes: Sequence[Lane]) -> str:
    ids = [lane.conversation.conversation_id for lane in lanes]
    stored = [str(i) for i in ids if i is not None]
    if not stored:
        return "not stored"
    return (
        f"stored as conversations {', '.join(stored)}: `streamdesk history show ID`;"
        ' carry one on with `streamdesk ask --continue ID "…"`'
    )


def full_replies(labels: Sequence[str], replies: Sequence[Reply]) -> str:
    blocks = [
        f"\n=== {label} ===\n{reply.text}" for label, reply in zip(labels, replies, strict=True)
    ]
    return "\n".join(blocks)


def failure_line(lane: Lane) -> str:
    """The failure's sentence for the command line, with what to run about it ("" when none)."""
    from streamdesk.cli.sinks import Sink

    reply = lane.reply
    if reply.failure is None:
        return "stopped" if reply.status.value == "stopped" else ""
    sink = Sink()
    sink.reply = reply
    cid = lane.conversation.conversation_id
    if cid is not None:
        sink.resume_hint = f"Run `streamdesk ask --continue {cid}` to resume."
    return sink.message(reply.failure)


def as_json(
    prompt: str, labels: Sequence[str], lanes: Sequence[Lane], standings: Standings
) -> dict[str, Any]:
    def name(index: int | None) -> str | None:
        return None if index is None else labels[index]

    rows = []
    for label, lane in zip(labels, lanes, strict=True):
        reply, target = lane.reply, lane.target
        failure = reply.failure
        rows.append(
            {
                "target": label,
                "provider": target.provider.id,
                "api": target.provider.api,
                "model": target.model,
                "protocol": target.protocol,
                "status": reply.status.value,
                "finish_reason": reply.finish_reason,
                "ttft_ms": None if reply.ttft is None else round(reply.ttft * 1000, 1),
                "tokens_per_s": _rounded(speed_of(reply)),
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "cost": reply.cost,
                "cost_estimated": reply.estimated,
                "demo": target.is_mock,  # the offline demo: its cost is a list price, not paid
                "conversation_id": lane.conversation.conversation_id,
                "message_id": lane.turn.reply_id,
                "text": reply.text,
                "failure": None
                if failure is None
                else {"kind": failure.kind.value, "message": failure_line(lane)},
            }
        )
    return {
        "prompt": prompt,
        "rows": rows,
        "summary": {
            "completed": standings.complete,
            "failed": len(standings.failed),
            "fastest_first_token": name(standings.fastest_first_token),
            "fastest_speed": name(standings.fastest_speed),
            "cheapest": name(cheapest([lane.reply for lane in lanes])),
        },
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
