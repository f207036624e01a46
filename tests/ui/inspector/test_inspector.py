"""The inspector dock and its exports, on the real window and mock."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from tests.ui.ui_helpers import FAST, open_window, wait_reply, wait_text

from streamdesk.core.request import ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.core.trace import StreamTrace, WireFrame
from streamdesk.mock import MockServer
from streamdesk.ui.inspector.dock import InspectorDock
from streamdesk.ui.inspector.export import (
    FrameSplitter,
    curl_command,
    header_text,
    trace_json_text,
)
from streamdesk.ui.window.main_window import MainWindow

KEY = "sk-inspector-known-secret-42"
STREAMING = {"tokens_per_second": 60.0, "first_token_delay": 0.0, "reply_tokens": 150}


def toggle_inspector(window: MainWindow) -> InspectorDock:
    """Press Ctrl+I (the window's request signal) and return the dock it shows or hides."""
    window.inspectorRequested.emit()
    dock = window.findChild(InspectorDock)
    assert isinstance(dock, InspectorDock)
    return dock


async def until(dock: InspectorDock, check: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait for `check()` to hold after one of the dock's own refresh ticks."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def tick() -> None:
        if check() and not done.done():
            done.set_result(None)

    dock.timer.timeout.connect(tick)
    try:
        tick()
        await asyncio.wait_for(done, limit)
    finally:
        dock.timer.timeout.disconnect(tick)


@pytest.mark.asyncio
async def test_opening_during_a_stream_shows_frames_arriving(qtbot: QtBot) -> None:
    async with open_window(qtbot, **STREAMING) as window:
        session = window.current_session()
        session.send("Stream slowly please")
        await wait_text(session)
        assert session.trace is not None and session.trace.frames is None  # closed: no frames
        dock = toggle_inspector(window)
        assert dock.isVisible()
        assert dock.current is session.trace
        await until(dock, lambda: len(dock.frames.rows) >= 5)
        first = len(dock.frames.rows)
        await until(dock, lambda: len(dock.frames.rows) > first)  # still arriving, live
        assert all(r.text.startswith("data:") for r in dock.frames.rows)
        turn = await wait_reply(session)
        assert turn.reply.status.value == "complete"
        dock.refresh()
        assert dock.frames.rows[-1].text == "data: [DONE]"
        stats = dock.requests.stats(0)
        assert stats.protocol == "sse" and stats.status == 200 and stats.tokens == 150
        times = [r.t_ms for r in dock.frames.rows]
        assert times == sorted(times)
        # the chart follows the selected reply: one gap per token after the first
        assert dock.chart is not None and len(dock.chart.series()[1]) == 149


@pytest.mark.asyncio
async def test_frames_are_recorded_only_while_the_inspector_is_open(qtbot: QtBot) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        dock = toggle_inspector(window)
        assert dock.isVisible()
        session.send("one")
        await wait_reply(session)
        assert session.trace is not None and session.trace.frames
        assert dock.requests.rowCount() == 1
        toggle_inspector(window)
        assert not dock.isVisible()
        session.send("two")
        await wait_reply(session)
        assert session.trace is not None and session.trace.frames is None
        assert session.trace.token_times  # timings are still taken
        toggle_inspector(window)
        assert dock.requests.rowCount() == 2  # the request made while closed is listed
        dock.table.selectRow(1)
        assert dock.current is session.trace
        assert "recorded while the inspector is open" in dock.frames_info.text()


@pytest.mark.asyncio
async def test_filter_copy_and_save_json(qtbot: QtBot, tmp_path: Path) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        window.header.set_protocol("ws")
        dock = toggle_inspector(window)
        session.send("over a websocket")
        await wait_reply(session)
        dock.refresh()
        assert dock.requests.stats(0).protocol == "ws"
        dock.filter_edit.setText("COMPLETION.DONE")
        assert dock.proxy.rowCount() == 1
        dock.copy_frames()
        from PySide6.QtGui import QGuiApplication

        assert "completion.done" in QGuiApplication.clipboard().text()
        dock.filter_edit.clear()
        assert dock.proxy.rowCount() == len(dock.frames.rows) > 3
        out = tmp_path / "trace.json"
        dock.save_json(out)
        data = json.loads(out.read_text())
        assert data["stats"]["protocol"] == "ws" and data["frames"][0]["dir"] == "out"
        assert len(data["token_times_ms"]) == data["stats"]["tokens"] > 0


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_headers_curl_and_json_never_show_the_key(protocol: str) -> None:
    async with MockServer(tokens_per_second=0, first_token_delay=0, reply_tokens=5) as mock:
        endpoint = Endpoint(
            mock.sse_base_url, mock.ws_url, api_key=KEY, sign=True, proxy="", timeouts=Timeouts()
        )
        trace = StreamTrace.recording()
        transport = make_transport(protocol, endpoint)
        request = ChatRequest("gpt-4.1", (Message("user", "hi"),))
        try:
            async for _ in stream_chat(transport, request, trace=trace, timeouts=Timeouts()):
                pass
        finally:
            await transport.aclose()
        sent = mock.requests[-1].headers
    signature = sent["x-signature"]
    assert KEY in sent["authorization"]  # the server did get the real key
    for text in (header_text(trace), curl_command(trace), trace_json_text(trace)):
        assert KEY not in text and signature not in text
        assert "[redacted]" in text
    assert "Authorization: Bearer [redacted]" in header_text(trace)
    assert "X-Signature: [redacted]" in header_text(trace)
    # a key the transport did not redact (api_key in the URL) is still caught on export
    trace.url = f"{mock.ws_url}?api_key={KEY}"
    assert KEY not in curl_command(trace) and KEY not in trace_json_text(trace)


def test_sse_lines_split_across_chunks_are_joined() -> None:
    split = FrameSplitter("sse", 0.0)
    rows = split.feed([WireFrame(0.001, "in", b'data: {"a"'), WireFrame(0.002, "in", b":1}\n\nda")])
    rows += split.feed([WireFrame(0.003, "in", b"ta: [DONE]\r\n\r\n")])
    assert [r.text for r in rows] == ['data: {"a":1}', "data: [DONE]"]
    assert rows[0].t_ms == pytest.approx(2.0)


def test_pyqtgraph_is_not_loaded_at_start_up() -> None:
    code = "import sys, streamdesk.ui.window.main_window; print('pyqtgraph' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
