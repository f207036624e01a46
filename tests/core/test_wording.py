"""Money reads the same in the window and on the command line: whole cents from a cent up, two
significant digits under a cent, ≈ for an estimate, – for no price, "demo" for the offline demo."""

from __future__ import annotations

import pytest

from streamdesk.core.wording import DEMO_COST, UNKNOWN_COST, money


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        (None, "–"),
        (0, "$0.00"),
        (0.0000004, "<$0.000001"),
        (0.000052, "$0.000052"),
        (0.00042, "$0.00042"),
        (0.002, "$0.0020"),
        (0.0099, "$0.0099"),
        (0.00999, "$0.01"),  # rounds up to a cent: said in cents
        (0.01, "$0.01"),
        (0.0123, "$0.01"),
        (0.5, "$0.50"),
        (12.5, "$12.50"),
        (1234.567, "$1,234.57"),
    ],
)
def test_a_cost_reads_as_money(usd: float | None, shown: str) -> None:
    assert money(usd) == shown


def test_an_estimate_is_marked_and_the_demo_is_never_priced() -> None:
    assert money(0.0123, estimated=True) == "≈$0.01"
    assert money(0.00042, estimated=True) == "≈$0.00042"
    assert money(None, estimated=True) == UNKNOWN_COST, "no price: nothing to estimate"
    assert money(0.0123, demo=True) == money(None, demo=True) == DEMO_COST == "demo"
    assert money(0.0123, estimated=True, demo=True) == "demo"
