"""`streamdesk bench`: the same prompt over SSE and WebSocket, many times, measured on the wire.

Every run opens a fresh connection (a new transport), so connection setup is part of the
figures. Timings are the stamps the transports put on the trace as bytes arrive (see
`core.trace`), summarised by `core.netstats`; nothing is timed after rendering. The table and
the JSON name what was measured (a provider and its URL, or the built-in mock); a provider
named with --provider but without a key is an error (exit 3, or 6 with no keychain), never
silently the mock. Against the built-in mock (the default) the pace and reply length are
fixed, so what differs between the protocols is their framing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamdesk.cli._common import warn, write_out
from streamdesk.core.netstats import Summary, gaps_ms, summarize, trace_stats
from streamdesk.core.trace import StreamTrace

if TYPE_CHECKING:
    from streamdesk.core.chat import KeySource, Target
    from streamdesk.core.request import ChatRequest

EXIT_CANNOT_WRITE = 1  # --out or --plot (the table was printed)
DEFAULT_PROMPT = "Explain backpressure in streaming systems."

TABLE: tuple[tuple[str, str, str], ...] = (
    ("runs", "runs", "{:.0f}"),
    ("failures", "failures", "{:.0f}"),
    ("connection setup p50", "connect_p50_ms", "{:.2f} ms"),
    ("TTFT p50", "ttft_p50_ms", "{:.1f} ms"),
    ("TTFT p95", "ttft_p95_ms", "{:.1f} ms"),
    ("gap p50", "gap_p50_ms", "{:.2f} ms"),
    ("gap p99", "gap_p99_ms", "{:.2f} ms"),
    ("tokens/s (p50)", "tokens_per_s", "{:.1f}"),
    ("tokens", "tokens", "{:.0f}"),
    ("bytes received", "bytes_received", "{:.0f}"),
    ("bytes per token", "bytes_per_token", "{:.1f}"),
    ("framing overhead", "overhead", "{:.1%}"),
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bench",
        help="compare SSE and WebSocket on the same prompt (TTFT, gaps, bytes, overhead)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--provider", metavar="ID", help="a configured provider (needs its key: exit 3 without)"
    )
    source.add_argument("--mock", action="store_true", help="the built-in mock (default)")
    p.add_argument("--protocols", default="sse,ws", help="comma-separated: sse,ws")
    p.add_argument("--runs", type=int, default=5, help="requests per protocol (default 5)")
    p.add_argument("--concurrency", type=int, default=1, help="requests at once (default 1)")
    p.add_argument("--prompt", default=DEFAULT_PROMPT)
    p.add_argument("--tokens", type=int, default=300, help="reply length (max_tokens)")
    p.add_argument("--model", help="model (default: the provider's)")
    p.add_argument("--rate", type=float, default=200.0, help="mock: tokens per second (0: max)")
    p.add_argument("--first-token-delay", type=float, default=0.05, help="mock: seconds")
    p.add_argument("--out", metavar="FILE.json", help="write every figure as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="draw the comparison to a PNG")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    bad = [p for p in protocols if p not in ("sse", "ws")]
    if bad or not protocols or args.runs < 1 or args.concurrency < 1:
        warn("usage: --protocols takes sse,ws; --runs and --concurrency must be at least 1")
        return 2
    try:
        result = asyncio.run(_bench(args, protocols))
    except KeyboardInterrupt:
        return 130
    except BenchError as exc:
        warn(str(exc))
        return exc.code
    summaries: dict[str, Summary] = result["summaries"]
    config = result["config"]
    print(format_table(summaries, target=f"{config['target']} ({config['base_url']})"))
    if args.out:
        payload = {k: v for k, v in result.items() if k != "summaries"}
        payload["summaries"] = {p: s.as_dict() for p, s in summaries.items()}
        if not write_out(Path(args.out), json.dumps(payload, indent=1) + "\n"):
            return EXIT_CANNOT_WRITE
        print(f"wrote {args.out}")
    if args.plot:
        from streamdesk.ui.inspector.bench_plot import save_plot

        try:
            save_plot(args.plot, summaries, result["gaps"], title=result["config"]["target"])
        except OSError as exc:
            warn(str(exc))
            return EXIT_CANNOT_WRITE
        print(f"wrote {args.plot}")
    return 0 if all(s.failures < s.runs for s in summaries.values()) else 1


def format_table(summaries: dict[str, Summary], target: str | None = None) -> str:
    """The table per protocol; `target` (what was measured) heads it."""
    names = list(summaries)
    head = f"{'':<22}" + "".join(f"{n.upper():>14}" for n in names)
    lines = [f"target: {target}"] if target else []
    lines += [head, "-" * len(head)]
    for label, attr, fmt in TABLE:
        cells = []
        for n in names:
            value = getattr(summaries[n], attr)
            cells.append(f"{'–' if value is None else fmt.format(value):>14}")
        lines.append(f"{label:<22}" + "".join(cells))
    return "\n".join(lines)


async def _bench(args: argparse.Namespace, protocols: list[str]) -> dict[str, Any]:
    from streamdesk.core.providers import MOCK_PROVIDER_ID
    from streamdesk.core.request import ChatRequest, Message
    from streamdesk.core.store.secrets import KeyStore

    keys = KeyStore()
    async with contextlib.AsyncExitStack() as stack:
        target = await _target(args, stack, keys)
        provider = target.provider
        is_mock = provider.id == MOCK_PROVIDER_ID
        request = ChatRequest(target.model, (Message("user", args.prompt),), max_tokens=args.tokens)
        summaries: dict[str, Summary] = {}
        runs: dict[str, list[dict[str, Any]]] = {}
        gaps: dict[str, list[float]] = {}
        for protocol in protocols:
            if protocol == "ws" and not provider.ws_url:
                warn(f"{provider.id} has no WebSocket URL; skipping ws")
                continue
            one = dataclasses.replace(target, protocol=protocol)
            traces, failures = await _runs(one, request, keys, args)
            summaries[protocol] = summarize(protocol, traces, failures)
            runs[protocol] = [trace_stats(t).as_dict() for t in traces]
            gaps[protocol] = [g for t in traces for g in gaps_ms(t)]
        config = {
            "target": "built-in mock" if is_mock else provider.id,
            "base_url": provider.base_url,
            "model": target.model,
            "runs": args.runs,
            "concurrency": args.concurrency,
            "tokens": args.tokens,
            "prompt": args.prompt,
            "mock_rate": args.rate if is_mock else None,
            "mock_first_token_delay": args.first_token_delay if is_mock else None,
        }
    return {"config": config, "summaries": summaries, "runs": runs, "gaps": gaps}


class BenchError(Exception):
    """Nothing to measure: exit `code` (as `ask` would) with one line."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


