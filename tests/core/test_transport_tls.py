"""TLS contexts are built once per process, not per client or connection.

Each build costs the loop 60-100 ms. httpx (for `verify=True`), websockets (for `wss:` without
a context) and asyncio (for `ssl=True`) all build theirs with `ssl.create_default_context`, so
the tests watch its calls around a reply.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import Iterator
from unittest import mock

import pytest

from streamdesk.core.errors import StreamError
from streamdesk.core.request import ChatRequest, Endpoint, Message
from streamdesk.core.trace import StreamTrace
from streamdesk.core.transports import _tls
from streamdesk.core.transports.sse_http import SSETransport
from streamdesk.core.transports.websocket import WebSocketTransport

REQUEST = ChatRequest("m", (Message("user", "hi"),))


@pytest.fixture
def context_builds() -> Iterator[mock.MagicMock]:
    """`ssl.create_default_context`, watched (calls go through) once `prewarm()` has run."""
    _tls.prewarm()
    with mock.patch.object(ssl, "create_default_context", wraps=ssl.create_default_context) as f:
        yield f


async def fail_to_stream(transport: SSETransport | WebSocketTransport) -> None:
    with pytest.raises(StreamError):
        async for _event in transport.stream(REQUEST, StreamTrace()):
            pass


@pytest.mark.asyncio
@pytest.mark.parametrize("proxy", ["", None], ids=["no-proxy", "environment"])
async def test_an_sse_reply_builds_no_tls_context(
    proxy: str | None, dead_port: int, context_builds: mock.MagicMock
) -> None:
    """httpx builds a context for each client it makes with `verify=True`, even for http:."""
    for _reply in range(2):
        transport = SSETransport(Endpoint(f"http://127.0.0.1:{dead_port}/v1", proxy=proxy))
        try:
            await fail_to_stream(transport)
        finally:
            await transport.aclose()
    context_builds.assert_not_called()  # one per client costs the loop 60-100 ms per reply


@pytest.mark.asyncio
async def test_a_wss_connection_builds_no_tls_context(
    context_builds: mock.MagicMock,
) -> None:
    """asyncio builds one when the TCP connection opens, so a listener is needed (it hangs up)."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        ws_url = f"wss://127.0.0.1:{port}/ws"
        await fail_to_stream(WebSocketTransport(Endpoint("https://x.example/v1", ws_url, proxy="")))
    context_builds.assert_not_called()


def test_the_shared_default_context_verifies() -> None:
    context = _tls.default_context(trust_env=False)
    assert context is _tls.default_context(trust_env=False)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_ca_bundle_context_is_kept_not_replaced(tmp_path: object) -> None:
    own = ssl.create_default_context()
    assert _tls.httpx_verify(own, True) is own
    assert _tls.httpx_verify(True, True) is _tls.default_context(True)


def test_prewarm_imports_the_request_path_and_builds_the_contexts(
    context_builds: mock.MagicMock,
) -> None:
    for trust_env in (True, False):
        _tls.default_context(trust_env)
    _tls.system_context()
    context_builds.assert_not_called()
    assert all(name in sys.modules for name in _tls.WARM_MODULES)
