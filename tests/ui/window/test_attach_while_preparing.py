"""A prompt waiting for its images: the box stays editable meanwhile, and nothing typed there is
lost when the prompt comes back (a refusal, an unexpected error, a chat that began another
reply): the box then holds the prompt, then what was typed since. An unexpected error is logged
and said, the images that caused it are dropped or marked, and the next Enter works."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot
from tests.ui.session.test_stored_images_window import openai_and_claude, use_claude
from tests.ui.window.test_attach_off_thread import dropped, large_photo, screenshot
from ui_helpers import SLOW, open_window, until_signal, wait_reply

from streamdesk.core.attachments import Attachment, AttachmentRefused, ImageLimits
from streamdesk.ui.image_scaler import QtImageScaler
from streamdesk.ui.window import attachment_tray
from streamdesk.ui.window.main_window import MainWindow
from streamdesk.ui.window.prompt_box import PromptBox


class HeldScaler(QtImageScaler):
    """The window's scaler, which starts once `gate` opens (`entered` once it was asked)."""

    entered: ClassVar[threading.Event] = threading.Event()
    gate: ClassVar[threading.Event] = threading.Event()
    error: ClassVar[Exception | None] = None  # raised instead of scaling

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        self.entered.set()
        assert self.gate.wait(10)
        if self.error is not None:
            raise self.error
        return super().scale(image, limits)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[HeldScaler]]:
    monkeypatch.setattr(HeldScaler, "entered", threading.Event())
    monkeypatch.setattr(HeldScaler, "gate", threading.Event())
    monkeypatch.setattr(attachment_tray, "QtImageScaler", HeldScaler)
    yield HeldScaler
    HeldScaler.gate.set()


async def text_becomes(box: PromptBox, wanted: Callable[[str], bool], limit: float = 10.0) -> str:
    """The box's text once `wanted(text)` holds (waiting on its changes)."""
    await until_signal(box.textChanged, lambda: wanted(box.toPlainText()), limit)
    return box.toPlainText()


def enter_then_type(qtbot: QtBot, window: MainWindow, prompt: str, meanwhile: str) -> None:
    """Enter `prompt` (it waits for its images), then type `meanwhile` in the box."""
    box, session = window.prompt, window.current_session()
    qtbot.keyClicks(box, prompt)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert session.task is None and box.toPlainText() == "", "the prompt waits for its images"
    assert window.statusBar().currentMessage() == "Preparing the images…"
    qtbot.keyClicks(box, meanwhile)


@pytest.mark.asyncio
async def test_a_refusal_puts_the_prompt_back_above_what_was_typed_since(
    qtbot: QtBot, tmp_path: Path, held: type[HeldScaler], monkeypatch: pytest.MonkeyPatch
) -> None:
    said = "photo.jpg cannot be made small enough to send."
    monkeypatch.setattr(held, "error", AttachmentRefused(said))
    async with openai_and_claude(qtbot) as (window, server):
        await use_claude(window)
        box, banner = window.prompt, window.settings_ui.banner
        before = len(server.requests)
        box.insertFromMimeData(dropped(large_photo(tmp_path)))
        assert await asyncio.to_thread(held.entered.wait, 10)
        enter_then_type(qtbot, window, "What is it?", "And the colour?")
        held.gate.set()
        text = await text_becomes(box, lambda t: "What is it?" in t)
        assert text == "What is it?\n\nAnd the colour?"
        assert box.textCursor().position() == len(text), "the cursor stays where it was"
        assert banner.label.text() == said
        assert window.statusBar().currentMessage() == ""
        assert window.current_session().task is None and len(server.requests) == before


