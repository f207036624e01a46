"""SSE decoder on one very long line through the line-by-line rules: linear in any chunking?

One event whose `data:` line is 20 MB long, preceded by a line that forces the full WHATWG rules
rather than the fast path: a comment (`: comment` + LF) or an `id` field with CRLF line ends, sent
in the first chunk with the start of the data line, as a server's first write would be. The line
is fed at once, in 64-byte chunks and in 1-byte chunks.

Feeding 1 byte at a time is one Python call per byte, so its cost per byte is hundreds of times
that of feeding at once even when linear; what proves linearity is that the cost per byte does
not grow with the line. So every chunking is measured at 2 MB and at 20 MB (`--small-mb`,
`--mb`), and the table prints the seconds, the cost per byte, the ratio to feeding the same line
at once (the baseline, measured in the same run), and the ratio of the cost per byte at 20 MB to
that at 2 MB: near 1 when linear, near 10 when quadratic. 20 MB at 1 byte stays in reach (a few
seconds per variant), so it is measured whole rather than extrapolated.
The clock is the process's CPU time; each figure is the best of `--repeats`.

Run: .venv/bin/python benchmarks/sse_long_line.py [--mb 20] [--small-mb 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

from streamdesk.core.sse import SSEDecoder

VARIANTS = {
    "comment + LF": (b": comment\ndata: ", b"\n\n"),
    "id + CRLF": (b"id: 1\r\ndata: ", b"\r\n\r\n"),
}
CHUNK_SIZES = (0, 64, 1)  # 0: the whole line in one chunk


def feed_seconds(head: bytes, tail: bytes, size: int, chunk_size: int) -> float:
    """CPU seconds to feed `head`, `size` bytes of line in `chunk_size` chunks, then `tail`."""
    decoder = SSEDecoder(max_event_bytes=size + 1024)
    feed = decoder.feed
    count, rest = divmod(size, chunk_size) if chunk_size else (1, 0)
    chunk = b"x" * (chunk_size or size)
    start = time.process_time()
    feed(head)
    for _ in range(count):
        feed(chunk)
    feed(chunk[:rest])
    events = feed(tail)
    elapsed = time.process_time() - start
    if len(events) != 1 or len(events[0].data) != size:
        raise SystemExit("the decoder did not return the one long event")
    return elapsed


def best(repeats: int, head: bytes, tail: bytes, size: int, chunk_size: int) -> float:
    return min(feed_seconds(head, tail, size, chunk_size) for _ in range(repeats))


def chunk_label(chunk_size: int) -> str:
    return "at once" if chunk_size == 0 else f"{chunk_size} B chunks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="long line in MB (default 20)")
    parser.add_argument("--small-mb", type=float, default=2.0, help="short line (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="best of N (default 2)")
    args = parser.parse_args()
    sizes = (int(args.small_mb * 1e6), int(args.mb * 1e6))
    started = time.perf_counter()
    print(f"One data line through the line-by-line rules, best of {args.repeats} (CPU time)")
    print(
        f"{'variant':14}{'line':>7}{'chunks':>14}{'seconds':>10}{'ns/byte':>10}"
        f"{'x at once':>11}{f'per byte vs {args.small_mb:g} MB':>20}"
    )
    for name, (head, tail) in VARIANTS.items():
        per_byte: dict[tuple[int, int], float] = {}
        for chunk_size in CHUNK_SIZES:
            for size in sizes:
                seconds = best(args.repeats, head, tail, size, chunk_size)
                per_byte[chunk_size, size] = seconds / size
                at_once = per_byte[0, size]
                growth = per_byte[chunk_size, size] / per_byte[chunk_size, sizes[0]]
                print(
                    f"{name:14}{f'{size / 1e6:g} MB':>7}{chunk_label(chunk_size):>14}"
                    f"{seconds:10.3f}{seconds / size * 1e9:10.1f}"
                    f"{per_byte[chunk_size, size] / at_once:10.1f}x{growth:19.2f}x"
                )
    print(f"\n(total {time.perf_counter() - started:.0f} s wall clock)")


if __name__ == "__main__":
    main()
