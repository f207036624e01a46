"""`streamdesk usage [--since DATE] [--until DATE] [--by day|provider|model] [--json]`.

Tokens and cost of the replies in the history. Exact and estimated costs are two columns, never
added; the offline demo's replies are a line of their own, never in the dollars. Exit codes: 0,
2 for a bad date (as argparse does), 1 when the history cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from streamdesk.cli._common import warn

if TYPE_CHECKING:  # sqlite and the store load only when the subcommand runs
    from streamdesk.core.store.history.usage import Grouping, UsageReport, UsageRow

_DAYS = re.compile(r"(\d{1,5})d")
_HEADINGS = {"day": "DAY", "provider": "PROVIDER", "model": "MODEL"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "usage",
        help="tokens and cost per day, provider or model, from the history",
        description="Tokens and cost of the stored replies. Exact and estimated costs (the "
        "server sent no usage) are kept apart; the offline demo is never counted in dollars.",
    )
    parser.add_argument(
        "--since",
        type=parse_day,
        metavar="DATE",
        help="from this local day on: YYYY-MM-DD, or Nd for the last N days (7d: today and the "
        "six days before)",
    )
    parser.add_argument(
        "--until", type=parse_day, metavar="DATE", help="up to this local day, included"
    )
    parser.add_argument("--by", choices=("day", "provider", "model"), default="day")
    parser.add_argument("--json", action="store_true", help="one JSON object: rows and totals")
    parser.set_defaults(handler=_usage)


def parse_day(text: str, today: dt.date | None = None) -> dt.date:
    """YYYY-MM-DD, or "Nd": the first of the last N days (today counts as one)."""
    days = _DAYS.fullmatch(text.strip())
    if days is not None and int(days.group(1)) > 0:
        return (today or dt.date.today()) - dt.timedelta(days=int(days.group(1)) - 1)
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use YYYY-MM-DD (2026-11-01) or a number of days (30d)"
        ) from None


def _usage(args: argparse.Namespace) -> int:
    if args.since is not None and args.until is not None and args.since > args.until:
        warn(f"--since {args.since} is after --until {args.until}: nothing to count")
        return 2
    report = read_report(args.by, args.since, args.until)
    if report is None:
        return 1
    if args.json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        print()
    else:
        print(format_table(report))
    return 0


def read_report(by: Grouping, since: dt.date | None, until: dt.date | None) -> UsageReport | None:
    """The report; an empty one for a history not made yet (no file is created). A damaged
    file is repaired and read again, and said once; None when it still cannot be read."""
    import sqlite3

    from streamdesk.core.store.history import HistoryStore, default_path
    from streamdesk.core.store.history.usage import UsageReport, UsageRow

    if not default_path().exists():
        return UsageReport(by, since, until, (), UsageRow("total"), UsageRow("demo"))
    with HistoryStore() as store:
        try:
            try:
                return store.usage(since=since, until=until).by(by)
            except sqlite3.DatabaseError:
                store.check()  # repairs the file; its notice is said below
                return store.usage(since=since, until=until).by(by)
        except sqlite3.Error as exc:
            warn(
                f"the history at {store.path} cannot be read ({exc});"
                " try `streamdesk history check`"
            )
            return None
        finally:
            if store.recovery_notice:
                warn(store.recovery_notice)


def format_table(report: UsageReport) -> str:
    """Rows, a totals row, and the lines that say what the dollars leave out."""
    span = _span(report)
    if not report.rows:
        lines = [f"No replies in the history{span}."]
    else:
        unpriced = report.totals.unpriced_replies > 0  # a column only when there are any
        table = [(_label(report.by, row.key), *_figures(row, unpriced)) for row in report.rows]
        table.append(("TOTAL", *_figures(report.totals, unpriced)))
        head: tuple[str, ...] = (_HEADINGS[report.by], "REPLIES", "TOKENS IN", "TOKENS OUT")
        head += ("EXACT", "ESTIMATED", "UNPRICED") if unpriced else ("EXACT", "ESTIMATED")
        widths = [max(len(r[i]) for r in (head, *table)) for i in range(len(head))]
        lines = [_line(head, widths)]
        lines += [_line(r, widths) for r in table[:-1]]
        lines.append("-" * len(lines[0]))
        lines.append(_line(table[-1], widths))
    totals = report.totals
    if totals.estimated_replies:
        lines.append(
            f"Estimated: {_replies(totals.estimated_replies)} whose server sent no usage "
            f"({totals.estimated_tokens:,} tokens counted from the text)."
        )
    if totals.unpriced_replies:
        lines.append(
            f"Unpriced: {_replies(totals.unpriced_replies)} with tokens but no known price "
            "(in neither cost column)."
        )
    demo = report.demo
    if demo.replies:
        lines.append(
            f"Offline demo, not counted: {_replies(demo.replies)}, {demo.tokens:,} tokens."
        )
    return "\n".join(lines)


def _figures(row: UsageRow, unpriced: bool) -> tuple[str, ...]:
    """The row's cells; with `unpriced`, the count of its replies with no known price last."""
    from streamdesk.core.wording import money

    estimated = money(row.cost_estimated, estimated=True) if row.estimated_replies else "-"
    cells = (
        f"{row.replies:,}",
        f"{row.prompt_tokens:,}",
        f"{row.completion_tokens:,}",
        money(row.cost_exact),
        estimated,
    )
    if not unpriced:
        return cells
    return (*cells, f"{row.unpriced_replies:,}" if row.unpriced_replies else "-")


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    first, *numbers = cells
    return "  ".join(
        [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(numbers, widths[1:], strict=True))]
    )


def _label(by: str, key: str) -> str:
    return key or ("(no provider)" if by == "provider" else "(unknown)")


def _replies(n: int) -> str:
    return f"{n:,} reply" if n == 1 else f"{n:,} replies"


def _span(report: UsageReport) -> str:
    if report.since and report.until:
        return f" from {report.since} to {report.until}"
    if report.since:
        return f" since {report.since}"
    if report.until:
        return f" up to {report.until}"
    return ""
