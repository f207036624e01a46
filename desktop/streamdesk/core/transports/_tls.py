"""TLS contexts made once per process, and a warm-up of the request path off the event loop.

`httpx.AsyncClient(verify=True)` builds a fresh `SSLContext` and loads certifi's bundle into it:
tens of milliseconds of CPU on the event loop, on every client (one per reply in the window),
even for plain-HTTP loopback. A context is safe to share between clients and connections, so the
default one is built once per trust setting and reused. `prewarm()` builds it and imports the
request path (httpx, httpcore, h11, anyio's asyncio backend, websockets) in a worker thread, so
the window's first Send does not pay for them on the loop.
"""

from __future__ import annotations

import functools
import importlib
import os
import ssl

# What the first request would otherwise import on the loop (httpx imports httpcore lazily,
# httpcore imports anyio's backend on its first connection).
WARM_MODULES = (
    "httpx",
    "httpcore",
    "h11",
    "anyio._backends._asyncio",
    "anyio._core._synchronization",
    "anyio._core._sockets",
    "streamdesk.core.transports.sse_http",
    "streamdesk.core.transports.websocket",
    "streamdesk.core.dialects",  # each request's max_tokens and "too long" refusals
    "decimal",  # the cost of the first reply, in the status bar as it ends
    "websockets.asyncio.client",
)


@functools.lru_cache(maxsize=8)
def _httpx_context(trust_env: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context(verify=True, trust_env=trust_env)


def default_context(trust_env: bool = True) -> ssl.SSLContext:
    """What `httpx` builds for `verify=True` (certifi, or SSL_CERT_FILE/DIR), built once."""
    env = os.environ
    return _httpx_context(trust_env, env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=1)
def system_context() -> ssl.SSLContext:
    """What `websockets` builds for `wss:` by default (the system store), built once."""
    return ssl.create_default_context()


def httpx_verify(verify: ssl.SSLContext | bool, trust_env: bool) -> ssl.SSLContext | bool:
    """`verify` for an `httpx` client: the shared default context in place of `True`."""
    return default_context(trust_env) if verify is True else verify


def prewarm() -> None:
    """Import the request path and build the default contexts (blocking: a worker thread)."""
    for name in WARM_MODULES:
        importlib.import_module(name)
    default_context(True)
    default_context(False)
    system_context()
