"""Attachments in the core: type from the bytes, pixel size from the header, the size rules,
text files as fenced blocks, each API's image parts, and a model without vision refused."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest
from tests.core.attachment_files import gif_header, jpeg_header, png, webp_vp8x_header

from streamdesk.core import attachments as att
from streamdesk.core.attachments import (
    Attachment,
    AttachmentRefused,
    ImageLimits,
    TextFile,
    fit_image,
    image_attachment,
    read_attachment,
)
from streamdesk.core.chat import Reply, Target, collect
from streamdesk.core.dialects import anthropic, gemini, responses
from streamdesk.core.events import FailureKind
from streamdesk.core.providers import builtin
from streamdesk.core.request import ChatRequest, Message


@pytest.mark.parametrize(
    ("data", "mime", "size"),
    [
        (png(64, 48), "image/png", (64, 48)),
        (jpeg_header(800, 600), "image/jpeg", (800, 600)),
        (gif_header(320, 200), "image/gif", (320, 200)),
        (webp_vp8x_header(4000, 3000), "image/webp", (4000, 3000)),
    ],
)
def test_type_comes_from_the_bytes_and_size_from_the_header(
    data: bytes, mime: str, size: tuple[int, int]
) -> None:
    image = image_attachment("any-name.txt", data)  # the name's extension says nothing
    assert (image.mime, image.width, image.height) == (mime, *size)


def test_the_label_says_pixel_size_and_format() -> None:
    assert image_attachment("a.png", png(64, 64)).label == "64×64 PNG"
    assert att.describe([image_attachment("a.png", png(64, 64))]) == "1 image, 64×64 PNG"


def test_a_damaged_header_is_refused_by_name() -> None:
    with pytest.raises(AttachmentRefused, match=r"cut\.png is a damaged PNG"):
        image_attachment("cut.png", png(8, 8)[:14])


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    with big.open("wb") as f:  # sparse: 50 MB on paper, nothing on disk
        f.write(png(8, 8))
        f.truncate(50 * 1024 * 1024)
    with pytest.raises(AttachmentRefused) as caught:
        read_attachment(big)
    assert str(caught.value) == (
        "huge.png is 50.0 MB; files up to 20.0 MB can be attached. "
        "Make it smaller or attach a part of it."
    )


def test_a_binary_file_that_is_no_image_is_refused(tmp_path: Path) -> None:
    blob = tmp_path / "archive.zip"
    blob.write_bytes(b"PK\x03\x04\x00\x00\xff\xfe")
    with pytest.raises(AttachmentRefused, match=r"neither an image .* nor a UTF-8 text file"):
        read_attachment(blob)


def test_a_text_file_is_a_fenced_block_its_own_fences_cannot_close(tmp_path: Path) -> None:
    source = tmp_path / "demo.py"
    source.write_text('print("```")\nx = "````"\n', encoding="utf-8")
    item = read_attachment(source)
    assert isinstance(item, TextFile)
    assert item.block() == 'demo.py\n`````python\nprint("```")\nx = "````"\n`````'
    assert att.with_files("Review this", [item]).startswith("Review this\n\ndemo.py\n`````")


def test_an_image_within_the_limits_is_sent_byte_for_byte() -> None:
    image = image_attachment("a.png", png(64, 64))
    assert fit_image(image, "anthropic", None) is image


def test_an_image_over_the_limits_goes_through_the_scaler() -> None:
    asked: list[ImageLimits] = []

    class Recorder:
        def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
            asked.append(limits)
            return image

    image = image_attachment("wide.gif", gif_header(4000, 1000))
    for api in ("chat", "responses", "anthropic", "gemini"):
        fit_image(image, api, Recorder())
    assert [limits.long_edge for limits in asked] == [2048, 2048, 1568, 3072]
    assert att.scaled_size(4000, 1000, 1568) == (1568, 392)


def test_an_images_bytes_are_hashed_once_however_often_it_is_fitted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A photo's megabytes are hashed on the window's thread: once per attachment, not on every
    fit (each add, each model typed); a copy with other bytes has its own digest."""
    hashed: list[bytes] = []
    sha256 = hashlib.sha256

    def counting(data: bytes) -> Any:
        hashed.append(data)
        return sha256(data)

    monkeypatch.setattr(hashlib, "sha256", counting)
    image = image_attachment("wide.gif", gif_header(4000, 1000))
    fitter = att.ImageFitter(deferred=True)
    for api in ("anthropic", "anthropic", "chat", "gemini", "anthropic"):
        assert fitter.fit(image, api) is image  # deferred: pending, no copy yet
    assert image.digest == sha256(image.data).hexdigest()
    assert hashed == [image.data]
    other = dataclasses.replace(image, data=gif_header(4000, 1001))
    assert other.digest == sha256(other.data).hexdigest() != image.digest
    assert other == dataclasses.replace(image, data=other.data), "equal whatever was hashed"


