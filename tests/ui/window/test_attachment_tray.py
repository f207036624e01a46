"""The attachment tray: chips for picked, dropped and pasted files, each checked at once, removed
with their × button, and what a prompt sends with them (text inlined, images for the target)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import threading
from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QToolButton
from pytestqt.qtbot import QtBot
from tests.core.attachment_files import png
from tests.ui.window.test_attach_off_thread import scaling_tasks, screenshot
from ui_helpers import until

from streamdesk.core.attachments import Attachment, AttachmentRefused, ImageLimits, limits_for
from streamdesk.core.chat import Target
from streamdesk.core.providers import builtin
from streamdesk.ui.window import attachment_tray
from streamdesk.ui.window.attachment_tray import AttachmentTray

CLAUDE = Target(builtin("anthropic"), "claude-sonnet-4-5")
GPT = Target(builtin("openai"), "gpt-4.1")


def tray(qtbot: QtBot) -> AttachmentTray:
    widget = AttachmentTray()
    qtbot.addWidget(widget)
    return widget


def test_files_become_chips_that_the_cross_removes(qtbot: QtBot, tmp_path: Path) -> None:
    widget = tray(qtbot)
    assert widget.isHidden()  # while there is nothing to send
    image, notes = tmp_path / "cat.png", tmp_path / "notes.txt"
    image.write_bytes(png(64, 64))
    notes.write_text("remember the milk", encoding="utf-8")
    assert widget.add_path(str(image)) and widget.add_path(str(notes))
    assert not widget.isHidden()
    names = [label.text() for label in widget.findChildren(QLabel, "attachmentName")]
    assert names == ["cat.png", "notes.txt"]
    crosses = widget.findChildren(QToolButton, "attachmentRemove")
    with qtbot.waitSignal(widget.changed):
        qtbot.mouseClick(crosses[0], Qt.MouseButton.LeftButton)
    assert [item.name for item in widget.items] == ["notes.txt"]


def test_a_50_mb_file_is_refused_with_the_size_message(qtbot: QtBot, tmp_path: Path) -> None:
    widget = tray(qtbot)
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.write(png(8, 8))
        f.truncate(50 * 1024 * 1024)
    with qtbot.waitSignal(widget.refused) as said:
        assert not widget.add_path(str(huge))
    assert said.args == [
        "huge.png is 50.0 MB; files up to 20.0 MB can be attached. "
        "Make it smaller or attach a part of it."
    ]
    assert widget.items == () and widget.isHidden()


def test_a_pasted_image_is_a_png_chip(qtbot: QtBot) -> None:
    widget = tray(qtbot)
    pasted = QImage(30, 20, QImage.Format.Format_RGB32)
    pasted.fill(Qt.GlobalColor.darkCyan)
    assert widget.add_image(pasted)
    (item,) = widget.items
    assert (item.name, getattr(item, "label", "")) == ("pasted image.png", "30×20 PNG")


@pytest.mark.asyncio
async def test_what_a_prompt_sends_with_the_files(qtbot: QtBot, tmp_path: Path) -> None:
    widget = tray(qtbot)
    wide, code = tmp_path / "wide.png", tmp_path / "demo.py"
    wide.write_bytes(png(4000, 1000))
    code.write_text("print(1)\n", encoding="utf-8")
    widget.add_path(str(wide))
    widget.add_path(str(code))
    claude = Target(builtin("anthropic"), "claude-sonnet-4-5")
    assert widget.outgoing_now("Look", claude) is None, "the image must be scaled first"
    text, images = await widget.outgoing("Look", claude)
    assert text == "Look\n\ndemo.py\n```python\nprint(1)\n```"
    assert [(i.width, i.height, i.mime) for i in images] == [(1568, 392, "image/png")]
    assert widget.outgoing_now("Look", claude) == (text, images), "the copy is kept"
    with pytest.raises(AttachmentRefused, match="deepseek-chat cannot read images"):
        widget.outgoing_now("Look", Target(builtin("deepseek"), "deepseek-chat"))
    assert len(widget.items) == 2  # a refusal keeps the files for another model


def wide_pngs(tmp_path: Path, count: int) -> list[str]:
    """Paths of distinct PNGs too wide for Anthropic (each needs a scaled copy)."""
    paths = []
    for n in range(count):
        path = tmp_path / f"wide{n}.png"
        path.write_bytes(png(4000, 1000, (n, 102, 204)))
        paths.append(str(path))
    return paths


def handle_events(qtbot: QtBot) -> None:
    """Until the events and zero-delay timers started so far are handled."""
    fence = QTimer()
    fence.setSingleShot(True)
    with qtbot.waitSignal(fence.timeout):
        fence.start(0)


def test_a_drop_of_photos_is_prepared_once_and_a_clear_not_at_all(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Preparing fits every image for the target: once for a drop of many (not once per
    file), and not for the files a sent prompt clears away (one `changed` for them all)."""
    widget = tray(qtbot)
    asked: list[Target] = []
    changes: list[int] = []

    def target() -> Target:
        asked.append(CLAUDE)
        return CLAUDE

    def prepare() -> None:  # as the window does
        changes.append(len(widget.items))
        if widget.has_files:
            widget.prepare(target)

    widget.changed.connect(prepare)
    for path in wide_pngs(tmp_path, 3):
        assert widget.add_path(path)
    handle_events(qtbot)
    assert changes == [1, 2, 3] and len(asked) == 1
    widget.clear()
    handle_events(qtbot)
    assert changes == [1, 2, 3, 0] and len(asked) == 1
    assert widget.items == () and widget.isHidden()


