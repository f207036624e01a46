"""Secrets never survive redaction of headers, URLs, text and log records."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from streamdesk.core.redact import (
    REDACTED,
    SecretFilter,
    install_log_redaction,
    protect_handler,
    redact_headers,
    redact_text,
    redact_url,
    remember_secret,
)


def test_headers_case_insensitive_and_scheme_kept() -> None:
    out = redact_headers(
        {
            "authorization": "Bearer sk-live-123456",
            "X-API-KEY": "abcd1234",
            "x-signature": "deadbeef",
            "Proxy-Authorization": "Basic dXNlcjpwYXNz",
            "Cookie": "session=xyz",
            "Content-Type": "application/json",
            "X-Timestamp": "1700000000",
        }
    )
    assert out == {
        "authorization": f"Bearer {REDACTED}",
        "X-API-KEY": REDACTED,
        "x-signature": REDACTED,
        "Proxy-Authorization": f"Basic {REDACTED}",
        "Cookie": REDACTED,
        "Content-Type": "application/json",
        "X-Timestamp": "1700000000",
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "wss://h.example/ws?api_key=sk-abc&model=x",
            f"wss://h.example/ws?api_key={REDACTED}&model=x",
        ),
        ("https://h/v1?KEY=zz&token=tt", f"https://h/v1?KEY={REDACTED}&token={REDACTED}"),
        ("http://user:hunter22@proxy:3128", f"http://user:{REDACTED}@proxy:3128"),
        ("socks5://user@proxy:1080", "socks5://user@proxy:1080"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("https://h/v1?model=a&stream=1", "https://h/v1?model=a&stream=1"),
    ],
)
def test_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_text_known_values_and_shapes() -> None:
    text = "key=plainsecretvalue auth: Bearer abcdefgh12345 other sk-proj-XYZ123456 ok"
    out = redact_text(text, ["plainsecretvalue", ""])
    assert "plainsecretvalue" not in out
    assert "abcdefgh12345" not in out
    assert "sk-proj-XYZ123456" not in out
    assert out.endswith(" ok")
    assert f"Bearer {REDACTED}" in out


def test_text_leaves_ordinary_words() -> None:
    text = "basic usage of the bearer of news; task-list and desk"
    assert redact_text(text, []) == text


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield logging.getLogger("streamdesk.test.child"), stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_install_log_redaction_covers_child_loggers_args_and_tracebacks(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = captured
    remember_secret("shapeless-KEY-0042")
    install_log_redaction()
    install_log_redaction()  # idempotent
    log.info("using %s with %s", "shapeless-KEY-0042", {"Authorization": "Bearer tok12345678"})
    try:
        raise RuntimeError("failed with sk-abcdef123456")
    except RuntimeError:
        log.exception("boom")
    out = stream.getvalue()
    assert "shapeless-KEY-0042" not in out
    assert "tok12345678" not in out
    assert "sk-abcdef123456" not in out
    assert out.count(REDACTED) >= 3
    assert "RuntimeError" in out


def test_handler_without_filter_leaks_proving_the_filter_is_what_works(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    log, _ = captured
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log.addHandler(handler)
    try:
        log.warning("k=%s", "sk-leakme12345")
        assert "sk-leakme12345" in stream.getvalue()
        protect_handler(handler)
        log.warning("k=%s", "sk-leakme12345")
        assert stream.getvalue().count("sk-leakme12345") == 1
    finally:
        log.removeHandler(handler)


def test_filter_instance_secrets_are_its_own() -> None:
    f = SecretFilter()
    f.add_secret("abc")  # too short to redact safely
    f.add_secret("longer-secret")
    assert f.secrets() == frozenset({"longer-secret"})
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "v=%s", ("longer-secret",), None)
    assert f.filter(record)
    assert record.getMessage() == f"v={REDACTED}"


def test_environment_key_is_redacted_once_installed(
    captured: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    log, stream = captured
    monkeypatch.setenv("STREAMDESK_API_KEY", "envonly-shapeless-77")
    install_log_redaction()
    log.info("key %s", "envonly-shapeless-77")
    assert "envonly-shapeless-77" not in stream.getvalue()
