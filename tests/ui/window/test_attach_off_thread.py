"""Large images attached in the window are decoded and scaled on worker threads: a photo's chip
shows at once with a plain tile, its thumbnail made off the window's thread; a photo too large
for the API is scaled by a worker as soon as it is attached, so Enter sends it at once (or, pressed
before, once the worker is done), the very copy a scaler called at once makes; a prompt's photos
in the transcript show as tiles their thumbnails then replace."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from tests.ui.session.test_stored_images_window import (
    ThreadRecordingScaler,
    image_blocks,
    openai_and_claude,
    use_claude,
)
from ui_helpers import open_window, until, wait_reply

from streamdesk.core.attachments import (
    Attachment,
    ImageLimits,
    image_attachment,
    limits_for,
)
from streamdesk.core.chat import ReplyStatus
from streamdesk.mock import MockServer
from streamdesk.ui.image_scaler import QtImageScaler, encode
from streamdesk.ui.transcript import thumbnails as thumbnails_module
from streamdesk.ui.transcript.thumbnails import (
    PLACEHOLDER,
    SCHEME,
    THUMB_EDGE,
    thumbnails,
)
from streamdesk.ui.transcript.view import TranscriptView
from streamdesk.ui.window import attachment_tray
from streamdesk.ui.window.attachment_tray import CHIP_THUMB, AttachmentTray
from streamdesk.ui.window.main_window import MainWindow


def photo_bytes(width: int, height: int, shade: int = 0) -> bytes:
    """A JPEG with a gradient and lines (real work for a decoder), `shade` making it unique."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    gradient = QLinearGradient(0, 0, width, height)
    gradient.setColorAt(0, QColor(30, 40 + shade, 200))
    gradient.setColorAt(1, QColor(250, 180, 20))
    painter.fillRect(image.rect(), gradient)
    for y in range(0, height, 16):
        painter.drawLine(0, y, width, (y * 3) % height)
    painter.end()
    return encode(image, "JPEG", 90)


def record_threads(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[Thread]:
    """The threads `module.name` (a function) runs on from now on."""
    threads: list[Thread] = []
    function = getattr(module, name)

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return function(*args)

    monkeypatch.setattr(module, name, recording)
    return threads


@pytest.fixture
def decode_threads(monkeypatch: pytest.MonkeyPatch) -> list[Thread]:
    """The threads the thumbnails were made on."""
    return record_threads(monkeypatch, thumbnails_module, "thumbnail")


@pytest.fixture
def encode_threads(monkeypatch: pytest.MonkeyPatch) -> list[Thread]:
    """The threads pasted images were encoded on."""
    return record_threads(monkeypatch, attachment_tray, "png_or_refusal")


def is_tile(image: QImage) -> bool:
    """The see-through tile, not a photo's (opaque) thumbnail."""
    return image.pixelColor(0, 0).alpha() == PLACEHOLDER.alpha()


def test_a_photos_chip_shows_at_once_and_its_thumbnail_comes_from_a_worker(
    qtbot: QtBot, tmp_path: Path, decode_threads: list[Thread]
) -> None:
    tray = AttachmentTray()
    qtbot.addWidget(tray)
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo_bytes(1600, 1200))
    digest = image_attachment("photo.jpg", path.read_bytes()).digest
    its_own = lambda made, _edge: made == digest  # noqa: E731 (not an earlier test's)
    with qtbot.waitSignal(thumbnails().made, timeout=10_000, check_params_cb=its_own):
        assert tray.add_path(str(path))
        (picture,) = [label for label in tray.findChildren(QLabel) if not label.objectName()]
        assert is_tile(picture.pixmap().toImage()), "a tile until the thumbnail is made"
        assert (picture.pixmap().width(), picture.pixmap().height()) == (CHIP_THUMB, 30)
    assert decode_threads and threading.main_thread() not in decode_threads
    thumb = picture.pixmap().toImage()
    assert (thumb.width(), thumb.height()) == (CHIP_THUMB, 30) and not is_tile(thumb)


