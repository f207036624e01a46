"""What recording costs per token: the inspector closed, recording compiled out, frames on.

In memory (no network noise): an OpenAI-style SSE stream, one event per chunk as a paced server
sends it, driven through our SSE decoder and chunk interpreter exactly as the SSE transport
drives them, with the trace calls the transport makes:

- compiled out: the same loop with no trace calls at all (the baseline);
- null trace:   the calls made on a trace whose methods do nothing (call overhead only);
- plain trace:  `StreamTrace()`, the inspector closed: `received`, `frame` (one attribute test)
                and `token` stamps;
- recording:    `StreamTrace.recording()`, the inspector open: every chunk kept (ring buffer).

Then end to end against the mock (rate: as fast as possible) through `stream_chat`, where the
loopback and the event loop dominate. Variants run interleaved; the best of the repeats counts.

Run: .venv/bin/python benchmarks/trace_overhead.py [--tokens N] [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable

from streamdesk.core.events import ReasoningDelta, TextDelta
from streamdesk.core.openai_chunks import ChunkInterpreter
from streamdesk.core.request import ChatRequest, Endpoint, Message
from streamdesk.core.sse import SSEDecoder
from streamdesk.core.trace import StreamTrace


class NullTrace(StreamTrace):
    """A trace that records nothing: isolates the cost of the calls themselves."""

    def frame(self, direction: str, data: bytes) -> None:
        pass

    def received(self, nbytes: int) -> None:
        pass

    def token(self, text: str) -> None:
        pass


def make_chunks(tokens: int) -> list[bytes]:
    words = ("Hello", " world", ",", " the", " quick", " brown", " fox", " über", " 🙂")
    chunks = []
    for i in range(tokens):
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4.1",
            "choices": [{"index": 0, "delta": {"content": words[i % len(words)]}}],
        }
        chunks.append(b"data: " + json.dumps(body).encode() + b"\n\n")
    chunks.append(b"data: [DONE]\n\n")
    return chunks


def run_bare(chunks: list[bytes]) -> int:
    decoder, interpreter = SSEDecoder(), ChunkInterpreter()
    feed, interpret = decoder.feed, interpreter.interpret
    n = 0
    for chunk in chunks:
        for sse in feed(chunk):
            for event in interpret(sse):
                if type(event) is TextDelta or type(event) is ReasoningDelta:
                    n += 1
    return n


def run_traced(chunks: list[bytes], trace: StreamTrace) -> int:
    decoder, interpreter = SSEDecoder(), ChunkInterpreter()
    feed, interpret = decoder.feed, interpreter.interpret
    received, frame, token = trace.received, trace.frame, trace.token
    n = 0
    for chunk in chunks:
        received(len(chunk))
        frame("in", chunk)
        for sse in feed(chunk):
            for event in interpret(sse):
                cls = type(event)
                if cls is TextDelta or cls is ReasoningDelta:
                    token(event.text)  # type: ignore[union-attr]
                    n += 1
    return n


def calls_only(chunks: list[bytes], texts: list[str], trace: StreamTrace | None) -> int:
    """Just the per-token trace calls the transport and `stream_chat` make (None: no calls)."""
    if trace is None:
        n = 0
        for _chunk, _text in zip(chunks, texts, strict=False):
            n += 1
        return n
    received, frame, token = trace.received, trace.frame, trace.token
    n = 0
    for chunk, text in zip(chunks, texts, strict=False):
        received(len(chunk))
        frame("in", chunk)
        token(text)
        n += 1
    return n


def isolated(tokens: int, repeats: int) -> dict[str, float]:
    chunks = make_chunks(tokens)[:tokens]
    texts = [f"w{i % 10}" for i in range(tokens)]
    variants: dict[str, Callable[[], StreamTrace | None]] = {
        "compiled out": lambda: None,
        "null trace": NullTrace,
        "plain trace (inspector closed)": StreamTrace,
        "recording (inspector open)": StreamTrace.recording,
    }
    return _best(
        {name: (lambda f=f: calls_only(chunks, texts, f())) for name, f in variants.items()},
        tokens,
        repeats,
    )


def _best(variants: dict[str, Callable[[], int]], tokens: int, repeats: int) -> dict[str, float]:
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(repeats):
        for name, fn in variants.items():
            t0 = time.process_time_ns()
            assert fn() == tokens
            best[name] = min(best[name], (time.process_time_ns() - t0) / tokens)
    return best


def micro(tokens: int, repeats: int) -> dict[str, float]:
    chunks = make_chunks(tokens)
    variants: dict[str, Callable[[], int]] = {
        "compiled out": lambda: run_bare(chunks),
        "null trace": lambda: run_traced(chunks, NullTrace()),
        "plain trace (inspector closed)": lambda: run_traced(chunks, StreamTrace()),
        "recording (inspector open)": lambda: run_traced(chunks, StreamTrace.recording()),
    }
    return _best(variants, tokens, repeats)


async def end_to_end(tokens: int, repeats: int) -> dict[str, float]:
    from streamdesk.core.stream import make_transport, stream_chat
    from streamdesk.mock import MockServer

    request = ChatRequest("gpt-4.1", (Message("user", "overhead"),))
    factories: dict[str, Callable[[], StreamTrace]] = {
        "null trace": NullTrace,
        "plain trace (inspector closed)": StreamTrace,
        "recording (inspector open)": StreamTrace.recording,
    }
    best = dict.fromkeys(factories, float("inf"))
    async with MockServer(tokens_per_second=0, first_token_delay=0, reply_tokens=tokens) as mock:
        endpoint = Endpoint(mock.sse_base_url, mock.ws_url, proxy="")
        for _ in range(repeats):
            for name, factory in factories.items():
                transport = make_transport("sse", endpoint)
                t0 = time.perf_counter_ns()
                async for _event in stream_chat(
                    transport, request, trace=factory(), timeouts=endpoint.timeouts
                ):
                    pass
                best[name] = min(best[name], (time.perf_counter_ns() - t0) / tokens)
                await transport.aclose()
    return best


def table(title: str, figures: dict[str, float], baseline: str) -> str:
    base = figures[baseline]
    lines = [title, f"{'variant':<34}{'ns/token':>10}{'vs ' + baseline:>22}"]
    for name, ns in figures.items():
        lines.append(f"{name:<34}{ns:>10.0f}{ns - base:>+14.0f} ns ({ns / base:.3f}x)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--e2e-tokens", type=int, default=20_000)
    args = parser.parse_args()
    print(
        table(
            "the trace calls alone (received + frame + token per token), CPU time",
            isolated(args.tokens, args.repeats * 3),
            "compiled out",
        )
    )
    print()
    print(
        table(
            "in memory: SSE decoder + interpreter + trace, CPU time",
            micro(args.tokens, args.repeats),
            "compiled out",
        )
    )
    print()
    e2e = asyncio.run(end_to_end(args.e2e_tokens, max(2, args.repeats // 2)))
    print(
        table(
            "end to end: stream_chat over SSE against the mock (as fast as possible)",
            e2e,
            "null trace",
        )
    )


if __name__ == "__main__":
    main()
