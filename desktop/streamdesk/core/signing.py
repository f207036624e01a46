"""Request signing for relays that want proof the sender holds the key without replaying it.

The relay checks `X-Signature` = hex HMAC-SHA256 keyed with `timestamp + api_key` (UTF-8) over an
empty message, and rejects stale `X-Timestamp` values, so a captured signature expires quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"


def signature(api_key: str, timestamp: str) -> str:
    """Hex HMAC-SHA256 keyed with `timestamp + api_key` over an empty message."""
    key = (timestamp + api_key).encode("utf-8")
    return hmac.new(key, b"", hashlib.sha256).hexdigest()


def sign_headers(api_key: str, now: float | None = None) -> dict[str, str]:
    """The two headers to add to a request; `now` (unix seconds) is injectable for tests."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(api_key, timestamp)}
