"""A chat's stored image continued on another API from the window: the image is scaled on a
worker thread, never on the window's (the send call returns before any scaling), and the request
the mock receives carries the same scaled copy a scaler called at once makes, also when the
image is in earlier turns read only for the request. The compare window sends it scaled too."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter
from pytestqt.qtbot import QtBot
from ui_helpers import wait_reply

from streamdesk.core.attachments import Attachment, ImageLimits, image_attachment, limits_for
from streamdesk.core.chat import Conversation, ReplyStatus, Turn
from streamdesk.core.providers import ModelInfo
from streamdesk.core.store.settings import ProviderSettings, Settings
from streamdesk.mock import MockServer
from streamdesk.ui.compare import open_compare
from streamdesk.ui.image_scaler import QtImageScaler, encode
from streamdesk.ui.session import session as session_module
from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.window.main_window import MainWindow


def photo(size: int) -> Attachment:
    """A QImage-made PNG with a gradient and lines, so scaling and encoding have work to do."""
    image = QImage(size, size, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    gradient = QLinearGradient(0, 0, size, size)
    gradient.setColorAt(0, QColor(30, 40, 200))
    gradient.setColorAt(1, QColor(250, 180, 20))
    painter.fillRect(image.rect(), gradient)
    for y in range(0, size, 16):
        painter.drawLine(0, y, size, (y * 3) % size)
    painter.end()
    return image_attachment("photo.png", encode(image, "PNG"))


PHOTO = photo(2048)  # fits OpenAI's 2048 px as it is; Anthropic takes 1568 px


class ThreadRecordingScaler(QtImageScaler):
    """The window's QImage scaler, noting the thread of each call."""

    threads: ClassVar[list[threading.Thread]] = []

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        self.threads.append(threading.current_thread())
        return super().scale(image, limits)


@pytest.fixture
def scaler_threads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    threads: list[threading.Thread] = []
    monkeypatch.setattr(ThreadRecordingScaler, "threads", threads)
    monkeypatch.setattr(session_module, "QtImageScaler", ThreadRecordingScaler)
    return threads


@asynccontextmanager
async def openai_and_claude(qtbot: QtBot) -> AsyncIterator[tuple[MainWindow, MockServer]]:
    """A window with two providers on one mock: "openai" speaks chat completions, "claude"
    Anthropic's Messages API."""
    async with MockServer(tokens_per_second=0, first_token_delay=0) as server:
        profiles = [
            ProviderSettings(
                id=pid,
                name=pid,
                base_url=server.sse_base_url,
                needs_key=False,
                models=[ModelInfo("gpt-4.1")],
                default_model="gpt-4.1",
                api=api,
            )
            for pid, api in (("openai", "chat"), ("claude", "anthropic"))
        ]
        settings = Settings(active_provider="openai", providers=profiles)
        window = MainWindow(settings, save_on_close=False)
        qtbot.addWidget(window)
        window.show()
        try:
            await window.start()
            yield window, server
        finally:
            await window.shutdown()


async def photo_sent_to_openai(window: MainWindow) -> ChatSession:
    """The window's chat after the photo went to OpenAI, as it is."""
    session = window.current_session()
    session.send("What is in the picture?", (PHOTO,))
    turn = await wait_reply(session)
    assert turn.reply.status is ReplyStatus.COMPLETE, turn.reply.failure
    return session


async def use_claude(window: MainWindow) -> None:
    """Switch the window to the Anthropic provider, as picked in the header."""
    claude = window.switcher.provider_by_id("claude")
    assert claude is not None
    await window.switcher.use(claude)


def image_blocks(body: bytes) -> list[bytes]:
    """The bytes of every image block of an Anthropic request body."""
    sent: dict[str, Any] = json.loads(body)
    blocks = [b for m in sent["messages"] if isinstance(m["content"], list) for b in m["content"]]
    return [base64.b64decode(b["source"]["data"]) for b in blocks if b["type"] == "image"]


