"""A prompt's images in the transcript that cannot be decoded: each says so on its tooltip,
found at once (a small image) or on the worker thread (a large one)."""

from __future__ import annotations

from plain_checks import shown_text
from pytestqt.qtbot import QtBot
from tests.ui.window.test_attach_off_thread import damaged_jpeg, is_crossed_out, shown_image

from streamdesk.core.attachments import image_attachment
from streamdesk.ui.transcript.thumbnails import SCHEME
from streamdesk.ui.transcript.view import TranscriptView

NOT_DECODED = "cannot be shown: the image could not be decoded"


def image_tips(view: TranscriptView) -> list[str]:
    """The tooltips of the images in the transcript, in order."""
    tips: list[str] = []
    block = view.document().begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            shown = fragments.fragment().charFormat()
            if shown.isImageFormat():
                tips.append(shown_text(shown.toolTip()))
            fragments += 1
        block = block.next()
    return tips


def test_an_image_that_cannot_be_decoded_says_so_on_its_tooltip(qtbot: QtBot) -> None:
    """Images of their own: thumbnails are kept per content hash across tests."""
    view = TranscriptView()
    qtbot.addWidget(view)
    small = image_attachment("small.jpg", damaged_jpeg(210, 140))  # decoded at once
    large = image_attachment("large.jpg", damaged_jpeg(3200, 2400))  # on the worker
    view.add_user_message("Look", ("user", 1), [small, large])
    assert image_tips(view) == [
        f"small.jpg · 210×140 JPEG · {NOT_DECODED}",
        "large.jpg · 3200×2400 JPEG",
    ]
    qtbot.waitUntil(
        lambda: is_crossed_out(shown_image(view, SCHEME + large.digest)), timeout=10_000
    )
    assert image_tips(view) == [
        f"small.jpg · 210×140 JPEG · {NOT_DECODED}",
        f"large.jpg · 3200×2400 JPEG · {NOT_DECODED}",
    ]