@pytest.mark.asyncio
async def test_a_chat_that_began_another_reply_meanwhile_keeps_the_draft_too(
    qtbot: QtBot, tmp_path: Path, held: type[HeldScaler]
) -> None:
    async with open_window(qtbot, **SLOW) as window:  # the other reply is still streaming
        box, session = window.prompt, window.current_session()
        box.insertFromMimeData(dropped(large_photo(tmp_path)))
        await asyncio.to_thread(held.entered.wait, 10)
        enter_then_type(qtbot, window, "What is it?", "Draft")
        assert session.send("Something else") is not None
        held.gate.set()
        assert await text_becomes(box, lambda t: "What is it?" in t) == "What is it?\n\nDraft"
        assert "began another reply" in window.statusBar().currentMessage()
        session.stop()
        turn = await wait_reply(session)
        assert turn.prompt == "Something else" and len(session.turns) == 1


@pytest.mark.asyncio
async def test_a_scaler_error_is_logged_said_for_its_image_and_the_next_enter_works(
    qtbot: QtBot,
    tmp_path: Path,
    held: type[HeldScaler],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(held, "error", MemoryError("no room to decode"))
    async with openai_and_claude(qtbot) as (window, server):
        await use_claude(window)
        box, banner, session = window.prompt, window.settings_ui.banner, window.current_session()
        tray = window.composer.attachments
        assert tray is not None
        box.insertFromMimeData(dropped(large_photo(tmp_path)))
        await asyncio.to_thread(held.entered.wait, 10)
        with caplog.at_level(logging.ERROR):
            enter_then_type(qtbot, window, "What is it?", "More")
            held.gate.set()
            assert await text_becomes(box, lambda t: "What is it?" in t) == "What is it?\n\nMore"
        said = (
            "photo.jpg could not be prepared for sending (MemoryError: no room to decode); "
            "remove it to send the prompt."
        )
        assert banner.label.text() == said
        assert window.statusBar().currentMessage() == ""
        assert [r.getMessage() for r in caplog.records] == ["photo.jpg could not be scaled"]
        held.entered.clear()
        banner.hide()
        qtbot.keyClick(box, Qt.Key.Key_Return)  # said again at once: not scaled again
        assert banner.isVisible() and banner.label.text() == said
        assert box.toPlainText() == "What is it?\n\nMore" and not held.entered.is_set()
        tray.remove(0)
        before = len(server.requests)
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert session.task is not None and box.toPlainText() == ""
        turn = await wait_reply(session)
        assert turn.prompt == "What is it?\n\nMore" and turn.attachments == ()
        assert len(server.requests) == before + 1


def pasted(image: QImage) -> QMimeData:
    data = QMimeData()
    data.setImageData(image)
    return data


@pytest.mark.asyncio
async def test_a_paste_that_fails_to_encode_is_dropped_and_said_and_the_next_enter_works(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()

    def broken(_image: QImage, _name: str) -> Attachment | str:
        assert gate.wait(10)
        raise RuntimeError("the encoder broke")

    monkeypatch.setattr(attachment_tray, "png_or_refusal", broken)
    try:
        async with open_window(qtbot) as window:
            box, banner, session = (
                window.prompt,
                window.settings_ui.banner,
                window.current_session(),
            )
            tray = window.composer.attachments
            assert tray is not None
            box.insertFromMimeData(pasted(screenshot(1600, 1200)))  # a worker encodes it
            with caplog.at_level(logging.ERROR):
                enter_then_type(qtbot, window, "What is it?", "More")
                gate.set()
                text = await text_becomes(box, lambda t: "What is it?" in t)
            assert text == "What is it?\n\nMore"
            assert banner.label.text() == (
                "pasted image.png could not be prepared for sending "
                "(RuntimeError: the encoder broke) and was removed."
            )
            assert [r.getMessage() for r in caplog.records] == [
                "a pasted image could not be encoded"
            ]
            assert window.statusBar().currentMessage() == "" and not tray.has_files
            qtbot.keyClick(box, Qt.Key.Key_Return)
            assert session.task is not None
            turn = await wait_reply(session)
            assert turn.prompt == "What is it?\n\nMore" and turn.attachments == ()
    finally:
        gate.set()
