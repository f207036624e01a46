"""Turn HTTP statuses and low-level exceptions into one `StreamError` a user can act on.

Both transports share these functions so that a 401 at a WebSocket handshake reads exactly like a
401 on an SSE POST, and a refused TCP connection reads the same whichever library saw it. The
window imports this module at start (through the engine) before any request: httpx, urllib and
email load inside the functions that need them.
"""

from __future__ import annotations

import errno
import json
import math
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from urllib.parse import urljoin, urlsplit

from streamdesk.core.errors import StreamError
from streamdesk.core.events import FailureKind
from streamdesk.core.redact import redact_known
from streamdesk.core.wording import adds_to

MAX_QUOTE = 200  # characters of a server's error message quoted in ours


def host_of(url: str) -> str:
    """`host` or `host:port` of a URL, without user info (never show a password)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or url
        port = parts.port
    except ValueError:
        return url
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def host_port(url: str) -> str:
    """`host:port` with the scheme's default port filled in (for "nothing is listening")."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or url
        port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    except ValueError:
        return url
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None for a URL that has none.

    `ws` and `http` (and `wss` and `https`) count as one scheme: a WebSocket handshake is HTTP.
    """
    try:
        parts = urlsplit(url)
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port


def redirect_target(url: str, location: str) -> str:
    """Where a redirect from `url` to `location` goes (a relative location joined to it)."""
    try:
        return urljoin(url, location)
    except ValueError:  # not even a URL: compared as it is, it matches no origin
        return location


def leaves_origin(url: str, target: str) -> bool:
    """True when `target` is not on `url`'s origin (or has none that can be read)."""
    there = origin(target)
    return there is None or there != origin(url)


def redirect_error(status: int, location: str | None, url: str, setting: str) -> StreamError:
    """A 3xx: never followed to another origin (the credentials would go with it), and an SSE
    POST is never followed at all, so the user fixes `setting` instead."""
    host = host_of(url)
    if not location:
        return StreamError(
            FailureKind.BAD_REQUEST,
            f"HTTP {status} from {host}: a redirect that names no new address. "
            f"Check the {setting}.",
            status=status,
        )
    target = redirect_target(url, location)
    if leaves_origin(url, target):
        elsewhere = truncate(host_of(target), 60)
        return StreamError(
            FailureKind.BAD_REQUEST,
            f"The server redirected to another host ({elsewhere}): update the {setting}. "
            "Nothing was sent there.",
            status=status,
        )
    path = truncate(urlsplit(target).path or "/", 60)
    return StreamError(
        FailureKind.BAD_REQUEST,
        f"HTTP {status} from {host}: the server redirected to {path}: update the {setting}.",
        status=status,
    )


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait: `retry-after-ms`, then `Retry-After` (seconds or an HTTP date).

    `headers` must look names up case-insensitively (httpx and websockets headers do).
    """
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if math.isfinite(delay) and delay >= 0:
            return delay / divisor
    value = headers.get("retry-after")
    if value is None:
        return None
    import email.utils

    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        when = float(email.utils.mktime_tz(parsed))
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def server_message(body: bytes) -> str | None:
    """The `error.message` of an OpenAI-style JSON error body, else short plain text, else None."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail")
            if isinstance(msg, str) and msg.strip():
                return truncate(msg.strip())
        elif isinstance(err, str) and err.strip():
            return truncate(err.strip())
    if text.startswith("<"):  # an HTML error page says nothing useful in one line
        return None
    return truncate(" ".join(text.split()))


def format_seconds(seconds: float) -> str:
    """A wait for people: "0.1 s", "2.5 s", "30 s" (a sub-second wait never reads "0 s")."""
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2g} s"


