"""Timings and raw frames that travel beside the events, for the inspector and benchmarks.

All times are `time.perf_counter()` seconds (monotonic). Recording frames is off by default;
when off, `frame()` is one attribute test, so the per-token cost stays negligible.
"""

from __future__ import annotations

import time
from array import array
from collections import deque
from dataclasses import dataclass, field

DEFAULT_FRAME_LIMIT = 5000  # ring buffer: a long stream keeps flat memory


@dataclass(frozen=True, slots=True)
class WireFrame:
    t: float  # perf_counter seconds
    direction: str  # "in" | "out"
    data: bytes


@dataclass(slots=True)
class StreamTrace:
    """Everything measured about one request (all attempts).

    One meaning for every milestone: the connect, sent, first-byte and token stamps are those of
    the final attempt (`begin_attempt()` clears them), all on one clock, so after retries
    sent <= first byte <= first token <= last token <= end still holds. `retry_wait` holds the
    time spent waiting between attempts; the bytes received count every attempt (the wire).
    """

    protocol: str = ""  # "sse" | "ws"
    url: str = ""  # redacted
    method: str = ""
    http_version: str = ""
    status: int | None = None
    attempts: int = 0
    request_headers: dict[str, str] = field(default_factory=dict)  # redacted
    response_headers: dict[str, str] = field(default_factory=dict)
    t_start: float = field(default_factory=time.perf_counter)
    t_sent: float | None = None
    t_connect_start: float | None = None  # TCP connect began; None: pooled or not visible
    t_connected: float | None = None
    t_first_byte: float | None = None
    t_first_token: float | None = None
    t_last_token: float | None = None
    t_end: float | None = None
    t_attempt: float | None = None  # the current (after retries: final) attempt began
    retry_wait: float = 0.0  # seconds waited between attempts (backoff, Retry-After)
    token_times: array[float] = field(default_factory=lambda: array("d"))
    # Where streaming paused (tools ran between two requests of one reply): the number of
    # tokens before each pause, so the time in between never counts as streaming time.
    pauses: list[int] = field(default_factory=list)
    bytes_received: int = 0
    content_bytes: int = 0  # UTF-8 bytes of text and reasoning deltas
    frames: deque[WireFrame] | None = None
    frames_dropped: int = 0
    # A reply resumed after a cut: (perf_counter, tokens when it broke, failure kind, strategy)
    resumes: list[tuple[float, int, str, str]] = field(default_factory=list)

    @classmethod
    def recording(cls, limit: int = DEFAULT_FRAME_LIMIT) -> StreamTrace:
        return cls(frames=deque(maxlen=limit))

    def begin_attempt(self) -> None:
        """A new attempt starts: the per-attempt stamps restart, so they all describe it."""
        self.t_attempt = time.perf_counter()
        self.t_sent = self.t_connect_start = self.t_connected = None
        self.t_first_byte = self.t_first_token = self.t_last_token = None

    def frame(self, direction: str, data: bytes) -> None:
        frames = self.frames
        if frames is not None:
            if len(frames) == frames.maxlen:
                self.frames_dropped += 1
            frames.append(WireFrame(time.perf_counter(), direction, data))

    def received(self, nbytes: int) -> None:
        if self.t_first_byte is None:
            self.t_first_byte = time.perf_counter()
        self.bytes_received += nbytes

    def token(self, text: str) -> None:
        now = time.perf_counter()
        if self.t_first_token is None:
            self.t_first_token = now
        self.t_last_token = now
        self.token_times.append(now)
        self.content_bytes += len(text.encode("utf-8"))

    @property
    def ttft(self) -> float | None:
        if self.t_first_token is None or self.t_sent is None:
            return None
        return self.t_first_token - self.t_sent

    def pause(self) -> None:
        """Streaming stops here and later tokens start a new stretch (tools run meanwhile)."""
        count = len(self.token_times)
        if count and (not self.pauses or self.pauses[-1] < count):
            self.pauses.append(count)

    @property
    def tokens_per_second(self) -> float | None:
        """Tokens per second of streaming: in each stretch between pauses, the tokens after
        its first one over the time from its first to its last token, summed over stretches."""
        times = self.token_times
        intervals, span = 0, 0.0
        for start, end in zip([0, *self.pauses], [*self.pauses, len(times)], strict=True):
            if end - start >= 2:
                intervals += end - start - 1
                span += times[end - 1] - times[start]
        if not intervals or span <= 0:
            return None
        return intervals / span

    @property
    def framing_overhead(self) -> float | None:
        """Share of received bytes that are not content."""
        if not self.bytes_received:
            return None
        return 1.0 - min(self.content_bytes, self.bytes_received) / self.bytes_received
