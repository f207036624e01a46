"""Transports: turn a `ChatRequest` into an async iterator of stream events over one protocol.

A transport yields `TextDelta`, `ReasoningDelta`, `Usage` and finally `Done`, and raises
`StreamError` for every failure. Retries, timeouts and the `Failure` event belong to
`core.stream.stream_chat`, so both protocols behave the same to everything above them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from streamdesk.core.events import StreamEvent
from streamdesk.core.request import ChatRequest, Endpoint
from streamdesk.core.trace import StreamTrace

PROTOCOLS = ("sse", "ws")


class Transport(Protocol):
    """One protocol's way of streaming a reply. Reusable for several requests; close when done."""

    def stream(self, request: ChatRequest, trace: StreamTrace) -> AsyncIterator[StreamEvent]:
        """Yield the reply's events, ending with `Done`; raise `StreamError` on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections and clients the transport owns."""
        ...


def make_transport(
    protocol: str,
    endpoint: Endpoint,
    *,
    extra_headers: Mapping[str, str] | None = None,
) -> Transport:
    """A transport for `"sse"` or `"ws"`; modules load lazily so `ask` over SSE skips websockets.

    `extra_headers` go on every request (e.g. the mock's `X-Mock-Scenario`).
    """
    if protocol == "sse":
        from streamdesk.core.transports.sse_http import SSETransport

        return SSETransport(endpoint, extra_headers=extra_headers)
    if protocol in ("ws", "websocket"):
        from streamdesk.core.transports.websocket import WebSocketTransport

        return WebSocketTransport(endpoint, extra_headers=extra_headers)
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")


__all__ = ["PROTOCOLS", "Transport", "make_transport"]
