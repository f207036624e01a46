"""Money reads the same in the window and on the command line: whole cents from a cent up, two
significant digits under a cent, ≈ for an estimate, – for no price, "demo" for the offline demo."""

from __future__ import annotations

import pytest

from streamdesk.core.chat.reply import Attempt
from streamdesk.core.errors import excerpt, quote
from streamdesk.core.events import FailureKind
from streamdesk.core.wording import (
    DEMO_COST,
    UNKNOWN_COST,
    import_problem,
    money,
    resumed_at,
    tokens_so_far,
)


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


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not valid JSON (Expecting value at line 1, column 1)"),
        ('{\n  "a" 1}', "not valid JSON (Expecting ':' delimiter at line 2, column 7)"),
        ("[" * 100_000, "not valid JSON (nested too deeply)"),
    ],
)
def test_a_file_that_is_not_json_says_where_not_how_python_failed(text: str, reason: str) -> None:
    import json

    try:
        json.loads(text)
    except (ValueError, RecursionError) as exc:
        assert import_problem(exc) == reason
    else:
        raise AssertionError("parsed")


def test_a_file_that_is_not_text_or_cannot_be_read_says_so() -> None:
    with pytest.raises(UnicodeDecodeError) as not_text:
        b"\xbd{}".decode("utf-8")
    assert import_problem(not_text.value) == "not valid JSON (not UTF-8 text: byte 0 is 0xbd)"
    missing = FileNotFoundError(2, "No such file or directory", "/x/chat.json")
    assert import_problem(missing) == "No such file or directory"


def test_a_token_count_says_what_came_since_the_reply_carried_on() -> None:
    continued = [Attempt(FailureKind.CUT_MID_STREAM, 5, 20, "continue")]
    assert tokens_so_far(1) == "1 token"
    assert tokens_so_far(15, resumed_at(continued)) == "15 tokens (10 since it resumed)"
    restarted = [*continued, Attempt(FailureKind.CUT_MID_STREAM, 10, 40, "restart")]
    assert resumed_at(restarted) is None  # its count is the new version's alone
    assert resumed_at([]) is None


def test_quoted_server_text_stays_on_one_line_and_ends_visibly() -> None:
    assert quote("a\nb\x1b[31m\x07") == "a\\nb\\x1b[31m\\x07"
    assert excerpt('{"content": "oo' + "p" * 200) == '“{"content": "oo' + "p" * 105 + "…”"
