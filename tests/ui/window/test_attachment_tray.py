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
from plain_checks import assert_plain_label, assert_plain_tooltip, red_png
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
from streamdesk.ui.window.attachment_chip import AttachmentChip, ChipName, elide_name
from streamdesk.ui.window.attachment_tray import MAX_ITEMS, AttachmentTray

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


def bad_files(tmp_path: Path) -> list[str]:
    """Two files that attach and four that cannot: a binary blob, Latin-1 text, a name that
    is not there and a directory."""
    (tmp_path / "cat.png").write_bytes(png(64, 64))
    (tmp_path / "notes.md").write_text("# notes", encoding="utf-8")
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)))
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "folder").mkdir()
    names = ["cat.png", "blob.bin", "notes.md", "latin1.txt", "missing.txt", "folder"]
    return [str(tmp_path / name) for name in names]


def test_the_files_one_drop_refuses_are_said_together(qtbot: QtBot, tmp_path: Path) -> None:
    widget = tray(qtbot)
    with qtbot.waitSignal(widget.refused) as said:
        assert widget.add_paths(bad_files(tmp_path)) == 2
    assert said.args == [
        "4 files were not attached: blob.bin (not UTF-8 text or an image), "
        "latin1.txt (not UTF-8 text or an image), missing.txt (not found) and 1 more."
    ]
    text, details = widget.notice()
    assert text == said.args[0]
    assert details.splitlines() == [
        "blob.bin is neither an image (PNG, JPEG, GIF, WebP) nor a UTF-8 text file; "
        "only those can be attached.",
        "latin1.txt is neither an image (PNG, JPEG, GIF, WebP) nor a UTF-8 text file; "
        "only those can be attached.",
        f"{tmp_path / 'missing.txt'} cannot be read: No such file or directory.",
        f"{tmp_path / 'folder'} cannot be read: Is a directory.",
    ]
    assert [item.name for item in widget.items] == ["cat.png", "notes.md"]
    with qtbot.waitSignal(widget.withdrawn):
        widget.clear()  # the prompt was sent
    assert widget.notice() == ("", "")


def test_a_gif_header_then_text_is_refused_when_attached(qtbot: QtBot, tmp_path: Path) -> None:
    """Its header says 28192×29807 pixels and there are none: Qt's reader cannot give its
    size, so it is refused at once, not on Enter."""
    fake = tmp_path / "fake.gif"
    fake.write_bytes(b"GIF89a not really")
    widget = tray(qtbot)
    with qtbot.waitSignal(widget.refused) as said:
        assert not widget.add_path(str(fake))
    assert said.args == ["fake.gif could not be decoded as a GIF image."]
    assert widget.items == () and widget.isHidden()


def chips(widget: AttachmentTray) -> list[AttachmentChip]:
    return widget.findChildren(AttachmentChip, "attachmentChip")


