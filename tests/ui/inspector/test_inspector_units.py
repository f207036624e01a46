"""Every inspector column says its unit, and "Overhead" says what it is the share of."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from tests.ui.ui_helpers import FAST, open_window, wait_reply

from streamdesk.ui.inspector.dock import InspectorDock
from streamdesk.ui.inspector.models import COLUMNS, FramesModel

# Columns whose values are names or counts, not quantities with a unit.
UNITLESS = {"Chat", "Protocol", "URL", "HTTP", "Status", "Retries", "Resumed", "Tokens"}
UNIT = re.compile(r"\((ms|B|% of bytes)\)$|^(B/token|tok/s)$")


def test_every_figure_column_names_its_unit_and_has_a_tooltip() -> None:
    for name, _figure in COLUMNS:
        assert name in UNITLESS or UNIT.search(name), name
    assert "Overhead (% of bytes)" in dict(COLUMNS)
    assert [h for h in FramesModel.HEADERS if h != "Dir" and h != "Frame"] == [
        "Time (ms)",
        "Size (B)",
    ]


@pytest.mark.asyncio
async def test_the_overhead_cell_explains_itself_for_a_real_request(qtbot: QtBot) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        session.send("Explain backpressure")
        await wait_reply(session)
        window.inspectorRequested.emit()
        dock = window.findChild(InspectorDock)
        assert isinstance(dock, InspectorDock)
        dock.refresh()
        model = dock.requests
        assert model.rowCount() == 1
        shown_names = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(COLUMNS))]
        assert "Overhead\n(% of bytes)" in shown_names  # the unit on its own line
        names = [name.replace("\n", " ") for name in shown_names]
        tips = [
            model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
            for c in range(len(COLUMNS))
        ]
        assert all(tips), dict(zip(names, tips, strict=True))
        col = names.index("Overhead (% of bytes)")
        assert "not the reply's text" in tips[col]
        cell = model.index(0, col)
        shown = model.data(cell)
        stats = model.stats(0)
        assert shown == f"{stats.overhead * 100:.1f} %"
        tip = model.data(cell, Qt.ItemDataRole.ToolTipRole)
        assert f"{stats.bytes_received:,} B received" in tip
        assert f"{stats.content_bytes:,} B were the reply's own text" in tip
        rate = model.data(model.index(0, names.index("tok/s")))
        assert rate and float(rate) > 0


def test_a_wire_frame_s_tooltip_shows_its_bytes_as_they_are(tmp_path: Path) -> None:
    """A server's frame naming a local image in HTML shows as text, not as the picture."""
    from plain_checks import hostile, red_png, shown_text, tooltip_red_pixels

    from streamdesk.ui.inspector.export import FrameRow

    frame = "data: " + hostile(red_png(tmp_path))
    model = FramesModel()
    model.rows = [FrameRow(1.0, "in", len(frame), frame)]
    tip = model.data(model.index(0, 3), Qt.ItemDataRole.ToolTipRole)
    assert shown_text(tip) == frame and tooltip_red_pixels(tip) == 0
