"""`streamdesk mock`: serve the built-in mock LLM server until Ctrl+C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from streamdesk.mock.scenarios import SCENARIOS

_EPILOG = (
    "Prints the SSE base URL, then the WebSocket URL, one per line, so scripts can read them.\n\n"
    "Choose a fault per request with the header 'X-Mock-Scenario: NAME' (WebSocket: on the\n"
    'upgrade request, or a "scenario" field in the chat.completion message) or a model name\n'
    "ending in '#NAME', e.g. 'gpt-4.1#http-429'. Pace per request: X-Mock-Tokens-Per-Second,\n"
    "X-Mock-First-Token-Delay, X-Mock-Tokens (reply length, up to 100000).\n\n"
    "Tools: offer tools and name one in the prompt ('add 2 and 3') to get a streamed call\n"
    "in the API's own shape; send the tool results to get a reply quoting them.\n\nScenarios:\n"
    + "\n".join(f"  {name:<17} {text}" for name, text in SCENARIOS.items())
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "mock",
        help="serve the built-in mock LLM server (SSE + WebSocket) until interrupted",
        description="Serve a mock LLM server on one loopback port: "
        "POST /v1/chat/completions (SSE), GET /v1/models, WebSocket /v1/ws/chat, and the "
        "native APIs POST /v1/messages (Anthropic), POST /v1/responses (OpenAI Responses) and "
        "POST /v1beta/models/MODEL:streamGenerateContent?alt=sse (Gemini). Prints the SSE "
        "base URL and the WebSocket URL (Gemini's base is the SSE base with /v1beta).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any)")
    parser.add_argument(
        "--tokens-per-second",
        type=float,
        default=200.0,
        help="default pace (default 200; 0 or inf = as fast as possible)",
    )
    parser.add_argument(
        "--first-token-delay",
        type=float,
        default=0.05,
        help="seconds before the first token (default 0.05)",
    )
    parser.add_argument(
        "--vary-replies",
        action="store_true",
        help="answer the same request again with another take, as Regenerate does in the "
        "window's offline demo (default: the same reply every time)",
    )
    parser.set_defaults(handler=run)


async def _serve(args: argparse.Namespace) -> int:
    from streamdesk.mock import MockServer

    server = MockServer(
        args.host,
        args.port,
        tokens_per_second=args.tokens_per_second,
        first_token_delay=args.first_token_delay,
        vary_replies=args.vary_replies,
    )
    try:
        await server.start()
    except OSError as exc:
        print(f"streamdesk: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(server.sse_base_url, flush=True)  # after the handlers: a script may signal at once
    print(server.ws_url, flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()
    return 0


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; exit 0 without a traceback."""
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
