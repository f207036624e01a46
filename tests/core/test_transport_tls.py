"""TLS contexts are built once per process, not per client (60-100 ms of loop time each)."""

from __future__ import annotations

import ssl
import sys

import httpx
import pytest

from streamdesk.core.request import Endpoint
from streamdesk.core.transports import _tls
from streamdesk.core.transports.sse_http import SSETransport
from streamdesk.core.transports.websocket import WebSocketTransport


def client_context(client: httpx.AsyncClient) -> ssl.SSLContext:
    """The context the client's connection pool will wrap sockets with (read, not replaced)."""
    return client._transport._pool._ssl_context  # type: ignore[attr-defined,no-any-return]


@pytest.mark.asyncio
async def test_every_sse_client_shares_one_default_tls_context() -> None:
    clients = [
        SSETransport(Endpoint("https://api.example.com/v1", proxy=proxy))._make_client()
        for proxy in ("", "", None)
    ]
    try:
        a, b, c = (client_context(x) for x in clients)
        assert a is b, "a new SSLContext per client costs the loop 60-100 ms per reply"
        assert a is _tls.default_context(trust_env=False)
        assert c is _tls.default_context(trust_env=True)
        assert a.verify_mode == ssl.CERT_REQUIRED and a.check_hostname
    finally:
        for client in clients:
            await client.aclose()


def test_a_ca_bundle_context_is_kept_not_replaced(tmp_path: object) -> None:
    own = ssl.create_default_context()
    assert _tls.httpx_verify(own, True) is own
    assert _tls.httpx_verify(True, True) is _tls.default_context(True)


def test_wss_gets_the_shared_system_context() -> None:
    ws = WebSocketTransport(Endpoint("https://x.example/v1", "wss://x.example/ws", proxy=""))
    options = ws._connect_options("wss://x.example/ws")
    assert options["ssl"] is _tls.system_context()
    assert "ssl" not in ws._connect_options("ws://127.0.0.1:1/ws")


def test_prewarm_imports_the_request_path_and_builds_the_contexts() -> None:
    _tls._httpx_context.cache_clear()
    _tls.prewarm()
    assert _tls._httpx_context.cache_info().currsize == 2  # trust_env on and off
    assert all(name in sys.modules for name in _tls.WARM_MODULES)
