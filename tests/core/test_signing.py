"""Request signing, checked against vectors computed outside the code under test."""

from __future__ import annotations

import hashlib
import hmac

from streamdesk.core.signing import sign_headers

# printf '' | openssl dgst -sha256 -hmac "1700000000sk-test"
OPENSSL_VECTOR = "0923fcf4c5472e6a85f25b733532cb15c48caf4951e401f77ebb22799ea7e86a"


def test_signature_matches_openssl_vector() -> None:
    headers = sign_headers("sk-test", now=1700000000.0)
    assert headers == {"X-Timestamp": "1700000000", "X-Signature": OPENSSL_VECTOR}


def test_timestamp_is_whole_seconds_and_key_is_timestamp_plus_api_key() -> None:
    headers = sign_headers("clé-ünïcode", now=1712345678.987)
    assert headers["X-Timestamp"] == "1712345678"
    expected = hmac.new(
        "1712345678clé-ünïcode".encode(), msg=b"", digestmod=hashlib.sha256
    ).hexdigest()
    assert headers["X-Signature"] == expected


def test_default_timestamp_is_now() -> None:
    import time

    before = int(time.time())
    ts = int(sign_headers("k")["X-Timestamp"])
    assert before <= ts <= int(time.time())


def test_different_keys_and_times_give_different_signatures() -> None:
    a = sign_headers("sk-a", now=1)["X-Signature"]
    assert a != sign_headers("sk-b", now=1)["X-Signature"]
    assert a != sign_headers("sk-a", now=2)["X-Signature"]
    assert len(a) == 64 and int(a, 16) >= 0
