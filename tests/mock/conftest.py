"""A fast mock server per test, and the official SDKs' clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from tests.mock.sdks import Clients

from streamdesk.mock import MockServer


@pytest_asyncio.fixture
async def server() -> AsyncIterator[MockServer]:
    """As fast as possible: wire-shape tests should not wait for a pace."""
    async with MockServer(tokens_per_second=0, first_token_delay=0) as srv:
        yield srv


@pytest_asyncio.fixture
async def clients(server: MockServer) -> AsyncIterator[Clients]:
    sdks = Clients.of(server)
    yield sdks
    await sdks.close()
