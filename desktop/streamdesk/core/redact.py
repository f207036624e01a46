"""Keep keys, tokens and signatures out of logs, the inspector, exports and crash output.

Everything that shows a header, a URL or free text to a person or a file goes through here.
Redaction is by name (headers, query parameters, URL passwords), by known value (the keys the
app holds) and by shape (`Bearer …`, `sk-…`), so a key the app never saw is still caught.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping

REDACTED = "[redacted]"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-signature",
        "cookie",
        "set-cookie",
        "x-auth-token",
        "x-goog-api-key",
    }
)
SECRET_QUERY_PARAMS = frozenset(
    {"api_key", "apikey", "api-key", "key", "token", "access_token", "signature", "sig"}
)
_AUTH_SCHEMES = ("bearer", "basic", "token", "digest")

# Shapes of secrets worth catching even when the exact value is unknown.
_PATTERNS = (
    re.compile(r"\b([Bb]earer)(\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"),
    re.compile(r"(?i)([?&](?:api_key|apikey|key|token|access_token)=)[^&#\s\"']+"),
    re.compile(
        r"(?i)(\"?x-(?:api-key|signature)\"?(?:\s+header)?\s*[:=]\s*\"?)[A-Za-z0-9._~+/=-]{4,}"
    ),
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/@\s:\"']*:)[^/@\s\"']+(@)"),
)
_MIN_SECRET_LEN = 4  # shorter "secrets" would redact ordinary words


def redact_header_value(name: str, value: str) -> str:
    """Redact one header value if its name is sensitive; keep an auth scheme word for context."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in _AUTH_SCHEMES:
        return f"{scheme} {REDACTED}"
    return REDACTED


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with sensitive values replaced (names compared case-insensitively)."""
    return {name: redact_header_value(name, value) for name, value in headers.items()}


def redact_url(url: str) -> str:
    """Hide secret query parameters and a userinfo password; the rest stays readable."""
    from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit  # after paint

    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_patterns(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if sep else f"{userinfo}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_QUERY_PARAMS for k, _ in pairs):
            query = urlencode(
                [(k, REDACTED if k.lower() in SECRET_QUERY_PARAMS else v) for k, v in pairs],
                quote_via=quote,
                safe="[]",
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each known secret, then every secret-shaped token."""
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return redact_patterns(text)


def redact_patterns(text: str) -> str:
    """Redact secret shapes (`Bearer x`, `sk-…`, `?api_key=…`) without knowing the values."""
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _PATTERNS[1].sub(REDACTED, text)
    text = _PATTERNS[2].sub(lambda m: m.group(1) + REDACTED, text)
    text = _PATTERNS[3].sub(lambda m: m.group(1) + REDACTED, text)
    return _PATTERNS[4].sub(lambda m: m.group(1) + REDACTED + m.group(2), text)


def redact_known(text: str) -> str:
    """`text` without any key this process has read, nor anything shaped like a secret.

    Failure messages go through this where they are made, since an exception's text may quote
    a request (an illegal header value, a URL with `?api_key=`) and every failure reaches the
    terminal, `--json`, the history, exports, the inspector and the window.
    """
    return redact_text(text, SECRET_FILTER.secrets())


class SecretFilter(logging.Filter):
    """Rewrites each record's message so no known key or secret-shaped token reaches a handler.

    Known values are registered with `add_secret` (the key store does this for every key it
    returns), so keys without a recognisable shape are caught too.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, secret: str) -> None:
        if len(secret) >= _MIN_SECRET_LEN:
            with self._lock:
                self._secrets.add(secret)

    def secrets(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: still redact what we can
            message = str(record.msg)
        secrets = self.secrets()
        clean = redact_text(message, secrets)
        if clean != message:
            record.msg = clean
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, secrets)
        return True


SECRET_FILTER = SecretFilter()
"""The process-wide filter; `remember_secret` feeds it."""


def remember_secret(secret: str) -> None:
    """Register a value that must never appear in a log line or a failure message.

    The value is registered as given and stripped, so a key read with a stray CR or space is
    caught in either spelling.
    """
    SECRET_FILTER.add_secret(secret)
    SECRET_FILTER.add_secret(secret.strip())


def install_log_redaction(logger: logging.Logger | None = None) -> SecretFilter:
    """Put `SECRET_FILTER` on every handler of `logger` (the root by default).

    Filters on a logger only see records logged on that logger itself, not those propagated from
    children, so the filter goes on the handlers. A handler added later must be passed through
    `protect_handler` (or call this again); calling it twice adds nothing twice.
    """
    env_key = os.environ.get("STREAMDESK_API_KEY")
    if env_key:  # a key that bypasses the key store is still a key
        remember_secret(env_key)
    target = logging.getLogger() if logger is None else logger
    for handler in target.handlers:
        protect_handler(handler)
    return SECRET_FILTER


def protect_handler(handler: logging.Handler) -> logging.Handler:
    """Add the redaction filter to one handler (idempotent); returns the handler."""
    if SECRET_FILTER not in handler.filters:
        handler.addFilter(SECRET_FILTER)
    return handler
