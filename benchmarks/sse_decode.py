"""SSE decoder throughput: ours against httpx-sse's and openai-python's, in the same run.

Builds a ~10 MB OpenAI-style chat-completions stream in memory, cuts it into 64 B, 1 KB and 64 KB
chunks and measures MB/s and events/s of each decoder driven the way its library drives it, minus
the I/O. A naive `split(b"\\n\\n")` (no spec handling at all) is the reference ceiling. Decoders
run interleaved, the best of a few repeats counts, and the clock is the process's CPU time, so
other work on a busy machine hurts all of them alike and little.
The second table adds `json.loads` per event, to show where the time of a real consumer goes.

Run: .venv/bin/python benchmarks/sse_decode.py [--repeats N] [--mb SIZE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable

from httpx._decoders import TextDecoder
from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
from httpx_sse._decoders import SSELineDecoder as HttpxSSELineDecoder
from openai._streaming import SSEDecoder as OpenAISSEDecoder

from streamdesk.core.sse import SSEDecoder

CHUNK_SIZES = (64, 1024, 65536)
WORDS = ("Hello", " world", ",", " the", " quick", " brown", " fox", " jumps", "\n\n", "## ")
WORDS += (" über", " 日本語", " 🙂", " `code`", ' "quoted"', " |", " a")

Sink = Callable[[str], object] | None  # called with each event's data; None: just count
Decoder = Callable[[list[bytes], Sink], int]


def build_stream(size: int, *, raw_utf8: bool = False) -> bytes:
    """Realistic chunks, as api.openai.com sends them, up to `size` bytes, then usage and [DONE]."""
    parts: list[bytes] = []
    total = i = 0
    while total < size:
        chunk = {
            "id": "chatcmpl-9x8Y7z6W5v4U3t2S1r0QpOnMlK",
            "object": "chat.completion.chunk",
            "created": 1718000000 + i // 50,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_0ba0d124f1",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": WORDS[i % len(WORDS)]},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
        text = json.dumps(chunk, separators=(",", ":"), ensure_ascii=not raw_utf8)
        line = b"data: " + text.encode() + b"\n\n"
        parts.append(line)
        total += len(line)
        i += 1
    usage = {"id": "x", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": i}}
    parts.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def ours(chunks: list[bytes], sink: Sink) -> int:
    decoder = SSEDecoder()
    n = 0
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            if sink:
                sink(sse.data)
            n += 1
    return n + len(decoder.close())


def httpx_sse(chunks: list[bytes], sink: Sink) -> int:
    """As `EventSource.aiter_sse`: response.aiter_text() -> SSELineDecoder -> SSEDecoder."""
    text_decoder = TextDecoder("utf-8")
    lines = HttpxSSELineDecoder()
    decoder = HttpxSSEDecoder()
    n = 0

    def decode(batch: Iterable[str]) -> int:
        k = 0
        for line in batch:
            sse = decoder.decode(line.rstrip("\n"))
            if sse is not None:
                if sink:
                    sink(sse.data)
                k += 1
        return k

    for chunk in chunks:
        n += decode(lines.decode(text_decoder.decode(chunk)))
    tail = text_decoder.flush()
    if tail:
        n += decode(lines.decode(tail))
    return n + decode(lines.flush())


def openai_sse(chunks: list[bytes], sink: Sink) -> int:
    """As `openai.Stream._iter_events`: SSEDecoder().iter_bytes(response.iter_bytes())."""
    n = 0
    for sse in OpenAISSEDecoder().iter_bytes(iter(chunks)):
        if sink:
            sink(sse.data)
        n += 1
    return n


def naive_split(chunks: list[bytes], sink: Sink) -> int:
    """No spec at all: LF only, `data: ` only, one line per event. The ceiling, not a decoder."""
    buf = b""
    n = 0
    for chunk in chunks:
        buf += chunk
        if b"\n\n" in buf:
            *events, buf = buf.split(b"\n\n")
            for event in events:
                data = event[6:].decode()
                if sink:
                    sink(data)
                n += 1
    return n


DECODERS: dict[str, Decoder] = {
    "streamdesk": ours,
    "httpx-sse": httpx_sse,
    "openai": openai_sse,
    "naive split": naive_split,
}


def parse_json(data: str) -> object:
    return json.loads(data) if data != "[DONE]" else None


Results = dict[tuple[str, int], tuple[float, int]]  # (decoder, chunk size) -> (seconds, events)


def measure(stream: bytes, sink: Sink, repeats: int) -> Results:
    """Best seconds and event count per (decoder, chunk size); decoders interleaved."""
    results: Results = {}
    for size in CHUNK_SIZES:
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        for _ in range(repeats):
            for name, decoder in DECODERS.items():
                start = time.process_time()
                n = decoder(chunks, sink)
                elapsed = time.process_time() - start
                best = results.get((name, size), (float("inf"), n))[0]
                results[name, size] = (min(best, elapsed), n)
    return results


def print_table(
    title: str, stream: bytes, results: dict[tuple[str, int], tuple[float, int]]
) -> None:
    mb = len(stream) / 1e6
    print(f"\n{title}")
    print(f"{'':14}" + "".join(f"{_size_label(s):>22}" for s in CHUNK_SIZES))
    print(f"{'decoder':14}" + f"{'MB/s':>12}{'kevents/s':>10}" * len(CHUNK_SIZES))
    for name in DECODERS:
        cells = ""
        for size in CHUNK_SIZES:
            seconds, n = results[name, size]
            cells += f"{mb / seconds:12.1f}{n / seconds / 1e3:10.1f}"
        print(f"{name:14}{cells}")
    ratios = []
    for size in CHUNK_SIZES:
        baseline = min(results["httpx-sse", size][0], results["openai", size][0])
        ratios.append(f"{_size_label(size)} {baseline / results['streamdesk', size][0]:.2f}x")
    print("streamdesk vs the faster of httpx-sse/openai: " + ", ".join(ratios))


def _size_label(size: int) -> str:
    return f"{size // 1024} KB chunks" if size >= 1024 else f"{size} B chunks"


def check_same_events(stream: bytes) -> None:
    """Every decoder must see the same event data, or the comparison means nothing."""
    chunks = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    seen: dict[str, list[str]] = {}
    for name, decoder in DECODERS.items():
        out: list[str] = []
        decoder(chunks, out.append)
        seen[name] = out
    reference = seen["streamdesk"]
    for name, out in seen.items():
        if out != reference:
            raise SystemExit(f"{name} decoded different events than streamdesk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--mb", type=float, default=10.0, help="stream size in MB (default 10)")
    parser.add_argument(
        "--utf8", action="store_true", help="non-ASCII text as raw UTF-8, not \\u escapes"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    stream = build_stream(int(args.mb * 1e6), raw_utf8=args.utf8)
    check_same_events(stream)
    events = stream.count(b"\n\n")
    text = "raw UTF-8" if args.utf8 else "non-ASCII as \\u escapes"
    print(f"OpenAI-style stream: {len(stream) / 1e6:.1f} MB, {events:,} events, {text}")
    decode_only = measure(stream, None, args.repeats)
    print_table(f"Decode only (chunks -> event data), best of {args.repeats}", stream, decode_only)
    with_json = measure(stream, parse_json, max(1, args.repeats - 2))
    print_table("Decode + json.loads per event (what a consumer pays)", stream, with_json)
    print(f"\n(total {time.perf_counter() - started:.0f} s wall clock)")


if __name__ == "__main__":
    main()
