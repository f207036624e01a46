"""A context window typed in the Providers page's models table: as people write it, and said
when it cannot be one (the table itself is tested with the dialog, test_settings_dialog.py)."""

from __future__ import annotations

import pytest

from streamdesk.ui.settings.provider_form import context_problem, context_tokens


@pytest.mark.parametrize(
    ("typed", "tokens"),
    [
        ("", None),
        ("131072", 131_072),
        ("131,072", 131_072),
        ("128k", 128_000),
        ("1M", 1_000_000),
        ("1_047_576", 1_047_576),
        (" 2.5k ", 2_500),
    ],
)
def test_a_window_is_typed_as_people_write_it(typed: str, tokens: int | None) -> None:
    assert context_tokens(typed) == tokens


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("128kb", "must be a number of tokens such as 131072 or 128k, got '128kb'"),
        ("k", "must be a number of tokens such as 131072 or 128k, got 'k'"),
        ("-4k", "must be a number of tokens such as 131072 or 128k, got '-4k'"),
        ("infk", "must be a number of tokens such as 131072 or 128k, got 'infk'"),
        ("1e9", "must be a number of tokens such as 131072 or 128k, got '1e9'"),
        ("0", "must be a whole number of tokens from 512 to 100,000,000, got 0"),
        ("1000M", "must be a whole number of tokens from 512 to 100,000,000, got 1,000,000,000"),
        ("32k", None),
    ],
)
def test_a_window_that_cannot_be_is_refused(typed: str, problem: str | None) -> None:
    assert context_problem(typed) == problem