def shown_image(view: TranscriptView, name: str) -> QImage:
    found = view.document().resource(3, QUrl(name))  # QTextDocument.ImageResource
    assert isinstance(found, QImage)
    return found


def test_a_prompts_photos_show_as_tiles_their_thumbnails_replace(
    qtbot: QtBot, decode_threads: list[Thread]
) -> None:
    view = TranscriptView()
    qtbot.addWidget(view)
    photos = [image_attachment(f"p{i}.jpg", photo_bytes(1200, 900, i)) for i in range(3)]
    names = [SCHEME + p.digest for p in photos]
    made: list[str] = []
    thumbnails().made.connect(lambda digest, _edge: made.append(digest))
    view.add_user_message("Look", ("user", 1), photos)
    assert all(is_tile(shown_image(view, name)) for name in names)
    assert decode_threads == [] or threading.main_thread() not in decode_threads
    qtbot.waitUntil(lambda: {SCHEME + d for d in made} >= set(names), timeout=10_000)
    for name in names:
        thumb = shown_image(view, name)
        assert (thumb.width(), thumb.height()) == (THUMB_EDGE, 90) and not is_tile(thumb)
    assert len(decode_threads) == 3 and threading.main_thread() not in decode_threads
    assert view.document().refused == []


def damaged_jpeg(width: int, height: int) -> bytes:
    """A JPEG whose header says `width`×`height` and whose pixels are lost."""
    return photo_bytes(width, height)[:600] + bytes(4096)


def is_crossed_out(image: QImage) -> bool:
    """The tile of an image that cannot be decoded: a cross through its middle."""
    middle = image.pixelColor(image.width() // 2, image.height() // 2)
    return not image.isNull() and middle.alpha() > PLACEHOLDER.alpha()


def test_an_image_that_cannot_be_decoded_shows_crossed_out_small_or_large(
    qtbot: QtBot,
) -> None:
    view = TranscriptView()
    qtbot.addWidget(view)
    small = image_attachment("small.jpg", damaged_jpeg(200, 150))  # decoded at once
    large = image_attachment("large.jpg", damaged_jpeg(3000, 2000))  # on the worker
    view.add_user_message("Look", ("user", 1), [small, large])
    shown_small = shown_image(view, SCHEME + small.digest)
    assert (shown_small.width(), shown_small.height()) == (120, 90)
    assert is_crossed_out(shown_small)
    assert is_tile(shown_image(view, SCHEME + large.digest)), "a tile while the worker tries"
    qtbot.waitUntil(
        lambda: is_crossed_out(shown_image(view, SCHEME + large.digest)), timeout=10_000
    )
    shown_large = shown_image(view, SCHEME + large.digest)
    assert (shown_large.width(), shown_large.height()) == (THUMB_EDGE, 80)
    assert "small.jpg (200×150 JPEG)  large.jpg (3000×2000 JPEG)" in view.toPlainText()


def dropped(path: Path) -> QMimeData:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    return data


@pytest.fixture
def scaler_threads(monkeypatch: pytest.MonkeyPatch) -> list[Thread]:
    """The threads the tray's images were scaled on."""
    threads: list[Thread] = []
    monkeypatch.setattr(ThreadRecordingScaler, "threads", threads)
    monkeypatch.setattr(attachment_tray, "QtImageScaler", ThreadRecordingScaler)
    return threads


def large_photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo_bytes(2400, 1800))
    return path


def scaled_once(turn: Any, threads: list[Thread], photo: bytes, body: bytes) -> Attachment:
    """The copy of `photo` sent in `body` (the reply to it complete): the one a scaler makes
    at once, made once, on a worker thread."""
    assert turn.reply.status is ReplyStatus.COMPLETE, turn.reply.failure
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    expected = QtImageScaler().scale(image_attachment("photo.jpg", photo), limits_for("anthropic"))
    assert image_blocks(body) == [expected.data]
    return expected


