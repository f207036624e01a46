"""`streamdesk history` (run in this process) on what a user may mistype or a file may hold:
an --out that cannot be written, counts under 1, search text with no word, an imported title
that is not one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamdesk.cli import main
from streamdesk.cli.history import EXIT_BAD_IMPORT, EXIT_CANNOT_WRITE, TITLE_WIDTH
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.store.history.export import parse_import
from streamdesk.core.wording import import_problem


@pytest.fixture
def cid(streamdesk_home: Path) -> int:
    with HistoryStore() as store:
        cid = store.create_conversation(title="Gardening tips")
        store.add_message(cid, "user", "When should I plant tulips?")
        store.add_message(cid, "assistant", "In autumn.")
        return cid


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(["history", *args])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("where", "reason"),
    [("missing/dir/chat.md", "No such file or directory"), ("", "Is a directory")],
)
def test_an_export_that_cannot_be_written_is_one_line(
    cid: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, reason: str
) -> None:
    out = tmp_path / where
    code, stdout, err = _run(capsys, "export", str(cid), "--out", str(out))
    assert code == EXIT_CANNOT_WRITE and stdout == ""
    assert err == f"streamdesk: cannot write {out}: {reason}\n"


@pytest.mark.parametrize("args", [("list", "--limit", "0"), ("search", "tulips", "--limit", "-1")])
def test_a_limit_under_one_is_a_usage_error(
    cid: int, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, stdout, err = _run(capsys, *args)
    assert code == 2 and stdout == ""
    assert "argument --limit: must be at least 1" in err


@pytest.mark.parametrize("text", ["", "  ", "*"])
def test_search_text_without_a_word_is_a_usage_error(
    cid: int, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    code, stdout, err = _run(capsys, "search", text)
    assert code == 2 and stdout == ""
    assert err.startswith("streamdesk: usage: search for at least one word")


def test_an_imported_title_is_one_line_and_listed_no_wider_than_the_column(
    cid: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with HistoryStore() as store:
        data = store.export_json(cid)
    data["conversation"]["title"] = "Line one\n\tline  two\r\n" + "T" * 5000
    path = tmp_path / "long.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, stdout, err = _run(capsys, "import", str(path))
    assert code == 0, err
    new_id = int(stdout)
    with HistoryStore() as store:
        assert store.get_conversation(new_id).title == "Line one line two " + "T" * 5000
    code, stdout, err = _run(capsys, "list")
    assert code == 0, err
    rows = stdout.splitlines()[1:]
    assert len(rows) == 2  # one row each: the title's line breaks are gone
    (row,) = [r for r in rows if r.split()[0] == str(new_id)]
    assert f"Line one line two {'T' * (TITLE_WIDTH - 19)}…  [2 messages]" in row


def test_a_title_stored_with_line_breaks_is_still_listed_on_one_row(
    streamdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with HistoryStore() as store:
        store.create_conversation(title="Two\nlines and an \x1b[31mescape")
    code, stdout, _ = _run(capsys, "list")
    assert code == 0
    (row,) = stdout.splitlines()[1:]
    assert row.endswith("Two lines and an \\x1b[31mescape  [0 messages]")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("# Notes\n", "not valid JSON (Expecting value at line 1, column 1)"),
        ("[]", "not a Streamdesk export: the top level is not a JSON object"),
    ],
)
def test_a_file_that_cannot_be_imported_says_the_reason_the_window_says(
    cid: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, reason: str
) -> None:
    path = tmp_path / "notes.md"
    path.write_text(content, encoding="utf-8")
    code, _, err = _run(capsys, "import", str(path))
    assert code == EXIT_BAD_IMPORT
    with pytest.raises(ValueError) as raised:  # what the window's import meets
        parse_import(json.loads(content))
    assert import_problem(raised.value) == reason
    assert err == f"streamdesk: cannot import {path}: {reason}\n"
