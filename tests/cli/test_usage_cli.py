"""`streamdesk usage`: a seeded history in STREAMDESK_HOME read back as a table and as JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.core.store.history.history_damage import (
    bad_header,
    damaged_copies,
    garbage_in_a_page,
    message_text,
    populate,
)
from tests.core.store.history.usage_history import COUNTED, DEMO, seed

from streamdesk.cli import main
from streamdesk.cli.usage import parse_day
from streamdesk.core.store.history import default_path
from streamdesk.core.wording import money

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def history(streamdesk_home: Path) -> Path:
    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    seed(path)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["usage", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _stored_sums(path: Path) -> dict[str, float]:
    """The finished real replies' usage, summed straight from the file."""
    db = sqlite3.connect(path)
    try:
        row = db.execute(
            "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens),"
            " TOTAL(CASE WHEN cost_estimated = 0 THEN cost END),"
            " TOTAL(CASE WHEN cost_estimated != 0 THEN cost END)"
            " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.role = 'assistant' AND m.status != 'streaming' AND c.provider != 'mock'"
        ).fetchone()
    finally:
        db.close()
    keys = ("replies", "prompt_tokens", "completion_tokens", "cost_exact", "cost_estimated")
    return dict(zip(keys, row, strict=True))


def test_json_totals_equal_the_sum_of_the_stored_replies(history: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "desktop")}  # STREAMDESK_HOME from conftest
    result = subprocess.run(
        [sys.executable, "-m", "streamdesk", "usage", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    stored = _stored_sums(history)
    totals = data["totals"]
    for key, value in stored.items():
        assert totals[key] == pytest.approx(value), key
    assert totals["replies"] == len(COUNTED)
    assert sum(row["replies"] for row in data["rows"]) == totals["replies"]
    assert data["demo"]["replies"] == len(DEMO)
    assert list(data) == ["by", "since", "until", "rows", "totals", "demo"]


def test_table_has_a_row_per_provider_and_a_totals_row(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--by", "provider")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["PROVIDER", "REPLIES", "TOKENS", "IN", "TOKENS", "OUT", "EXACT",
                                "ESTIMATED", "UNPRICED"]  # fmt: skip
    providers = [line.split()[0] for line in lines[1:5]]
    assert providers == ["anthropic", "openai", "ollama", "openrouter"]  # by cost, then tokens
    total = next(line for line in lines if line.startswith("TOTAL")).split()
    stored = _stored_sums(history)
    assert total[1] == str(len(COUNTED))
    assert total[4] == money(stored["cost_exact"])
    assert total[5] == money(stored["cost_estimated"], estimated=True)
    assert total[6] == "1"  # the reply with no known price
    openrouter = next(line for line in lines if line.startswith("openrouter")).split()
    assert openrouter[4] == "$0.00" and openrouter[6] == "1"
    assert "Unpriced: 1 reply" in out
    assert "Offline demo, not counted: 2 replies" in out
    assert "mock" not in [line.split()[0] for line in lines if line.split()]


def test_since_keeps_the_last_days_only(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--since", "2d", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["since"] == (dt.date.today() - dt.timedelta(days=1)).isoformat()
    assert data["totals"]["replies"] == sum(1 for r in COUNTED if r.days_ago <= 1)
    assert [row["key"] for row in data["rows"]] == [data["since"], dt.date.today().isoformat()]
    code, out, _ = _run(capsys, "--until", (dt.date.today() - dt.timedelta(days=2)).isoformat())
    assert code == 0 and dt.date.today().isoformat() not in out


def test_a_bad_date_is_exit_2_with_the_form_to_use(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["usage", "--since", "last tuesday"])
    assert exit_info.value.code == 2
    assert "use YYYY-MM-DD" in capsys.readouterr().err
    code, _, err = _run(capsys, "--since", "2026-11-30", "--until", "2026-11-01")
    assert code == 2 and "is after --until" in err


def test_days_parse_as_dates_or_a_count_of_days() -> None:
    today = dt.date(2026, 11, 30)
    assert parse_day("2026-11-02", today) == dt.date(2026, 11, 2)
    assert parse_day("7d", today) == dt.date(2026, 11, 24)
    assert parse_day("1d", today) == today


def test_no_history_yet_is_an_empty_report_and_no_file(
    streamdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys)
    assert code == 0 and out.strip() == "No replies in the history."
    code, out, _ = _run(capsys, "--json")
    assert code == 0 and json.loads(out)["totals"]["replies"] == 0
    assert not default_path().exists()


def test_a_damaged_file_is_repaired_said_once_and_read(
    streamdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = default_path()
    populate(path)
    garbage_in_a_page(path, message_text(10, 15))
    code, out, err = _run(capsys, "--json")
    assert code == 0
    assert err.count("The history file was damaged") == 1
    assert damaged_copies(path)
    assert json.loads(out)["totals"]["replies"] > 0  # what the fresh file still holds


def test_a_file_that_is_no_database_is_replaced_and_said(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_header(history)
    code, out, err = _run(capsys)
    assert code == 0 and "The history file was damaged" in err
    assert out.startswith(("DAY", "No replies"))  # whatever could be saved, as a report


def test_no_unpriced_column_when_every_reply_has_a_price(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--since", "1d")  # today: every reply priced
    assert code == 0
    assert "UNPRICED" not in out.splitlines()[0] and "Unpriced:" not in out
