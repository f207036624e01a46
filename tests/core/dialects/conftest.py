"""Bytes on the wire through the SSE decoder and a dialect interpreter, cut where a test says."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import pytest

from streamdesk.core.dialects import Interpreter
from streamdesk.core.events import StreamEvent
from streamdesk.core.sse import SSEDecoder

Feed = Callable[[Interpreter, bytes, Sequence[int]], list[StreamEvent]]


def feed(interpreter: Interpreter, stream: bytes, cuts: Sequence[int] = ()) -> list[StreamEvent]:
    """The events of `stream` sent in pieces split at `cuts`, as a transport would feed them."""
    bounds = sorted({0, len(stream), *(min(max(cut, 0), len(stream)) for cut in cuts)})
    decoder = SSEDecoder()
    events = [
        event
        for start, end in pairwise(bounds)
        for sse in decoder.feed(stream[start:end])
        for event in interpreter.interpret(sse)
    ]
    return events + [event for sse in decoder.close() for event in interpreter.interpret(sse)]


@pytest.fixture(scope="session")
def wire() -> Feed:
    return feed
