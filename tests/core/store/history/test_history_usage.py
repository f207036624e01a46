"""Usage per day, provider and model, read from a real seeded history file."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.core.store.history.usage_history import COUNTED, DEMO, SeedReply, seed

from streamdesk.core.store.history import HistoryStore
from streamdesk.core.store.history.usage import UsageRow

TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[HistoryStore]:
    path = tmp_path / "h.sqlite3"
    seed(path, TODAY)
    with HistoryStore(path) as store:
        yield store


def _tokens(replies: tuple[SeedReply, ...]) -> tuple[int, int]:
    return (
        sum(r.prompt_tokens or 0 for r in replies),
        sum(r.completion_tokens or 0 for r in replies),
    )


def _exact(replies: tuple[SeedReply, ...]) -> float:
    return sum(r.cost or 0.0 for r in replies if not r.estimated)


def _estimated(replies: tuple[SeedReply, ...]) -> float:
    return sum(r.cost or 0.0 for r in replies if r.estimated)


def _stored_sums(store: HistoryStore) -> tuple[int, int, int, float]:
    """What the file itself holds for the finished real replies, summed straight in SQL."""
    db = sqlite3.connect(store.path)
    try:
        row = db.execute(
            "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), TOTAL(cost)"
            " FROM messages JOIN conversations c ON c.id = conversation_id"
            " WHERE role = 'assistant' AND status != 'streaming' AND c.provider != 'mock'"
        ).fetchone()
    finally:
        db.close()
    return int(row[0]), int(row[1]), int(row[2]), float(row[3])


def test_totals_equal_the_sum_of_the_stored_replies(seeded: HistoryStore) -> None:
    report = seeded.usage().by("day")
    totals = report.totals
    replies, prompt, completion, cost = _stored_sums(seeded)
    assert (totals.replies, totals.prompt_tokens, totals.completion_tokens) == (
        replies,
        prompt,
        completion,
    )
    assert totals.cost_exact + totals.cost_estimated == pytest.approx(cost)
    assert totals.replies == len(COUNTED)
    assert (totals.prompt_tokens, totals.completion_tokens) == _tokens(COUNTED)


def test_exact_and_estimated_costs_are_kept_apart(seeded: HistoryStore) -> None:
    totals = seeded.usage().by("provider").totals
    assert totals.cost_exact == pytest.approx(_exact(COUNTED))
    assert totals.cost_estimated == pytest.approx(_estimated(COUNTED))
    estimated = tuple(r for r in COUNTED if r.estimated)
    assert totals.estimated_replies == len(estimated)
    assert totals.estimated_tokens == sum(_tokens(estimated))


def test_a_reply_with_tokens_and_no_price_is_counted_as_unpriced(seeded: HistoryStore) -> None:
    report = seeded.usage().by("model")
    (unknown,) = [r for r in report.rows if r.key == "some/new-model"]
    assert unknown.unpriced_replies == 1 and unknown.cost_exact == 0.0
    assert report.totals.unpriced_replies == 1  # the errored reply had no tokens: not unpriced


def test_every_grouping_adds_up_to_the_same_totals(seeded: HistoryStore) -> None:
    both = seeded.usage()
    reports = [both.days, both.providers, both.models]
    assert reports[0].totals == reports[1].totals == reports[2].totals
    for report in reports:
        summed = UsageRow("total")
        for row in report.rows:
            summed = summed.plus(row)
        assert summed.replies == report.totals.replies
        assert summed.cost_exact == pytest.approx(report.totals.cost_exact)


def test_rows_per_day_are_local_days_oldest_first(seeded: HistoryStore) -> None:
    report = seeded.usage().by("day")
    days = [row.key for row in report.rows]
    expected = sorted({(TODAY - dt.timedelta(days=r.days_ago)).isoformat() for r in COUNTED})
    assert days == expected
    today = report.rows[-1]
    on_today = tuple(r for r in COUNTED if r.days_ago == 0)
    assert today.replies == len(on_today)
    assert (today.prompt_tokens, today.completion_tokens) == _tokens(on_today)


def test_providers_and_models_come_highest_cost_first(seeded: HistoryStore) -> None:
    providers = [row.key for row in seeded.usage().by("provider").rows]
    assert providers[0] == "anthropic" and set(providers) == {r.provider for r in COUNTED}
    models = {row.key: row for row in seeded.usage().by("model").rows}
    assert models["gpt-4.1"].replies == sum(1 for r in COUNTED if r.model == "gpt-4.1")


def test_since_and_until_bound_by_local_day(seeded: HistoryStore) -> None:
    since = TODAY - dt.timedelta(days=3)
    report = seeded.usage(since=since).days
    recent = tuple(r for r in COUNTED if r.days_ago <= 3)
    assert report.totals.replies == len(recent)
    assert report.totals.cost_exact == pytest.approx(_exact(recent))
    assert report.rows[0].key == since.isoformat()
    window = seeded.usage(since=since, until=TODAY - dt.timedelta(days=1)).providers
    middle = tuple(r for r in COUNTED if 1 <= r.days_ago <= 3)
    assert window.totals.replies == len(middle)
    assert seeded.usage(since=TODAY + dt.timedelta(days=1)).days.rows == ()


def test_the_offline_demo_is_summed_apart_from_real_dollars(seeded: HistoryStore) -> None:
    report = seeded.usage().by("provider")
    assert "mock" not in [row.key for row in report.rows]
    assert report.demo.replies == len(DEMO)
    assert (report.demo.prompt_tokens, report.demo.completion_tokens) == _tokens(DEMO)
    assert report.demo.cost_exact == pytest.approx(_exact(DEMO))
    assert report.totals.cost_exact == pytest.approx(_exact(COUNTED))


def test_streaming_replies_and_prompts_are_not_counted(seeded: HistoryStore) -> None:
    db = sqlite3.connect(seeded.path)
    try:
        streaming = db.execute("SELECT COUNT(*) FROM messages WHERE status = 'streaming'")
        assert streaming.fetchone()[0] == 1
    finally:
        db.close()
    assert seeded.usage().by("day").totals.replies == len(COUNTED)


def test_an_empty_history_reports_zeros(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        report = store.usage().models
    assert report.rows == () and report.totals == UsageRow("total")
    assert report.demo == UsageRow("demo")


def test_json_shape_is_stable(seeded: HistoryStore) -> None:
    report = seeded.usage(since=TODAY - dt.timedelta(days=6)).days
    data = report.as_dict()
    assert list(data) == ["by", "since", "until", "rows", "totals", "demo"]
    assert data["since"] == "2026-11-24" and data["until"] is None
    assert list(data["totals"]) == [
        "key", "replies", "prompt_tokens", "completion_tokens", "estimated_replies",
        "estimated_tokens", "cost_exact", "cost_estimated", "unpriced_replies",
    ]  # fmt: skip


def test_an_unknown_grouping_is_refused(seeded: HistoryStore) -> None:
    with pytest.raises(ValueError, match="unknown grouping"):
        seeded.usage().by("week")  # type: ignore[arg-type]
