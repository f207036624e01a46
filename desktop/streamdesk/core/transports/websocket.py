"""The WebSocket chat protocol on `websockets` (asyncio client, ≥ 14 API).

One connection per request: send `{"type": "chat.completion", ...}`, then read JSON frames
`content.delta`, `reasoning.delta`, `usage`, `completion.done`, `error`.

Why these connection settings:
- `max_size=16 MiB`: the protocol streams small deltas, but a server may legitimately send a
  whole long reply (100k tokens is about 0.5 MB, up to ~3 MB with JSON escaping) in one frame.
  The 1 MiB default would close such a connection with 1009; unbounded would let a broken server
  exhaust memory. 16 MiB is far above any real reply and still a bound; a bigger message (our
  close code 1009) is reported as `MESSAGE_TOO_BIG`, not as a cut.
- `ping_interval=20`: keepalive pings detect a dead peer behind NAT while the model is silent;
  the pong timeout surfaces as a dropped connection (cut) rather than a hang.
- `open_timeout` = the endpoint's connect timeout, covering TCP, TLS and the handshake.
- frames are received undecoded (`decode=False`): `json.loads` takes bytes, so a text frame is
  never decoded to `str` and re-encoded just to be counted.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidProxy,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import CloseCode

from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    FailureKind,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
)
from streamdesk.core.openai_chunks import empty_reply
from streamdesk.core.providers import auth_parts, http_client_options
from streamdesk.core.redact import redact_headers, redact_known, redact_url
from streamdesk.core.request import ChatRequest, Endpoint
from streamdesk.core.sse import message_too_big
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports._body import encode_body
from streamdesk.core.transports._classify import (
    CUT_MESSAGE,
    broke_during_reply,
    environment_proxy,
    host_of,
    http_error,
    leaves_origin,
    network_error,
    redirect_error,
    redirect_target,
    truncate,
)
from streamdesk.core.transports._tls import system_context
from streamdesk.core.ws_frames import MAX_MESSAGE_BYTES, FrameInterpreter

PING_INTERVAL = 20.0
REDIRECTS = (300, 301, 302, 303, 307, 308)  # the statuses websockets follows
CLOSE_TIMEOUT = 2.0  # a goodbye is polite, not worth making the user wait 10 s for


class SameOriginConnect(connect):
    """websockets' `connect`, following a redirect only within the origin (scheme, host, port).

    websockets follows a redirect to another origin and strips only `Authorization` and
    cookies: `X-API-Key`, `X-Signature` and a `?api_key=` in the URL would go along. A redirect
    elsewhere fails instead, before anything is sent there.
    """

    def process_redirect(self, exc: Exception) -> Exception | str:
        if isinstance(exc, InvalidStatus) and exc.response.status_code in REDIRECTS:
            location = exc.response.headers.get("Location")
            if location and leaves_origin(self.uri, redirect_target(self.uri, location)):
                status = exc.response.status_code
                return redirect_error(status, location, self.uri, "WebSocket URL")
        return super().process_redirect(exc)


class WebSocketTransport:
    """Stream a reply over the endpoint's `ws_url`; each `stream()` call opens one connection."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.extra_headers = dict(extra_headers or {})
        self._open: set[ClientConnection] = set()

    async def aclose(self) -> None:
        for conn in list(self._open):
            await conn.close()
        self._open.clear()

    def _url_and_headers(self) -> tuple[str, dict[str, str]]:
        ep = self.endpoint
        if not ep.ws_url:
            raise StreamError(
                FailureKind.BAD_REQUEST,
                "This provider has no WebSocket URL; use SSE or set a WebSocket URL in Settings.",
            )
        headers, params = auth_parts(ep)
        headers = {**self.extra_headers, **headers}
        url = ep.ws_url
        if params:
            parts = urlsplit(url)
            query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
            url = urlunsplit(parts._replace(query=urlencode(query)))
        return url, headers

    def _connect_options(self, url: str) -> dict[str, Any]:
        ep = self.endpoint
        options: dict[str, Any] = {
            "open_timeout": ep.timeouts.connect,
            "max_size": MAX_MESSAGE_BYTES,
            "ping_interval": PING_INTERVAL,
            "close_timeout": CLOSE_TIMEOUT,
            "proxy": True if ep.proxy is None else (ep.proxy or None),
        }
        verify = http_client_options(ep)["verify"]
        if url.startswith("wss:"):  # websockets would build a new default context per connect
            options["ssl"] = verify if isinstance(verify, ssl.SSLContext) else system_context()
        return options

    async def stream(self, request: ChatRequest, trace: StreamTrace) -> AsyncIterator[StreamEvent]:
        url, headers = self._url_and_headers()
        trace.protocol = "ws"
        trace.url = redact_url(url)
        trace.method = "GET"
        trace.http_version = "1.1"
        trace.request_headers = redact_headers(headers)
        trace.t_sent = trace.t_connect_start = time.perf_counter()
        trace.t_connected = None
        # The body is encoded while the connection opens (a large one on a worker thread).
        message = asyncio.ensure_future(encode_body(request, request.websocket_message))
        try:
            conn = await self._connect(url, headers, request.model, trace)
        except BaseException:
            _settle(message)
            raise
        self._open.add(conn)
        failed = True
        try:
            async for event in self._converse(conn, message, trace):
                yield event
            failed = False
        finally:
            _settle(message)
            self._open.discard(conn)
            if failed and isinstance(sys.exc_info()[1], StreamError):
                # The server misbehaved: it may not answer a closing handshake either, and the
                # user should not wait `close_timeout` to see the failure. Drop the connection.
                conn.transport.abort()
            else:  # finished or stopped by the user: say goodbye so the server stops generating
                await conn.close()

    async def _connect(
        self, url: str, headers: dict[str, str], model: str, trace: StreamTrace
    ) -> ClientConnection:
        """Open the connection; its failures as StreamErrors (a refusal's status in `trace`)."""
        proxy = self.endpoint.proxy
        proxy_url = environment_proxy(url) if proxy is None else (proxy or None)
        try:
            return await SameOriginConnect(
                url, additional_headers=headers, **self._connect_options(url)
            )
        except InvalidStatus as exc:
            resp = exc.response
            trace.status = resp.status_code
            trace.response_headers = redact_headers(dict(resp.headers.raw_items()))
            raise http_error(
                resp.status_code,
                resp.headers,
                bytes(resp.body or b""),
                url,
                model=model,
            ) from None
        except (InvalidURI, InvalidProxy) as exc:
            raise StreamError(
                FailureKind.BAD_REQUEST,
                truncate(f"Bad WebSocket address: {redact_known(str(exc))}"),
            ) from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise network_error(exc, redact_url(url), proxy=proxy_url) from exc

    async def _converse(
        self, conn: ClientConnection, message: Awaitable[bytes], trace: StreamTrace
    ) -> AsyncIterator[StreamEvent]:
        trace.t_connected = time.perf_counter()
        if conn.response is not None:
            trace.status = conn.response.status_code
            trace.response_headers = redact_headers(dict(conn.response.headers.raw_items()))
        body = await message
        trace.frame("out", body)
        trace.t_sent = time.perf_counter()
        host = host_of(self.endpoint.ws_url or "")
        tokens = 0
        received = trace.received
        frame = trace.frame
        recv = conn.recv
        interpreter = FrameInterpreter(self.endpoint.ws_url or "")
        interpret = interpreter.interpret
        try:
            await conn.send(body, text=True)  # UTF-8 already: a text frame as it is
            while True:
                raw = await recv(decode=False)
                received(len(raw))
                frame("in", raw)
                for event in interpret(raw):
                    if isinstance(event, TextDelta | ReasoningDelta):
                        tokens += 1
                    yield event
                    if isinstance(event, Done):
                        return
        except ConnectionClosedOK:
            if not interpreter.frames_seen:
                raise empty_reply() from None
            raise StreamError(FailureKind.CUT_MID_STREAM, CUT_MESSAGE) from None
        except ConnectionClosed as exc:
            raise _closed_error(exc, host, tokens) from None
        except OSError as exc:
            raise network_error(exc, self.endpoint.ws_url or "", connecting=False) from exc


def _settle(message: asyncio.Future[bytes]) -> None:
    """Stop encoding a body no connection will send; an error it met is the connection's to
    report, not the loop's exception handler's."""
    if not message.done():
        message.cancel()
    elif not message.cancelled():
        message.exception()


def _closed_error(exc: ConnectionClosed, host: str, tokens: int) -> StreamError:
    """An abnormal close: the server's close code, or a cut when no close frame came at all."""
    if exc.rcvd is None and exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
        return message_too_big("WebSocket message", MAX_MESSAGE_BYTES)  # we refused it
    if exc.rcvd is None:  # TCP dropped (1006) or our ping went unanswered: the stream was cut
        return broke_during_reply(exc, host)
    code, reason = exc.rcvd.code, exc.rcvd.reason
    said = f" ({truncate(reason)})" if reason else ""
    kept = "; the partial reply was kept" if tokens else ""
    return StreamError(
        FailureKind.WEBSOCKET_CLOSED,
        f"The WebSocket to {host} was closed with code {code}{said}{kept}. Try again.",
        status=code,
    )
