"""OpenAI-compatible chat completions over HTTP + server-sent events, on `httpx.AsyncClient`.

httpx's read timeout is off on purpose: a read timeout cannot tell "the model is still thinking"
from "the server hung", so `core.stream` runs its own first-token and stall timers instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from functools import partial
from typing import Any, cast

import httpx

from streamdesk.core.errors import StreamError
from streamdesk.core.events import (
    Done,
    FailureKind,
    StreamEvent,
)
from streamdesk.core.openai_chunks import ChunkInterpreter, empty_reply
from streamdesk.core.providers import auth_parts, http_client_options
from streamdesk.core.redact import redact_headers, redact_url
from streamdesk.core.request import ChatRequest, Endpoint
from streamdesk.core.sse import SSEDecoder
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports._body import encode_body
from streamdesk.core.transports._classify import (
    CUT_MESSAGE,
    environment_proxy,
    http_error,
    network_error,
    server_message,
    truncate,
)
from streamdesk.core.transports._tls import httpx_verify

MAX_ERROR_BODY = 64 * 1024  # bytes of an error response read for its message


class SSETransport:
    """POST `{base_url}/chat/completions` with `stream: true` and decode the event stream.

    Owns its `httpx.AsyncClient` unless one is passed in (then the caller closes it). The client
    is created on first use and reused, so retries and later requests keep the connection pool.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        client: httpx.AsyncClient | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.extra_headers = dict(extra_headers or {})
        self._client = client
        self._owns_client = client is None

    def _make_client(self) -> httpx.AsyncClient:
        t = self.endpoint.timeouts
        options = http_client_options(self.endpoint)
        options["verify"] = httpx_verify(options["verify"], options["trust_env"])
        return httpx.AsyncClient(
            timeout=httpx.Timeout(connect=t.connect, read=None, write=t.write, pool=t.connect),
            follow_redirects=False,
            **options,
        )

    def _proxy_for(self, url: str) -> str | None:
        proxy = self.endpoint.proxy
        if proxy is None:
            return environment_proxy(url)
        return proxy or None

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def stream(self, request: ChatRequest, trace: StreamTrace) -> AsyncIterator[StreamEvent]:
        ep = self.endpoint
        if self._client is None:
            self._client = self._make_client()
        client = self._client
        url = ep.chat_url
        native = None
        if ep.api != "chat":  # a provider's own API: its path, auth, body and events
            from streamdesk.core.dialects import dialect

            native = dialect(ep.api)
            url = ep.base_url.rstrip("/") + native.request_path(request.model)
        headers = {
            **self.extra_headers,
            "Accept": "text/event-stream",
            # Compression would delay tokens behind the compressor; identity also lets us feed
            # raw bytes straight to the decoder and count wire bytes exactly.
            "Accept-Encoding": "identity",
            "Content-Type": "application/json",
        }
        if native is not None:
            headers.update(native.auth_headers(ep.api_key) if ep.api_key else {})
            body = await encode_body(request, partial(native.request_body, request))
        else:
            auth, params = auth_parts(ep)
            headers.update(auth)
            if "api_key" in params:  # query-parameter auth is for WebSocket; HTTP: a header
                headers["Authorization"] = f"Bearer {params['api_key']}"
            body = await encode_body(request, request.openai_body)
        trace.protocol = "sse"
        trace.url = redact_url(url)
        trace.method = "POST"
        trace.request_headers = redact_headers(headers)
        trace.frame("out", body)
        trace.t_sent = time.perf_counter()
        trace.t_connected = trace.t_connect_start = None

        async def on_trace(name: str, info: Mapping[str, Any]) -> None:
            # httpcore's trace hooks: a handful per request, none per token.
            if name == "connection.connect_tcp.started":
                trace.t_connect_start = time.perf_counter()
            elif name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
                trace.t_connected = time.perf_counter()
            elif name == "http11.send_request_body.complete":
                trace.t_sent = time.perf_counter()
                if trace.t_connected is None:  # a pooled connection: connected already
                    trace.t_connected = trace.t_sent

        started = False
        try:
            async with client.stream(
                "POST", url, content=body, headers=headers, extensions={"trace": on_trace}
            ) as response:
                trace.status = response.status_code
                trace.http_version = response.http_version
                trace.response_headers = redact_headers(response.headers)
                if trace.t_connected is None:
                    trace.t_connected = time.perf_counter()
                if response.status_code != 200:
                    raw = await _read_bounded(response)
                    trace.received(len(raw))
                    trace.frame("in", raw)
                    raise http_error(
                        response.status_code,
                        response.headers,
                        raw,
                        url,
                        model=request.model,
                    )
                content_type = response.headers.get("content-type", "")
                if content_type.startswith("application/json"):
                    raw = await _read_bounded(response)
                    trace.received(len(raw))
                    raise _json_instead_of_stream(raw, url)
                started = True
                decoder = SSEDecoder()
                interpreter = native.interpreter() if native is not None else ChunkInterpreter()
                received = trace.received
                frame = trace.frame
                feed = decoder.feed
                interpret = interpreter.interpret
                # Closed here, on the loop: left to the garbage collector, httpx's generator
                # chain would try to close its connection after the loop is gone.
                raw_chunks = cast(AsyncGenerator[bytes, None], response.aiter_raw())
                async with contextlib.aclosing(raw_chunks):
                    async for chunk in raw_chunks:
                        received(len(chunk))
                        frame("in", chunk)
                        for sse in feed(chunk):
                            for event in interpret(sse):
                                yield event
                                if isinstance(event, Done):
                                    return
                for sse in decoder.close():
                    for event in interpret(sse):
                        yield event
                        if isinstance(event, Done):
                            return
                if not interpreter.events_seen and not decoder.pending_bytes:
                    raise empty_reply()  # nothing at all, not even half an event
        except (httpx.HTTPError, OSError) as exc:  # OSError: rare, outside httpx's wrappers
            proxy = self._proxy_for(url)
            raise network_error(exc, url, proxy=proxy, connecting=not started) from exc
        raise StreamError(FailureKind.CUT_MID_STREAM, CUT_MESSAGE)


async def _read_bounded(response: httpx.Response) -> bytes:
    """At most `MAX_ERROR_BODY` bytes of a body we only read for an error message."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= MAX_ERROR_BODY:
            break
    return b"".join(parts)[:MAX_ERROR_BODY]


def _json_instead_of_stream(raw: bytes, url: str) -> StreamError:
    """A 200 with a JSON body: an error object, or a server that ignored `stream: true`."""
    quoted = server_message(raw) or truncate(raw.decode("utf-8", "replace"))
    return StreamError(
        FailureKind.BAD_RESPONSE,
        f"{url} answered with JSON instead of an event stream: {quoted}",
    )
