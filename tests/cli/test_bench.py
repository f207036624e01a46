"""`streamdesk bench` end to end against the built-in mock, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from streamdesk.cli.bench import format_table
from streamdesk.core.netstats import summarize


def test_bench_against_the_mock_writes_json_and_png(tmp_path: Path) -> None:
    out, plot = tmp_path / "bench.json", tmp_path / "bench.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, "-m", "streamdesk", "bench", "--mock", "--runs", "2", "--tokens", "50"]
    cmd += ["--rate", "500", "--out", str(out), "--plot", str(plot)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=90)
    assert done.returncode == 0, done.stderr
    for label in ("TTFT p50", "gap p99", "bytes per token", "framing overhead", "failures"):
        assert label in done.stdout
    assert done.stdout.startswith("target: built-in mock (http://127.0.0.1:")
    data = json.loads(out.read_text())
    assert data["config"]["target"] == "built-in mock"
    assert data["config"]["base_url"].startswith("http://127.0.0.1:")
    sse, ws = data["summaries"]["sse"], data["summaries"]["ws"]
    for s in (sse, ws):
        assert s["runs"] == 2 and s["failures"] == 0 and s["tokens"] == 100
        assert s["ttft_p50_ms"] > 0 and 0 < s["overhead"] < 1
    # OpenAI-style SSE chunks carry far more framing per token than the WebSocket deltas
    assert sse["bytes_per_token"] > ws["bytes_per_token"]
    assert len(data["runs"]["sse"]) == 2 and len(data["gaps"]["ws"]) == 2 * 49
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000


def test_bench_rejects_an_unknown_protocol() -> None:
    cmd = [sys.executable, "-m", "streamdesk", "bench", "--protocols", "sse,carrier-pigeon"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--protocols" in done.stderr


def test_table_shows_a_dash_for_missing_figures() -> None:
    table = format_table({"sse": summarize("sse", [], failures=2)})
    assert "failures" in table and "–" in table


def test_a_named_provider_without_a_key_is_an_error_not_the_mock() -> None:
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    cmd = [sys.executable, "-m", "streamdesk", "bench", "--provider", "openai", "--runs", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "no API key for openai" in done.stderr and "--mock" in done.stderr
    assert done.stdout == ""  # nothing was measured
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 6 and "keychain is not available" in done.stderr
    assert done.stdout == ""