class GatedScaler:
    """Scales to a fixed small copy once `gate` opens, counting its calls."""

    calls: ClassVar[list[str]] = []
    entered = threading.Event()
    gate = threading.Event()

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        self.calls.append(image.name)
        self.entered.set()
        assert self.gate.wait(10)
        return dataclasses.replace(image, width=limits.long_edge, height=392)


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> type[GatedScaler]:
    monkeypatch.setattr(GatedScaler, "calls", [])
    monkeypatch.setattr(GatedScaler, "entered", threading.Event())
    monkeypatch.setattr(GatedScaler, "gate", threading.Event())
    monkeypatch.setattr(attachment_tray, "QtImageScaler", GatedScaler)
    return GatedScaler


async def zero_timers_fired() -> None:
    """Until the zero-delay timers started so far have fired (on the running qasync loop)."""
    fired = asyncio.get_running_loop().create_future()
    QTimer.singleShot(0, lambda: fired.set_result(None))
    await fired


@pytest.mark.asyncio
async def test_enter_and_prepare_share_one_scaling(
    qtbot: QtBot, tmp_path: Path, gated: type[GatedScaler]
) -> None:
    """Enter waiting on the images and a model chosen meanwhile scale each image once."""
    widget = tray(qtbot)
    (path,) = wide_pngs(tmp_path, 1)
    widget.add_path(path)
    sending = asyncio.ensure_future(widget.outgoing("Look", CLAUDE))
    try:
        await until(gated.entered.is_set, 10.0)
        widget.prepare(lambda: CLAUDE)
        await zero_timers_fired()
    finally:
        gated.gate.set()
    _text, images = await sending
    assert [(i.width, i.height) for i in images] == [(1568, 392)]
    await widget.aclose()
    assert gated.calls == ["wide0.png"]


class BrokenForClaude:
    """Fails unexpectedly on the copies for Anthropic; makes any other at once."""

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        if limits == limits_for("anthropic"):
            raise MemoryError("no room to decode")
        return dataclasses.replace(image, width=limits.long_edge, height=512)