@pytest.mark.asyncio
async def test_enter_with_a_photo_sends_the_copy_a_worker_scaled(
    qtbot: QtBot, tmp_path: Path, scaler_threads: list[Thread]
) -> None:
    path = large_photo(tmp_path)
    async with openai_and_claude(qtbot) as (window, server):
        await use_claude(window)
        session, box = window.current_session(), window.prompt
        box.insertFromMimeData(dropped(path))
        qtbot.keyClicks(box, "What is it?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert scaler_threads == [], "nothing is scaled while Enter is handled"
        assert session.task is None, "the prompt waits for its image"
        qtbot.keyClick(box, Qt.Key.Key_Return)  # held: one prompt at a time
        sent: Callable[[], bool] = lambda: session.task is not None  # noqa: E731
        await until(sent, 10.0)
        turn = await wait_reply(session)
        body = server.requests[-1].body
        expected = scaled_once(turn, scaler_threads, path.read_bytes(), body)
        assert turn.attachments == (expected,) and len(session.turns) == 1
        tray = window.composer.attachments
        assert tray is not None and tray.items == ()


@pytest.mark.asyncio
async def test_a_photo_is_scaled_while_the_prompt_is_written_and_enter_sends_at_once(
    qtbot: QtBot, tmp_path: Path, scaler_threads: list[Thread]
) -> None:
    path = large_photo(tmp_path)
    async with openai_and_claude(qtbot) as (window, server):
        await use_claude(window)
        window.prompt.insertFromMimeData(dropped(path))
        await until(lambda: scaler_threads != [], 10.0)  # a worker scales it for Claude at once
        await sent_at_enter_once_ready(qtbot, window, server, scaler_threads, path.read_bytes())


async def sent_at_enter_once_ready(
    qtbot: QtBot, window: MainWindow, server: MockServer, threads: list[Thread], photo: bytes
) -> None:
    """Once the copy of the attached `photo` for where the chat goes is made, Enter sends it at
    once: the copy a scaler makes at once, made once, on a worker thread."""
    tray = window.composer.attachments
    assert tray is not None
    target = window.switcher.target(take_scenario=False)
    await until(lambda: tray.outgoing_now("", target) is not None, 10.0)
    session, box = window.current_session(), window.prompt
    qtbot.keyClicks(box, "What is it?")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert session.task is not None, "sent at Enter: the copy was made meanwhile"
    turn = await wait_reply(session)
    scaled_once(turn, threads, photo, server.requests[-1].body)


@pytest.mark.asyncio
async def test_a_photo_is_scaled_when_the_provider_changes_and_enter_sends_at_once(
    qtbot: QtBot, tmp_path: Path, scaler_threads: list[Thread]
) -> None:
    """A photo OpenAI takes as it is needs a copy for Anthropic: switching provider (which the
    model box does not signal) makes it while the prompt is written."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo_bytes(2000, 1500))  # within OpenAI's 2048 px, over Claude's 1568
    async with openai_and_claude(qtbot) as (window, server):
        window.prompt.insertFromMimeData(dropped(path))
        tray = window.composer.attachments
        openai = window.switcher.target(take_scenario=False)
        assert tray is not None and tray.outgoing_now("", openai) is not None
        assert scaler_threads == [], "OpenAI takes it as it is"
        await use_claude(window)
        await sent_at_enter_once_ready(qtbot, window, server, scaler_threads, path.read_bytes())


class HeldScaler(ThreadRecordingScaler):
    """Scales once `gate` opens: a scaling still running when the window closes."""

    gate = threading.Event()

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        self.threads.append(threading.current_thread())
        assert self.gate.wait(10)
        return super().scale(image, limits)


def scaling_tasks() -> list[asyncio.Task[Any]]:
    """The attachment tray's tasks still running on the loop."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and task.get_coro().__qualname__.startswith("AttachmentTray.")
    ]


@pytest.mark.asyncio
async def test_closing_the_window_stops_the_scaling_of_its_photos(
    qtbot: QtBot, tmp_path: Path, scaler_threads: list[Thread], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HeldScaler, "gate", threading.Event())
    monkeypatch.setattr(attachment_tray, "QtImageScaler", HeldScaler)
    try:
        async with openai_and_claude(qtbot) as (window, _server):
            await use_claude(window)
            window.prompt.insertFromMimeData(dropped(large_photo(tmp_path)))
            await until(lambda: scaler_threads != [], 10.0)
            assert len(scaling_tasks()) == 1
        assert scaling_tasks() == [], "the window's shutdown ended it"
    finally:
        HeldScaler.gate.set()


