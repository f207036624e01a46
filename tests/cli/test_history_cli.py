"""`streamdesk history ...` run as a real subprocess against a store in STREAMDESK_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.core.attachment_files import png
from tests.core.store.history.history_damage import (
    CONVERSATIONS,
    bad_header,
    damaged_copies,
    digest,
    garbage_in_a_page,
    message_text,
    populate,
)

from streamdesk.cli.history import EXIT_DAMAGED, EXIT_DISK_FULL
from streamdesk.core.attachments import Attachment
from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.store.history import HistoryStore, default_path
from streamdesk.mock import MockServer

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "desktop")}  # STREAMDESK_HOME from conftest
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "history", *args],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


@pytest.fixture
def cid(streamdesk_home: Path) -> int:
    with HistoryStore() as store:
        store.create_conversation(title="Other chat")
        cid = store.create_conversation(title="Gardening tips")
        store.set_pinned(cid, True)
        store.add_message(cid, "user", "When should I plant tulips?")
        store.add_message(cid, "assistant", "Plant tulip bulbs in aut", status="partial")
        return cid


def test_list_shows_id_pin_title_count_and_an_unfinished_last_reply(cid: int) -> None:
    result = _cli("list")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split()[:3] == ["ID", "UPDATED", "TITLE"]
    assert lines[0].split()[0] == str(cid) and "*" in lines[0]
    assert "Gardening tips" in lines[0] and "[2 messages]" in lines[0]
    assert lines[0].endswith("(last reply partial)")
    assert "Other chat" in lines[1] and "last reply" not in lines[1]


def test_show_prints_transcript_and_marks_partial(cid: int) -> None:
    result = _cli("show", str(cid))
    assert result.returncode == 0, result.stderr
    assert "When should I plant tulips?" in result.stdout
    assert "[assistant] [partial: the reply was cut off]\nPlant tulip bulbs in aut" in result.stdout


def test_show_lists_a_prompts_images_and_says_each_cost_as_money(streamdesk_home: Path) -> None:
    photo = Attachment("garden.png", "image/png", png(64, 48), 64, 48)
    with HistoryStore() as store:
        cid = store.create_conversation(title="Garden", provider="openai")
        prompt = store.add_message(cid, "user", "What grows here?")
        store.attach_images(prompt, [photo])
        store.add_message(cid, "assistant", "Tulips.", cost=0.00042, cost_estimated=True)
    result = _cli("show", str(cid))
    assert result.returncode == 0, result.stderr
    size = f"{len(photo.data):,} bytes"
    assert f"What grows here?\n  attached: garden.png (PNG, 64×48, {size})\n" in result.stdout
    assert "[assistant] (cost ≈$0.00042)\nTulips." in result.stdout


def test_show_says_an_offline_demo_reply_costs_demo(streamdesk_home: Path) -> None:
    with HistoryStore() as store:
        cid = store.create_conversation(title="Demo", provider=MOCK_PROVIDER_ID)
        store.add_message(cid, "user", "Hi")
        store.add_message(cid, "assistant", "Hello!", cost=0.0123)
    result = _cli("show", str(cid))
    assert "[assistant] (cost demo)\nHello!" in result.stdout and "$" not in result.stdout


def test_search_prints_hits_with_highlighted_snippet(cid: int) -> None:
    result = _cli("search", "tulip")
    assert result.returncode == 0, result.stderr
    header, first = result.stdout.splitlines()[:2]
    assert header.split()[:2] == ["CONV", "MESSAGE"]
    assert first.startswith(f"{cid:>6} #") and "[tulip]" in first
    assert _cli("search", "zzznothing").stdout.strip() == "No matches."


def test_export_json_to_file_then_import_prints_new_id(cid: int, tmp_path: Path) -> None:
    out = tmp_path / "chat.json"
    result = _cli("export", str(cid), "--format", "json", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["conversation"]["title"] == "Gardening tips"
    imported = _cli("import", str(out))
    assert imported.returncode == 0, imported.stderr
    new_id = int(imported.stdout)
    with HistoryStore() as store:
        assert [m.content for m in store.messages(new_id)] == [
            m.content for m in store.messages(cid)
        ]
    md = _cli("export", str(cid), "--format", "md")
    assert md.stdout.startswith("# Gardening tips") and "**Assistant**" in md.stdout


def test_unknown_id_exits_5(cid: int) -> None:
    for args in (("show", "999"), ("export", "999", "--format", "json")):
        result = _cli(*args)
        assert result.returncode == 5
        assert "no conversation with id 999" in result.stderr and result.stdout == ""


def test_bad_import_files_exit_10_with_reason(cid: int, tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "streamdesk.conversation", "version": 7}))
    cases = [
        (bad_json, "not valid JSON"),
        (wrong, "unsupported export version 7"),
        (tmp_path / "missing.json", "cannot read"),
    ]
    for path, reason in cases:
        result = _cli("import", str(path))
        assert result.returncode == 10
        assert reason in result.stderr


def test_check_reports_a_sound_history(cid: int) -> None:
    result = _cli("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: 2 conversations, 2 messages\n"


def test_a_damaged_history_is_repaired_and_said_once(streamdesk_home: Path) -> None:
    path = default_path()
    texts = populate(path)
    bad_header(path)
    first = _cli("list")
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    (line,) = first.stderr.splitlines()
    (copy,) = damaged_copies(path)
    assert line == (
        "streamdesk: The history file was damaged (the file header is damaged);"
        f" {len(texts)} conversations and {sum(map(len, texts.values()))} messages were saved"
        f" into a fresh history. The damaged file is kept at {copy}."
    )
    assert len(first.stdout.splitlines()) == len(texts) + 1
    again = _cli("list")
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout == first.stdout


def test_check_exits_11_on_a_damaged_history_and_says_what_was_done(
    streamdesk_home: Path,
) -> None:
    path = default_path()
    populate(path)
    garbage_in_a_page(path, message_text(5, 9))
    damaged = digest(path)
    result = _cli("check")
    assert result.returncode == EXIT_DAMAGED, result.stderr
    (copy,) = damaged_copies(path)
    assert digest(copy) == damaged
    lines = result.stdout.splitlines()
    assert lines[0] == "damaged:" and len(lines) >= 4
    assert "were saved into a fresh history" in result.stdout and str(copy) in result.stdout
    assert lines[-1].startswith(f"now: {CONVERSATIONS} conversations, ")
    assert _cli("check").returncode == 0


def test_ask_never_writes_into_a_damaged_history(streamdesk_home: Path, mock: MockServer) -> None:
    path = default_path()
    populate(path)
    garbage_in_a_page(path, message_text(2, 3))
    damaged = digest(path)
    result = subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", "--base-url", mock.sse_base_url,
         "--model", "gpt-4.1", "What is a socket?"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "desktop")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    (copy,) = damaged_copies(path)
    assert digest(copy) == damaged
    with HistoryStore() as store:
        assert store.recovery_notice is None
        newest = store.list_conversations()[0]
        assert [m.role for m in store.messages(newest.id)] == ["user", "assistant"]
        assert store.messages(newest.id)[0].content == "What is a socket?"
        assert len(store.list_conversations()) == CONVERSATIONS + 1


@pytest.fixture
def full_disk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """STREAMDESK_HOME on a 2 MiB tmpfs (root only), with a conversation in its history."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        monkeypatch.setenv("STREAMDESK_HOME", str(disk / "home"))
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def test_read_commands_work_on_a_full_disk_and_import_says_why_not(
    full_disk_home: Path, tmp_path: Path
) -> None:
    with HistoryStore() as store:
        cid = store.create_conversation(title="Gardening tips")
        store.add_message(cid, "user", "When should I plant tulips?")
    export = tmp_path / "chat.json"
    assert _cli("export", str(cid), "--format", "json", "--out", str(export)).returncode == 0
    with (full_disk_home / "filler").open("wb", buffering=0) as filler, pytest.raises(OSError):
        while True:
            filler.write(b"\0" * 4096)
    for args in (("list",), ("show", str(cid)), ("search", "tulips"), ("export", str(cid))):
        result = _cli(*args)
        assert (result.returncode, result.stderr) == (0, ""), args
        assert "Gardening tips" in result.stdout or "tulips" in result.stdout
    assert _cli("check").stdout == "ok: 1 conversations, 1 messages\n"
    imported = _cli("import", str(export))
    assert imported.returncode == EXIT_DISK_FULL
    assert imported.stderr.splitlines()[-1] == (
        "streamdesk: the disk is full: the history cannot be saved until space is freed"
    )
    (full_disk_home / "filler").unlink()
    assert _cli("import", str(export)).returncode == 0
