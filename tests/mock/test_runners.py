"""The mock in a daemon thread (for Qt and synchronous callers) and as `streamdesk mock`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest
from tests.mock.wire import PROMPT, chat_body

from streamdesk.cli import build_parser
from streamdesk.mock import SCENARIOS, reply_for, run_mock_in_thread


def test_thread_server_serves_synchronous_clients_and_stops_cleanly() -> None:
    server, stop = run_mock_in_thread(tokens_per_second=0, first_token_delay=0)
    with httpx.Client() as client:
        resp = client.post(f"{server.sse_base_url}/chat/completions", json=chat_body(stream=False))
        assert resp.json()["choices"][0]["message"]["content"] == "".join(reply_for(PROMPT))
        # an idle keep-alive connection is still open while we stop the server
        stop()
        stop()  # harmless twice
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.sse_base_url}/models")


def test_thread_server_reports_a_port_in_use() -> None:
    server, stop = run_mock_in_thread()
    try:
        with pytest.raises(OSError):
            run_mock_in_thread(port=server.port)
    finally:
        stop()


def test_cli_help_documents_scenarios_and_how_to_choose_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as help_exit:
        parser.parse_args(["mock", "--help"])
    assert help_exit.value.code == 0
    text = capsys.readouterr().out
    assert "X-Mock-Scenario" in text and "#NAME" in text
    assert all(name in text for name in SCENARIOS)
    args = parser.parse_args(["mock"])
    assert (args.host, args.port) == ("127.0.0.1", 8765)


def test_cli_prints_urls_serves_and_exits_zero_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONPATH": "desktop"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamdesk", "mock", "--port", "0", "--tokens-per-second", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        sse_url = proc.stdout.readline().strip()
        ws_url = proc.stdout.readline().strip()
        assert sse_url.startswith("http://127.0.0.1:") and sse_url.endswith("/v1")
        assert ws_url == sse_url.replace("http://", "ws://") + "/ws/chat"
        resp = httpx.post(f"{sse_url}/chat/completions", json=chat_body(stream=False))
        assert resp.json()["choices"][0]["message"]["content"] == "".join(reply_for(PROMPT))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "Traceback" not in err