async def _target(
    args: argparse.Namespace, stack: contextlib.AsyncExitStack, keys: KeySource
) -> Target:
    """What to measure: the named provider (never silently another), else the built-in mock.

    The named provider's key is checked before anything is sent: none is exit 3, an unreadable
    keychain exit 6, as for `ask`.
    """
    from streamdesk.cli import ask_setup as setup
    from streamdesk.core import providers
    from streamdesk.core.chat import MissingKey, Target, resolve_endpoint

    if args.provider and not args.mock:
        settings = setup.load_cli_settings()
        try:
            provider = setup.resolve(settings, args.provider)
        except setup.UsageError as exc:
            raise BenchError(f"usage: {exc}", 2) from None
        model = args.model or provider.default_model or "gpt-4.1"
        target = Target(provider, model, max_retries=0, network=setup.network_of(settings, args))
        try:
            await resolve_endpoint(target, keys)
        except MissingKey as exc:
            if exc.reason:
                raise BenchError(
                    f"{setup.keychain_problem(exc.reason)}; set STREAMDESK_API_KEY"
                    f" to measure {provider.id}, or measure the built-in mock with --mock",
                    6,
                ) from None
            raise BenchError(
                f"no API key for {provider.id}: set one with `streamdesk keys set {provider.id}`"
                " or STREAMDESK_API_KEY, or measure the built-in mock with --mock",
                3,
            ) from None
        return target
    from streamdesk.mock import MockServer

    mock = await stack.enter_async_context(
        MockServer(
            tokens_per_second=args.rate,
            first_token_delay=args.first_token_delay,
            reply_tokens=args.tokens,
        )
    )
    demo = providers.mock_provider(mock.sse_base_url, mock.ws_url)
    return Target(demo, args.model or demo.default_model, max_retries=0)


async def _runs(
    target: Target, request: ChatRequest, keys: KeySource, args: argparse.Namespace
) -> tuple[list[StreamTrace], int]:
    """`args.runs` requests, `args.concurrency` at once, each on a fresh connection."""
    from streamdesk.core.chat import Reply, collect

    gate = asyncio.Semaphore(args.concurrency)
    traces: list[StreamTrace] = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        async with gate:
            trace = StreamTrace()
            reply = await collect(Reply(target), request, keys=keys, trace=trace)
            if reply.failure is not None:
                failures += 1
                warn(f"{target.protocol}: {reply.failure.kind.value}: {reply.failure.message}")
            else:
                traces.append(trace)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(args.runs)))
    print(
        f"{target.protocol}: {args.runs} runs in {time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )
    return traces, failures