@pytest.mark.asyncio
async def test_a_stored_image_is_scaled_off_the_windows_thread_for_anthropic(
    qtbot: QtBot, scaler_threads: list[threading.Thread]
) -> None:
    async with openai_and_claude(qtbot) as (window, server):
        session = await photo_sent_to_openai(window)
        assert scaler_threads == [], "it fits OpenAI as it is"
        await use_claude(window)
        session.send("And the colour?")
        assert scaler_threads == [], "nothing is scaled while the window sends"
        turn = await wait_reply(session)
        assert turn.reply.status is ReplyStatus.COMPLETE, turn.reply.failure
        assert turn.reply.target.provider.api == "anthropic"
        assert len(scaler_threads) == 1 and scaler_threads[0] is not threading.main_thread()
        request = server.requests[-1]
        assert request.path.endswith("/messages")
        expected = QtImageScaler().scale(PHOTO, limits_for("anthropic"))
        assert image_blocks(request.body) == [expected.data]
        assert (expected.width, expected.height) == (1568, 1568)
        assert session.turns[0].attachments == (PHOTO,), "the chat keeps the original"


class Unread:
    """Earlier turns not loaded yet (`EarlierTurns`), all given by the first read."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns

    @property
    def left(self) -> int:
        return 2 * len(self.turns)

    def page(self) -> list[Turn]:
        return self.rest()

    def rest(self) -> list[Turn]:
        turns, self.turns = self.turns, []
        return turns

    async def read_rest(self) -> list[Turn]:
        return self.rest()

    async def read_down_to(self, message_id: int) -> list[Turn] | None:
        return self.rest()


@pytest.mark.asyncio
async def test_an_image_in_turns_read_for_the_request_goes_scaled(
    qtbot: QtBot, scaler_threads: list[threading.Thread]
) -> None:
    """The request planned from the loaded turns has no image; the turns read for it bring one,
    which is scaled off the loop before the request goes."""
    async with openai_and_claude(qtbot) as (window, server):
        await use_claude(window)
        session = window.current_session()
        stored = Conversation(window.target())
        earlier = stored.ask("What is in the picture?", (PHOTO,)).turn
        earlier.key = -1
        earlier.reply.parts.append("A gradient.")
        session.earlier = Unread([earlier])
        session.send("And the colour?")
        turn = await wait_reply(session)
        assert turn.reply.status is ReplyStatus.COMPLETE, turn.reply.failure
        assert [t.prompt for t in session.turns] == ["What is in the picture?", "And the colour?"]
        expected = QtImageScaler().scale(PHOTO, limits_for("anthropic"))
        assert image_blocks(server.requests[-1].body) == [expected.data]
        assert len(scaler_threads) == 1 and scaler_threads[0] is not threading.main_thread()
        assert turn.reply.prompt_chars == len("What is in the picture?A gradient.And the colour?")


@pytest.mark.asyncio
async def test_compare_sends_the_chats_image_scaled(
    qtbot: QtBot, scaler_threads: list[threading.Thread]
) -> None:
    async with openai_and_claude(qtbot) as (window, server):
        await photo_sent_to_openai(window)
        compare = open_compare(window, "And the colour?")
        assert compare.with_chat.isChecked()
        compare.columns[0].choose("claude", "gpt-4.1", "sse")
        await compare.run("And the colour?")
        claude = compare.lanes[0]
        assert claude.reply.status is ReplyStatus.COMPLETE, claude.reply.failure
        (sent,) = claude.send.request.images
        assert sent == QtImageScaler().scale(PHOTO, limits_for("anthropic"))
        assert scaler_threads and threading.main_thread() not in scaler_threads
        bodies = [r.body for r in server.requests if r.path.endswith("/messages")]
        assert [image_blocks(b) for b in bodies] == [[sent.data]]
        compare.close()
