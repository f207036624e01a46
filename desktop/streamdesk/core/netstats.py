"""Figures derived from a `StreamTrace`: what the inspector shows and what `bench` aggregates.

Pure Python over the trace's stamps, computed on demand (never on the per-token path). Every
time is in milliseconds on the trace's monotonic clock, relative to `t_start` unless stated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from streamdesk.core.trace import StreamTrace


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (0-100), interpolated linearly as numpy does; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * min(max(q, 0.0), 100.0) / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def gaps_ms(trace: StreamTrace) -> list[float]:
    """Milliseconds between consecutive tokens, in arrival order."""
    times = trace.token_times
    return [(b - a) * 1000.0 for a, b in itertools.pairwise(times)]


def _ms(t: float | None, origin: float) -> float | None:
    return None if t is None else (t - origin) * 1000.0


@dataclass(frozen=True, slots=True)
class TraceStats:
    """One request's figures. Milestones are ms after the trace began (`t_start`) and, after
    retries, belong to the final attempt; `retry_wait_ms` is the time waited between attempts."""

    protocol: str
    url: str
    http_version: str
    status: int | None
    retries: int
    retry_wait_ms: float
    connect_ms: float | None  # connection setup: TCP (+TLS, +WebSocket handshake)
    connected_ms: float | None
    sent_ms: float | None
    first_byte_ms: float | None
    first_token_ms: float | None
    last_token_ms: float | None
    total_ms: float | None
    ttft_ms: float | None  # request sent -> first token
    tokens: int
    bytes_received: int
    content_bytes: int
    bytes_per_token: float | None
    overhead: float | None  # share of received bytes that are not content (0..1)
    tokens_per_s: float | None  # between the first and the last token
    gap_p50_ms: float | None
    gap_p95_ms: float | None
    gap_p99_ms: float | None
    gap_max_ms: float | None
    # a reply resumed after cuts: (ms after the start, tokens when it broke, kind, strategy)
    resumes: tuple[tuple[float, int, str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def connect_ms(trace: StreamTrace) -> float | None:
    """Connection setup of the final attempt: from the start of its TCP connect (or of the
    attempt, for a pooled connection) to connected; never the retries' waits."""
    if trace.t_connected is None:
        return None
    start = trace.t_connect_start
    if start is None:
        start = trace.t_attempt if trace.t_attempt is not None else trace.t_start
    return max(0.0, (trace.t_connected - start) * 1000.0)


def trace_stats(trace: StreamTrace) -> TraceStats:
    """All figures of one trace; safe on a trace that is still streaming or has failed."""
    origin = trace.t_start
    gaps = gaps_ms(trace)
    tokens = len(trace.token_times)
    ttft = trace.ttft
    return TraceStats(
        protocol=trace.protocol,
        url=trace.url,
        http_version=trace.http_version,
        status=trace.status,
        retries=max(0, trace.attempts - 1),
        retry_wait_ms=trace.retry_wait * 1000.0,
        connect_ms=connect_ms(trace),
        connected_ms=_ms(trace.t_connected, origin),
        sent_ms=_ms(trace.t_sent, origin),
        first_byte_ms=_ms(trace.t_first_byte, origin),
        first_token_ms=_ms(trace.t_first_token, origin),
        last_token_ms=_ms(trace.t_last_token, origin),
        total_ms=_ms(trace.t_end, origin),
        ttft_ms=None if ttft is None else ttft * 1000.0,
        tokens=tokens,
        bytes_received=trace.bytes_received,
        content_bytes=trace.content_bytes,
        bytes_per_token=trace.bytes_received / tokens if tokens else None,
        overhead=trace.framing_overhead,
        tokens_per_s=trace.tokens_per_second,
        gap_p50_ms=percentile(gaps, 50),
        gap_p95_ms=percentile(gaps, 95),
        gap_p99_ms=percentile(gaps, 99),
        gap_max_ms=max(gaps) if gaps else None,
        resumes=tuple(
            ((t - origin) * 1000.0, tokens, kind, strategy)
            for t, tokens, kind, strategy in trace.resumes
        ),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """Many runs of one protocol, as `bench` reports them."""

    protocol: str
    runs: int
    failures: int
    connect_p50_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    gap_p50_ms: float | None
    gap_p99_ms: float | None
    tokens_per_s: float | None  # median over runs
    bytes_per_token: float | None  # all bytes over all tokens
    overhead: float | None  # all non-content bytes over all bytes
    tokens: int
    bytes_received: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _present(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def summarize(protocol: str, traces: Sequence[StreamTrace], failures: int = 0) -> Summary:
    """Percentiles over runs; gaps are pooled over every run (a p99 needs many samples)."""
    stats = [trace_stats(t) for t in traces]
    gaps = [g for t in traces for g in gaps_ms(t)]
    tokens = sum(s.tokens for s in stats)
    received = sum(s.bytes_received for s in stats)
    content = sum(min(s.content_bytes, s.bytes_received) for s in stats)
    ttfts = _present(s.ttft_ms for s in stats)
    return Summary(
        protocol=protocol,
        runs=len(traces),
        failures=failures,
        connect_p50_ms=percentile(_present(s.connect_ms for s in stats), 50),
        ttft_p50_ms=percentile(ttfts, 50),
        ttft_p95_ms=percentile(ttfts, 95),
        gap_p50_ms=percentile(gaps, 50),
        gap_p99_ms=percentile(gaps, 99),
        tokens_per_s=percentile(_present(s.tokens_per_s for s in stats), 50),
        bytes_per_token=received / tokens if tokens else None,
        overhead=1.0 - content / received if received else None,
        tokens=tokens,
        bytes_received=received,
    )


def histogram(values: Sequence[float], bins: int = 30) -> tuple[list[float], list[int]]:
    """Bin edges (`bins + 1`) and counts, over [min, max]; empty lists for no values."""
    if not values:
        return [], []
    lo, hi = min(values), max(values)
    if hi <= lo:
        hi = lo + 1.0
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    return [lo + i * width for i in range(bins + 1)], counts