def test_a_deferred_fitter_scales_one_apis_copies_without_the_others() -> None:
    """A request to one API waits for its own copies only: copies pending for another stay
    pending, and the copies made before for that other API are still found."""
    scaled: list[int] = []

    class Recorder:
        def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
            scaled.append(limits.long_edge)
            return dataclasses.replace(image, width=limits.long_edge)

    wide = image_attachment("wide.gif", gif_header(4000, 1000))
    fitter = att.ImageFitter(Recorder, deferred=True)
    fitter.fit(wide, "chat")
    asyncio.run(fitter.scale_pending("chat"))
    fitter.fit(wide, "anthropic")
    assert fitter.pending_for("anthropic") == {wide.digest} and fitter.pending_for("chat") == set()
    fitter.fit(wide, "gemini")
    asyncio.run(fitter.scale_pending("gemini"))
    assert scaled == [2048, 3072] and fitter.pending_for("anthropic") == {wide.digest}
    asyncio.run(fitter.scale_pending())
    assert scaled == [2048, 3072, 1568] and not fitter.pending
    assert [fitter.fit(wide, api).width for api in ("chat", "gemini", "anthropic")] == [
        2048,
        3072,
        1568,
    ]


IMAGE = Attachment("dot.png", "image/png", png(2, 2), 2, 2)
REQUEST = ChatRequest("m", (Message("user", "What is it?", attachments=(IMAGE,)),))
B64 = base64.b64encode(IMAGE.data).decode()


def test_chat_completions_send_image_url_data_urls() -> None:
    (message,) = REQUEST.openai_body()["messages"]
    assert message["content"] == [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}},
    ]
    assert REQUEST.websocket_message()["messages"] == [message]


def test_anthropic_sends_base64_image_blocks_before_the_text() -> None:
    (message,) = anthropic.request_body(REQUEST)["messages"]
    assert message["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": B64}},
        {"type": "text", "text": "What is it?"},
    ]


def test_gemini_sends_inline_data_parts() -> None:
    (content,) = gemini.request_body(REQUEST)["contents"]
    assert content["parts"] == [
        {"text": "What is it?"},
        {"inlineData": {"mimeType": "image/png", "data": B64}},
    ]


def test_responses_send_input_image_parts() -> None:
    (item,) = responses.request_body(REQUEST)["input"]
    assert item["content"] == [
        {"type": "input_text", "text": "What is it?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{B64}"},
    ]


def test_a_model_without_vision_is_refused_before_anything_is_sent() -> None:
    provider = builtin("deepseek")
    assert not provider.reads_images("deepseek-chat")
    assert builtin("openai").reads_images("gpt-4.1") and provider.reads_images("unlisted-model")
    target = Target(provider, "deepseek-chat", api_key="sk-test")
    reply = asyncio.run(collect(Reply(target), REQUEST, keys=None))
    assert reply.failure is not None and reply.failure.kind is FailureKind.BAD_REQUEST
    assert reply.failure.message.startswith("deepseek-chat cannot read images")
    assert reply.trace is not None and reply.trace.attempts == 0  # no request went out