def screenshot(width: int, height: int) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkCyan)
    return image


def test_a_large_paste_is_encoded_by_a_worker_its_chip_shown_at_once(
    qtbot: QtBot, encode_threads: list[Thread]
) -> None:
    tray = AttachmentTray()
    qtbot.addWidget(tray)
    with qtbot.waitSignals([tray.changed, tray.changed], timeout=10_000):
        assert tray.add_image(screenshot(1600, 1200))
        assert tray.items == () and tray.has_files, "a chip at once, the PNG still being made"
        assert [label.text() for label in tray.findChildren(QLabel, "attachmentName")] == [
            "pasted image.png"
        ]
    (item,) = tray.items
    assert (item.name, getattr(item, "label", "")) == ("pasted image.png", "1600×1200 PNG")
    assert encode_threads and threading.main_thread() not in encode_threads
    assert getattr(item, "data", b"") == encode(screenshot(1600, 1200), "PNG")


@pytest.mark.asyncio
async def test_enter_right_after_a_large_paste_sends_it(
    qtbot: QtBot, encode_threads: list[Thread]
) -> None:
    async with open_window(qtbot) as window:
        session, box = window.current_session(), window.prompt
        data = QMimeData()
        data.setImageData(screenshot(1600, 1200))
        box.insertFromMimeData(data)  # what Ctrl+V of a screenshot does
        qtbot.keyClicks(box, "What is it?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        assert session.task is None, "the prompt waits for the PNG"
        await until(lambda: session.task is not None, 10.0)
        turn = await wait_reply(session)
        assert turn.reply.text.startswith("I received 1 image, 1600×1200 PNG.")
        assert turn.attachments[0].data == encode(screenshot(1600, 1200), "PNG")
        assert encode_threads and threading.main_thread() not in encode_threads


@pytest.mark.asyncio
async def test_a_debug_scenario_goes_with_a_prompt_that_has_an_image(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Fitting the images for the target must not take the one-shot scenario first."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo_bytes(320, 240))
    async with open_window(qtbot) as window:
        session, box = window.current_session(), window.prompt
        window.set_next_scenario("http-404")
        box.insertFromMimeData(dropped(path))
        qtbot.keyClicks(box, "What is it?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        await until(lambda: session.task is not None, 10.0)
        turn = await wait_reply(session)
        failure = turn.reply.failure
        assert failure is not None and failure.status == 404, failure
        assert turn.attachments and turn.attachments[0].name == "photo.jpg"


def damaged_photo(tmp_path: Path) -> Path:
    """A JPEG whose header says 3000×2000 and whose pixels are lost: it attaches (the header is
    read) but neither a thumbnail nor a scaled copy can be made of it."""
    path = tmp_path / "damaged.jpg"
    path.write_bytes(damaged_jpeg(3000, 2000))
    return path


@pytest.mark.asyncio
async def test_a_photo_that_cannot_be_decoded_is_refused_when_dropped(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Its header names a JPEG that Qt's reader cannot size: refused at once, its reason in
    the banner, and Enter sends the prompt alone."""
    path = damaged_photo(tmp_path)
    async with openai_and_claude(qtbot) as (window, server):
        await use_claude(window)
        session, box, banner = window.current_session(), window.prompt, window.settings_ui.banner
        before = len(server.requests)
        box.insertFromMimeData(dropped(path))
        tray = window.composer.attachments
        assert tray is not None and tray.items == ()
        assert banner.isVisible()
        assert banner.label.text() == "damaged.jpg could not be decoded as a JPEG image."
        qtbot.keyClicks(box, "What is it?")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        turn = await wait_reply(session)
        assert turn.attachments == () and len(server.requests) == before + 1
        assert not banner.isVisible(), "the prompt sent, the refusal is said no more"
