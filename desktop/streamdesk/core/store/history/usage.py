"""Tokens and cost from the history, per day, provider or model: one `GROUP BY` over the replies.

Every stored reply counts, shown or not (a regenerated reply was paid for too), except one still
streaming. Exact and estimated figures are kept apart: a reply whose server sent no usage has its
tokens and cost estimated (`cost_estimated`), and that cost is never added to exact dollars. A
reply with tokens but no known price counts as `unpriced`, in neither sum. The offline demo's
replies (the built-in mock provider) are summed apart in `UsageReport.demo`, never in the rows
or the totals.

A reply is attributed to its conversation's provider (replies do not store one) and to its own
model, or the conversation's when it has none. Days are local calendar days.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any, Literal

from streamdesk.core.providers import MOCK_PROVIDER_ID

Grouping = Literal["day", "provider", "model"]
GROUPINGS: tuple[Grouping, ...] = ("day", "provider", "model")

# One scan for all three groupings: the cells (demo or not, day, provider, model) are few (days
# times models), and folding them in Python costs nothing beside reading the replies.
_SQL = """
SELECT c.provider = ? AS demo,
    date(m.created, 'unixepoch', 'localtime') AS day_key,
    c.provider AS provider_key,
    COALESCE(NULLIF(m.model, ''), c.model) AS model_key,
    COUNT(*) AS replies,
    COALESCE(SUM(m.prompt_tokens), 0) AS prompt_tokens,
    COALESCE(SUM(m.completion_tokens), 0) AS completion_tokens,
    COALESCE(SUM(m.cost_estimated != 0), 0) AS estimated_replies,
    COALESCE(SUM(CASE WHEN m.cost_estimated != 0
        THEN COALESCE(m.prompt_tokens, 0) + COALESCE(m.completion_tokens, 0) END), 0)
        AS estimated_tokens,
    TOTAL(CASE WHEN m.cost_estimated = 0 THEN m.cost END) AS cost_exact,
    TOTAL(CASE WHEN m.cost_estimated != 0 THEN m.cost END) AS cost_estimated,
    COALESCE(SUM(m.cost IS NULL
        AND (m.prompt_tokens IS NOT NULL OR m.completion_tokens IS NOT NULL)), 0)
        AS unpriced_replies
FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
WHERE m.role = 'assistant' AND m.status != 'streaming' AND m.created >= ? AND m.created < ?
GROUP BY demo, day_key, provider_key, model_key
"""


@dataclass(frozen=True, slots=True)
class UsageRow:
    """The replies of one day, provider or model (or all of them: a totals row).

    `prompt_tokens` and `completion_tokens` count every reply; `estimated_tokens` is the part
    of them that was estimated. `cost_exact` and `cost_estimated` are never added together.
    """

    key: str
    replies: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_replies: int = 0
    estimated_tokens: int = 0
    cost_exact: float = 0.0
    cost_estimated: float = 0.0
    unpriced_replies: int = 0  # tokens but no known price: in neither cost

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def plus(self, other: UsageRow, key: str | None = None) -> UsageRow:
        """Both rows summed, under `key` (default: this row's)."""
        return UsageRow(
            self.key if key is None else key,
            self.replies + other.replies,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.estimated_replies + other.estimated_replies,
            self.estimated_tokens + other.estimated_tokens,
            self.cost_exact + other.cost_exact,
            self.cost_estimated + other.cost_estimated,
            self.unpriced_replies + other.unpriced_replies,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Rows in order (days oldest first; providers and models by cost, then tokens, highest
    first), their totals, and the offline demo's replies summed apart."""

    by: Grouping
    since: dt.date | None
    until: dt.date | None
    rows: tuple[UsageRow, ...]
    totals: UsageRow
    demo: UsageRow

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape of `streamdesk usage --json`."""
        return {
            "by": self.by,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "rows": [row.as_dict() for row in self.rows],
            "totals": self.totals.as_dict(),
            "demo": self.demo.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class UsageReports:
    """The same replies grouped by day, by provider and by model (one read of the history)."""

    days: UsageReport
    providers: UsageReport
    models: UsageReport

    def by(self, grouping: Grouping) -> UsageReport:
        reports = {"day": self.days, "provider": self.providers, "model": self.models}
        if grouping not in reports:
            raise ValueError(
                f"unknown grouping {grouping!r}; expected one of {', '.join(GROUPINGS)}"
            )
        return reports[grouping]


def day_start(day: dt.date) -> float:
    """Unix time of local midnight at the start of `day`."""
    return dt.datetime.combine(day, dt.time()).timestamp()


def usage_reports(
    db: sqlite3.Connection, *, since: dt.date | None = None, until: dt.date | None = None
) -> UsageReports:
    """The usage of replies created from local day `since` through local day `until` (both
    included; None: no bound), grouped by day, by provider and by model."""
    start = day_start(since) if since is not None else float("-inf")
    end = day_start(until + dt.timedelta(days=1)) if until is not None else float("inf")
    groups: dict[Grouping, dict[str, UsageRow]] = {by: {} for by in GROUPINGS}
    demo = UsageRow("demo")
    for record in db.execute(_SQL, (MOCK_PROVIDER_ID, start, end)):
        cell = UsageRow(
            "",
            record["replies"],
            record["prompt_tokens"],
            record["completion_tokens"],
            record["estimated_replies"],
            record["estimated_tokens"],
            record["cost_exact"],
            record["cost_estimated"],
            record["unpriced_replies"],
        )
        if record["demo"]:
            demo = demo.plus(cell)
            continue
        for by in GROUPINGS:
            key = str(record[f"{by}_key"] or "")
            rows = groups[by]
            rows[key] = rows[key].plus(cell) if key in rows else cell.plus(UsageRow(key), key)
    totals = UsageRow("total")
    for row in groups["day"].values():
        totals = totals.plus(row)

    def report(by: Grouping) -> UsageReport:
        rows = list(groups[by].values())
        if by == "day":
            rows.sort(key=lambda r: r.key)
        else:
            rows.sort(key=lambda r: (-(r.cost_exact + r.cost_estimated), -r.tokens, r.key))
        return UsageReport(by, since, until, tuple(rows), totals, demo)

    return UsageReports(report("day"), report("provider"), report("model"))