def truncate(text: str, limit: int = MAX_QUOTE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def http_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    url: str,
    *,
    model: str | None = None,
) -> StreamError:
    """The failure for a non-success HTTP status (also a WebSocket handshake's status); the
    server's own words are quoted after ours when they add something (see `core.wording`)."""
    host = host_of(url)
    quoted = server_message(body)

    def said(kind: FailureKind, ours: str) -> str:
        known = f"{kind.value.replace('_', ' ')} {ours}"
        return f' The server said: "{quoted}"' if quoted and adds_to(quoted, known) else ""

    if 300 <= status < 400:
        return redirect_error(status, headers.get("location"), url, "base URL")
    if status == 401:
        msg = f"HTTP 401 from {host}: the API key was rejected."
        return StreamError(FailureKind.AUTHENTICATION, msg, status=status)
    if status == 403:
        msg = (
            f"HTTP 403 from {host}: the key is valid but not allowed to use this model or "
            "endpoint. Check the key's permissions with the provider."
        )
        msg += said(FailureKind.PERMISSION, msg)
        return StreamError(FailureKind.PERMISSION, msg, status=status)
    if status == 404:
        what = f" or the model {model!r} does not exist there" if model else ""
        msg = f"HTTP 404 from {host}: nothing at {url}{what}. Check the base URL and model."
        msg += said(FailureKind.NOT_FOUND, msg)
        return StreamError(FailureKind.NOT_FOUND, msg, status=status)
    if status == 429:
        wait = parse_retry_after(headers)
        hint = f" The server asks to wait {format_seconds(wait)}." if wait is not None else ""
        msg = f"HTTP 429 from {host}: rate limited.{hint} Try again later."
        msg += said(FailureKind.RATE_LIMITED, msg)
        return StreamError(FailureKind.RATE_LIMITED, msg, retry_after=wait, status=status)
    if status >= 500:
        msg = f"HTTP {status} from {host}: the server failed. Try again in a moment."
        msg += said(FailureKind.SERVER_ERROR, msg)
        return StreamError(
            FailureKind.SERVER_ERROR, msg, retry_after=parse_retry_after(headers), status=status
        )
    msg = f"HTTP {status} from {host}: the server refused the request."
    msg += said(FailureKind.BAD_REQUEST, msg)
    return StreamError(FailureKind.BAD_REQUEST, msg, status=status)


CUT_MESSAGE = "The connection was closed before the reply finished; the partial reply was kept."
"""For a reply that ended before its end marker (SSE and WebSocket). It names no token count:
a transport counts only its own request's, and a resumed reply has more; the window and the
terminal say the reply's."""


def broke_during_reply(exc: BaseException, host: str) -> StreamError:
    """The connection failed after the reply began: a cut, with the library's reason."""
    return StreamError(
        FailureKind.CUT_MID_STREAM,
        f"The connection to {host} broke during the reply ({_describe(exc)}); "
        "the partial reply was kept.",
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything in its `__cause__` / `__context__` chain, once each."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), if any."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return None
    import urllib.request

    netloc = f"{host}:{port}" if port else host
    if urllib.request.proxy_bypass(netloc):
        return None
    proxies = urllib.request.getproxies_environment()
    secure = parts.scheme in ("https", "wss")
    for scheme in ("https", "all") if secure else ("http", "https", "all"):
        proxy = proxies.get(scheme)
        if proxy:
            return proxy
    return None


def network_error(
    exc: BaseException, url: str, *, proxy: str | None = None, connecting: bool = True
) -> StreamError:
    """Classify a transport-level exception (httpx, websockets, OSError) by its OS-level cause.

    `proxy` is the proxy URL in use, if any, so "nothing is listening" names the right address.
    `connecting` is False once the reply has started: any error then means the stream was cut.
    """
    host = host_of(url)
    chain = list(_chain(exc))
    if not connecting:
        return broke_during_reply(exc, host)
    for err in chain:
        if isinstance(err, ssl.SSLError):  # before OSError: SSLError is an OSError
            return StreamError(
                FailureKind.TLS_ERROR,
                f"TLS with {host} failed: {_describe(err)}. Check the URL scheme (https vs http), "
                "the server certificate, or set a CA bundle for this provider.",
            )
        if isinstance(err, socket.gaierror):
            target = host_of(proxy) if proxy else host.rsplit(":", 1)[0]
            return StreamError(
                FailureKind.NAME_NOT_RESOLVED,
                f"The name {target} could not be resolved. Check the URL and your network.",
            )
        if isinstance(err, ConnectionRefusedError) or (
            isinstance(err, OSError) and err.errno == errno.ECONNREFUSED
        ):
            if proxy:
                return StreamError(
                    FailureKind.CONNECTION_REFUSED,
                    f"Nothing is listening at the proxy {host_port(proxy)} (used for {host}). "
                    "Is the proxy running? Check HTTPS_PROXY / HTTP_PROXY or the proxy setting.",
                )
            return StreamError(
                FailureKind.CONNECTION_REFUSED,
                f"Nothing is listening at {host_port(url)}. Is the server running?",
            )
    import httpx

    for err in chain:
        if isinstance(err, TimeoutError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return StreamError(
                FailureKind.CONNECT_TIMEOUT,
                f"Could not connect to {host} in time. Check the URL and your network.",
            )
    return StreamError(
        FailureKind.NETWORK, f"Network error talking to {host}: {_describe(exc)}. Try again."
    )


def _describe(exc: BaseException) -> str:
    """A short text for an exception whose own message may be empty."""
    for err in _chain(exc):
        text = redact_known(str(err).strip())
        if text:
            return truncate(text, 160)
    return type(exc).__name__
