"""Bad URLs and an unusable STREAMDESK_HOME: one line naming the problem, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamdesk.core.store.history import HistoryStore


def streamdesk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (
            ["--base-url", "http://127.0.0.1:70000/v1"],
            'The base URL "http://127.0.0.1:70000/v1" is not valid: '
            "the port must be a number from 0 to 65535.",
        ),
        (
            ["--base-url", "http://[::1/v1"],
            'The base URL "http://[::1/v1" is not valid: the host is not a valid IPv6 address.',
        ),
        (
            [
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--ws-url",
                "ws://127.0.0.1:99999/ws",
                "--protocol",
                "ws",
            ],
            'The WebSocket URL "ws://127.0.0.1:99999/ws" is not valid: '
            "the port must be a number from 0 to 65535.",
        ),
        (
            ["--base-url", "localhost:8080/v1"],
            'The base URL "localhost:8080/v1" is not valid: it has no scheme (start it with http://).',
        ),
        (
            ["--base-url", "http://h:1/" + "x" * 100_000 + " y"],
            'The base URL "http://h:1/xxxxxxxxxxxxxxxxxxxxxxxxxxxx…" is not valid: '
            "it contains spaces or control characters.",
        ),
    ],
    ids=["port-70000", "bad-ipv6", "ws-bad-port", "no-scheme", "huge-with-space"],
)
def test_a_bad_url_is_one_bad_request_line_and_exit_9(
    flags: list[str], line: str, streamdesk_home: Path
) -> None:
    text = streamdesk("ask", "hi", "--model", "m", *flags)
    assert (text.returncode, text.stdout) == (9, "")
    assert text.stderr == f"streamdesk: bad_request: {line}\n"
    events = streamdesk("ask", "hi", "--model", "m", "--json", *flags)
    assert events.returncode == 9 and "Traceback" not in events.stderr
    failure = json.loads(events.stdout.splitlines()[-1])
    assert (failure["type"], failure["kind"], failure["message"]) == (
        "failure",
        "bad_request",
        line,
    )
    with HistoryStore() as history:
        assert len(history.list_conversations()) == 2  # the failure is recorded, not a crash


@pytest.mark.parametrize(
    "command",
    [
        ["ask", "hi", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"],
        ["history", "list"],
        ["history", "show", "1"],
    ],
)
def test_a_home_where_no_folder_can_be_made_is_one_line(command: list[str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    run = streamdesk(*command, env={"STREAMDESK_HOME": str(blocker / "home")})
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
    last = run.stderr.splitlines()[-1]
    assert last.startswith(f"streamdesk: Streamdesk cannot create the folder {blocker}/home/")
    assert last.endswith("(Not a directory); set STREAMDESK_HOME to a folder that can be created")