@pytest.mark.asyncio
async def test_a_large_image_whose_pixels_cannot_be_decoded_is_marked_and_said(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Its header reads (3000×2000) and its pixels do not: the thumbnail being made finds it,
    its chip is marked with the reason and Enter refuses it, whatever the API; removed, it is
    said no more."""
    cut = tmp_path / "cut.png"
    cut.write_bytes(png(3000, 2000)[:100])
    widget = tray(qtbot)
    said: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    widget.refused.connect(lambda text: said.done() or said.set_result(text))
    assert widget.add_path(str(cut))
    reason = "cut.png could not be decoded as a PNG image."
    assert await asyncio.wait_for(said, 10.0) == reason
    (chip,) = chips(widget)
    assert chip.refusal == reason and chip.warning.isVisibleTo(chip)
    assert reason in chip.toolTip()
    for target in (GPT, CLAUDE):
        with pytest.raises(AttachmentRefused, match=re.escape(reason)):
            widget.outgoing_now("Look", target)
    withdrawn: list[bool] = []
    widget.withdrawn.connect(lambda: withdrawn.append(True))
    widget.remove(0)
    assert withdrawn == [True] and widget.notice() == ("", "")
    await zero_timers_fired()  # the chip is deleted (later, on the loop) before the tray is


class FailsOnce:
    """Fails unexpectedly on its first copy; makes any later one."""

    calls = 0

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        FailsOnce.calls += 1
        if FailsOnce.calls == 1:
            raise MemoryError("no room to decode")
        return dataclasses.replace(image, width=limits.long_edge, height=392)


@pytest.mark.asyncio
async def test_an_image_refused_on_enter_is_marked_and_tried_again_once_removed_and_added(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attachment_tray, "QtImageScaler", FailsOnce)
    monkeypatch.setattr(FailsOnce, "calls", 0)
    widget = tray(qtbot)
    (path,) = wide_pngs(tmp_path, 1)
    widget.add_path(path)
    said = "wide0.png could not be prepared for sending (MemoryError: no room to decode)"
    with pytest.raises(AttachmentRefused, match=re.escape(said)):
        await asyncio.wait_for(widget.outgoing("Look", CLAUDE), 10.0)
    (chip,) = chips(widget)
    assert said in chip.refusal and chip.warning.isVisibleTo(chip)
    assert widget.said(widget.notice()[0])
    with qtbot.waitSignal(widget.withdrawn):
        widget.remove(0)
    await zero_timers_fired()  # its chip deleted
    widget.add_path(path)
    (chip,) = chips(widget)
    assert chip.refusal == "" and not chip.warning.isVisibleTo(chip)
    _text, images = await asyncio.wait_for(widget.outgoing("Look", CLAUDE), 10.0)
    assert [(i.width, i.height) for i in images] == [(1568, 392)]
    await widget.aclose()


def test_a_long_name_loses_its_middle_and_keeps_its_extension(qtbot: QtBot, tmp_path: Path) -> None:
    """In a narrow row the long name gives up its room first, "…" where its middle was; a
    short one stays whole. The whole name is in the chip's tooltip."""
    widget = tray(qtbot)
    long_name = "a-very-long-name-for-a-holiday-photo.jpg"
    for name in ("small.jpg", long_name):
        (tmp_path / name).write_text("not an image, a text file", encoding="utf-8")
        assert widget.add_path(str(tmp_path / name))
    widget.resize(260, 60)
    widget.show()
    qtbot.waitExposed(widget)
    short, long = widget.findChildren(ChipName, "attachmentName")
    qtbot.waitUntil(lambda: "…" in long.text())
    assert short.text() == "small.jpg" and long.text().endswith("to.jpg"), long.text()
    assert long.full == long_name and long_name in chips(widget)[1].toolTip()
    metrics = short.fontMetrics()
    assert elide_name("small.jpg", metrics, 1000) == "small.jpg"
    cut = elide_name("very-long-name.jpg", metrics, metrics.horizontalAdvance("very-long-nam.jpg"))
    assert re.fullmatch(r"very-long[-a-z]*…me\.jpg", cut), cut
    assert elide_name("small.jpg", metrics, 0) == "…ll.jpg"


def test_a_name_that_looks_like_html_is_shown_as_it_is(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file's name is anyone's words: `<img src=…>` in it is text, never a picture that
    makes Qt load the file it names (here a red PNG beside it, found from the working folder)."""
    monkeypatch.chdir(tmp_path)
    name = f'<img src="{red_png(tmp_path).name}"> and <b>x.txt'  # no "/": a file's name
    (tmp_path / name).write_text("some text", encoding="utf-8")
    widget = tray(qtbot)
    assert widget.add_path(str(tmp_path / name))
    (label,) = widget.findChildren(ChipName, "attachmentName")
    assert label.full == name
    assert_plain_label(label)
    (chip,) = chips(widget)
    (cross,) = widget.findChildren(QToolButton, "attachmentRemove")
    assert_plain_tooltip(chip.toolTip(), f"{name} · inlined in the prompt as a code block")
    assert_plain_tooltip(cross.toolTip(), f"Remove {name}")


def test_chips_wrap_onto_more_lines_in_a_narrow_row(qtbot: QtBot, tmp_path: Path) -> None:
    """Ten files in a narrow prompt box: each chip whole at its own width, on as many lines
    as they need, none squeezed below its smallest size nor past the row's edge."""
    widget = tray(qtbot)
    for n in range(MAX_ITEMS):
        path = tmp_path / f"notes-{n}.md"
        path.write_text(f"note {n}", encoding="utf-8")
        assert widget.add_path(str(path))
    widget.show()
    shown = chips(widget)
    qtbot.waitUntil(lambda: all(chip.isVisible() for chip in shown))  # shown once added
    widget.resize(300, widget.heightForWidth(300))  # as a layout sizes it
    qtbot.waitUntil(lambda: len({chip.y() for chip in shown}) > 1)  # on more than one line
    for chip in shown:
        assert chip.width() >= chip.minimumSizeHint().width()
        assert chip.geometry().right() < widget.width()
        assert chip.geometry().bottom() < widget.height()
    assert [label.text() for label in widget.findChildren(ChipName, "attachmentName")] == [
        f"notes-{n}.md" for n in range(MAX_ITEMS)
    ]
