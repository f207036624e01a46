"""A fresh history database file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streamdesk.core.store.history import HistoryStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    s = HistoryStore(tmp_path / "h.sqlite3")
    yield s
    s.close()
