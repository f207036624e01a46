"""A mock server shared by the `ask` tests: instant pace, no key demanded, 30-token replies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamdesk.mock import MockServer, run_mock_in_thread

INSTANT_TOKENS = 30


@pytest.fixture(scope="module")
def instant_mock() -> Iterator[MockServer]:
    server, stop = run_mock_in_thread(
        tokens_per_second=0, first_token_delay=0, reply_tokens=INSTANT_TOKENS
    )
    try:
        yield server
    finally:
        stop()


@pytest.fixture(scope="module")
def mock(instant_mock: MockServer) -> MockServer:
    """The default for a test module; a module may define its own `mock` instead."""
    return instant_mock