@pytest.mark.asyncio
async def test_a_scaling_that_fails_is_logged_said_for_its_image_and_holds_up_no_other_api(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected error in the scaler is logged and kept as that image's refusal: Enter to
    Claude says it at once (not scaling again, not failing), and GPT, which needs no copy,
    sends the image as it is."""
    monkeypatch.setattr(attachment_tray, "QtImageScaler", BrokenForClaude)
    widget = tray(qtbot)
    (path,) = wide_pngs(tmp_path, 1)
    widget.add_path(path)
    with caplog.at_level(logging.ERROR, logger=attachment_tray.__name__):
        widget.prepare(lambda: CLAUDE)
        await until(lambda: caplog.records, 10.0)
        text, images = await asyncio.wait_for(widget.outgoing("Look", GPT), 10.0)
        assert (text, [i.width for i in images]) == ("Look", [2048])
        said = "wide0.png could not be prepared for sending (MemoryError: no room to decode)"
        with pytest.raises(AttachmentRefused, match=re.escape(said)):
            widget.outgoing_now("Look", CLAUDE)
        with pytest.raises(AttachmentRefused, match=re.escape(said)):
            await widget.outgoing("Look", CLAUDE)
    (record,) = caplog.records
    assert record.getMessage() == "wide0.png could not be scaled"
    assert record.exc_info is not None and isinstance(record.exc_info[1], MemoryError)
    await widget.aclose()


class HeldForClaude(GatedScaler):
    """Makes the copies for Anthropic once `gate` opens; any other at once."""

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        if limits == limits_for("anthropic"):
            return super().scale(image, limits)
        return dataclasses.replace(image, width=limits.long_edge, height=512)


@pytest.mark.asyncio
async def test_enter_waits_only_for_the_copies_its_api_needs(
    qtbot: QtBot, tmp_path: Path, gated: type[GatedScaler], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copies still being made for the provider chosen before hold up no prompt to another:
    one that fits GPT goes at once, one GPT needs a copy of waits for that copy alone."""
    monkeypatch.setattr(attachment_tray, "QtImageScaler", HeldForClaude)
    widget = tray(qtbot)
    fits_gpt = tmp_path / "fits.png"
    fits_gpt.write_bytes(png(2000, 500))
    widget.add_path(str(fits_gpt))
    widget.prepare(lambda: CLAUDE)
    try:
        await asyncio.to_thread(gated.entered.wait, 10)
        assert widget.outgoing_now("Look", CLAUDE) is None, "its copy for Claude is being made"
        ready = widget.outgoing_now("Look", GPT)
        assert ready is not None and [i.width for i in ready[1]] == [2000]
        (wide,) = wide_pngs(tmp_path, 1)
        widget.add_path(wide)
        assert widget.outgoing_now("Look", GPT) is None, "the wide one needs a copy for GPT"
        _text, images = await asyncio.wait_for(widget.outgoing("Look", GPT), 5.0)
        assert [i.width for i in images] == [2000, 2048]
        assert gated.calls == ["fits.png"], "Claude's copy still being made"
    finally:
        gated.gate.set()
    _text, images = await widget.outgoing("Look", CLAUDE)
    assert [i.width for i in images] == [1568, 1568]
    await widget.aclose()


@pytest.mark.asyncio
async def test_nothing_starts_once_the_tray_is_closed(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, gated: type[GatedScaler]
) -> None:
    """Closing waits for the paste being encoded and drops it: no chip, no `changed`, nothing
    prepared or scaled after; a paste or a prepare after the close starts nothing."""
    encode, encoded = attachment_tray.png_or_refusal, threading.Event()

    def held(image: QImage, name: str) -> Attachment | str:
        try:
            assert gated.gate.wait(10)
            return encode(image, name)
        finally:
            encoded.set()

    monkeypatch.setattr(attachment_tray, "png_or_refusal", held)
    widget = tray(qtbot)
    changes: list[int] = []

    def prepare() -> None:  # as the window does
        changes.append(len(widget.items))
        widget.prepare(lambda: CLAUDE)

    widget.changed.connect(prepare)
    assert widget.add_image(screenshot(1600, 1200))  # over Claude's 1568 px: a copy to make
    assert changes == [0]
    closing = asyncio.ensure_future(widget.aclose())
    await zero_timers_fired()
    widget.prepare(lambda: CLAUDE)
    gated.gate.set()
    await closing
    await asyncio.to_thread(encoded.wait, 10)
    await zero_timers_fired()
    await zero_timers_fired()
    assert changes == [0] and widget.items == ()
    assert not widget.add_image(screenshot(1600, 1200)), "no encoder once closed"
    await zero_timers_fired()
    assert changes == [0] and gated.calls == []
    assert scaling_tasks() == []
