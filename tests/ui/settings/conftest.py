"""Every settings dialog a test here opened (settings_dialogs.open_dialog) is closed after it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from settings_dialogs import close_dialogs


@pytest_asyncio.fixture(autouse=True)
async def close_settings_dialogs() -> AsyncIterator[None]:
    yield
    await close_dialogs()
