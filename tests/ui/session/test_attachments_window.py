"""Images sent from the window: the mock's reply says what it received, the prompt shows its
thumbnail through the document's own resources (no file is loaded), the history gives it back
when the conversation is opened again, and a model without vision sends nothing."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from tests.core.attachment_files import png
from ui_helpers import open_window, wait_reply

from streamdesk.core.attachments import image_attachment
from streamdesk.core.events import FailureKind
from streamdesk.ui.transcript.thumbnails import SCHEME
from streamdesk.ui.transcript.view import TranscriptView

CAT = image_attachment("cat.png", png(64, 64))


def image_names(view: TranscriptView) -> list[str]:
    """The names of the images the transcript's document shows, in order."""
    names = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isImageFormat():
                names.append(fmt.toImageFormat().name())
            it += 1
        block = block.next()
    return names


@pytest.mark.asyncio
async def test_an_image_goes_to_the_mock_and_shows_as_a_thumbnail(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = window.current_session()
        session.send("What is this?", (CAT,))
        turn = await wait_reply(session)
        assert turn.reply.text.startswith("I received 1 image, 64×64 PNG.")
        assert image_names(session.view) == [SCHEME + CAT.digest]
        assert "cat.png (64×64 PNG)" in session.view.toPlainText()
        assert session.view.document().refused == []  # nothing outside the app was loaded
    async with open_window(qtbot) as window:  # the conversation reopens from the history
        session = window.current_session()
        (turn,) = session.turns
        assert turn.attachments == (CAT,)
        assert image_names(session.view) == [SCHEME + CAT.digest]


@pytest.mark.asyncio
async def test_a_model_without_vision_sends_nothing(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        assert window.mock is not None
        window.header.choose("mock", "deepseek-v3.2")
        before = len(window.mock.requests)
        session = window.current_session()
        session.send("What is this?", (CAT,))
        turn = await wait_reply(session)
        assert turn.reply.failure is not None
        assert turn.reply.failure.kind is FailureKind.BAD_REQUEST
        assert "deepseek-v3.2 cannot read images" in turn.reply.failure.message
        assert len(window.mock.requests) == before
