"""A conversation's stored images on the API its next request goes to: a 2600×1800 PNG that
went to OpenAI is scaled for Anthropic's 1568 px in the request while the history keeps the
original; a model without vision gets the text without the images and a notice (an image
attached just now still goes, to be refused); an image that fits goes byte for byte; each
image is scaled once per API, not on every request; and a deferred fitter (the window's) scales
on a worker thread to the very request a fitter that scales at once builds."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from PySide6.QtGui import QImage
from tests.core.attachment_files import png

from streamdesk.core.attachments import (
    Attachment,
    ImageFitter,
    ImageLimits,
    image_attachment,
    once_scaled,
)
from streamdesk.core.chat import (
    Conversation,
    ConversationRecord,
    ReplyStatus,
    Target,
    collect,
    turns_of,
    with_api,
)
from streamdesk.core.chat.compare import plan_lanes
from streamdesk.core.providers import mock_provider
from streamdesk.core.store.history import HistoryStore
from streamdesk.mock import MockServer
from streamdesk.ui.image_scaler import QtImageScaler

BIG = image_attachment("photo.png", png(2600, 1800))
SMALL = image_attachment("dot.png", png(64, 64))


class CountingScaler:
    """The real QImage scaler, counting how often it is asked."""

    def __init__(self) -> None:
        self.calls = 0
        self.threads: list[threading.Thread] = []
        self._qt = QtImageScaler()

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        self.calls += 1
        self.threads.append(threading.current_thread())
        return self._qt.scale(image, limits)


@pytest_asyncio.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with MockServer(tokens_per_second=0, first_token_delay=0) as server:
        yield server


def target(mock: MockServer, api: str, model: str = "gpt-4.1") -> Target:
    return Target(with_api(mock_provider(mock.sse_base_url, mock.ws_url), api), model)


def anthropic_images(mock: MockServer) -> list[bytes]:
    """The bytes of every image block in the last Anthropic request the mock received."""
    body: dict[str, Any] = json.loads(mock.requests[-1].body)
    blocks = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
    return [base64.b64decode(b["source"]["data"]) for b in blocks if b["type"] == "image"]


async def stored_on_chat(mock: MockServer, store: HistoryStore, *images: Attachment) -> int:
    """A conversation asked on the chat-completions API with `images`, stored; its id."""
    conversation = Conversation(target(mock, "chat"))
    send = conversation.ask("What is in the picture?", images)
    assert send.request.images == images  # no fitter: sent as attached
    record = ConversationRecord(store, conversation)
    reply = await collect(
        send.turn.reply, send.request, keys=None, recorder=record.open_reply(send.turn)
    )
    assert reply.status is ReplyStatus.COMPLETE, reply.failure
    assert conversation.conversation_id is not None
    return conversation.conversation_id


def continued(store: HistoryStore, cid: int, on: Target, fitter: ImageFitter) -> Conversation:
    stored = store.messages(cid)
    conversation = Conversation(on, conversation_id=cid, image_fitter=fitter)
    conversation.load(turns_of(stored, on, store.images_of(stored)))
    return conversation


@pytest.mark.asyncio
async def test_continued_on_anthropic_the_image_is_scaled_and_the_history_keeps_it(
    mock: MockServer,
) -> None:
    scaler = CountingScaler()
    with HistoryStore() as store:
        cid = await stored_on_chat(mock, store, BIG)
        conversation = continued(store, cid, target(mock, "anthropic"), ImageFitter(lambda: scaler))
        send = conversation.ask("And the colour?")
        reply = await collect(send.turn.reply, send.request, keys=None)
        assert reply.status is ReplyStatus.COMPLETE, reply.failure
        (sent,) = anthropic_images(mock)
        decoded = QImage.fromData(sent)
        assert max(decoded.width(), decoded.height()) <= 1568
        assert (decoded.width(), decoded.height()) == (1568, 1086)
        assert send.request.image_notice == ""
        (first, _) = conversation.turns
        assert first.attachments[0].data == BIG.data  # the turn keeps the original
        assert store.images([BIG.digest])[BIG.digest].data == BIG.data  # so does the history
        assert scaler.calls == 1


@pytest.mark.asyncio
async def test_a_model_without_vision_gets_the_text_and_a_notice(mock: MockServer) -> None:
    with HistoryStore() as store:
        cid = await stored_on_chat(mock, store, BIG, SMALL)
        deepseek = target(mock, "chat", "deepseek-v3.2")
        conversation = continued(store, cid, deepseek, ImageFitter(CountingScaler))
        send = conversation.ask("And the colour?")
        assert send.request.images == ()
        assert send.request.messages[0].content == "What is in the picture?"
        assert send.request.image_notice == (
            "2 images of this chat left out of the request (deepseek-v3.2 cannot read images);"
            " the text was sent."
        )
        reply = await collect(send.turn.reply, send.request, keys=None)
        assert reply.status is ReplyStatus.COMPLETE, reply.failure  # not a vision failure
        body = json.loads(mock.requests[-1].body)
        assert body["messages"][0] == {"role": "user", "content": "What is in the picture?"}
        assert len(conversation.turns[0].attachments) == 2  # kept for a model that reads them
        newly = conversation.ask("And this one?", (SMALL,)).request  # attached just now:
        assert newly.images == (SMALL,)  # it goes, for the engine to refuse (vision_failure)


@pytest.mark.asyncio
async def test_an_image_that_fits_is_sent_byte_for_byte(mock: MockServer) -> None:
    scaler = CountingScaler()
    with HistoryStore() as store:
        cid = await stored_on_chat(mock, store, SMALL)
        conversation = continued(store, cid, target(mock, "anthropic"), ImageFitter(lambda: scaler))
        send = conversation.ask("And the colour?")
        await collect(send.turn.reply, send.request, keys=None)
        assert anthropic_images(mock) == [SMALL.data]
        assert scaler.calls == 0


def test_each_image_is_scaled_once_per_api() -> None:
    made: list[CountingScaler] = []

    def make() -> CountingScaler:
        made.append(CountingScaler())
        return made[-1]

    provider = mock_provider("http://127.0.0.1:9/v1", "ws://127.0.0.1:9/ws")
    conversation = Conversation(Target(with_api(provider, "anthropic"), "gpt-4.1"))
    conversation.image_fitter = ImageFitter(make)
    conversation.ask("Look", (BIG,))
    for prompt in ("Again", "And again"):  # each request carries the first turn's image
        conversation.turns[-1].reply.parts.append("Seen.")
        sent = conversation.ask(prompt).request.images
        assert [max(i.width, i.height) for i in sent] == [1568]
    assert len(made) == 1 and made[0].calls == 1
    conversation.target = Target(provider, "gpt-4.1")  # chat completions: 2048 px
    conversation.turns[-1].reply.parts.append("Seen.")
    assert [i.width for i in conversation.ask("Once more").request.images] == [2048]
    assert made[0].calls == 2


def test_an_image_that_cannot_be_scaled_is_left_out_with_its_reason() -> None:
    broken = Attachment("broken.png", "image/png", png(8, 8)[:40], 4000, 3000)
    provider = mock_provider("http://127.0.0.1:9/v1", "ws://127.0.0.1:9/ws")
    conversation = Conversation(
        Target(provider, "gpt-4.1"), image_fitter=ImageFitter(QtImageScaler)
    )
    request = conversation.ask("Look", (broken, SMALL)).request
    assert request.images == (SMALL,)
    assert request.image_notice == (
        "1 image of this chat left out of the request (broken.png could not be decoded as a PNG"
        " image); the text was sent."
    )


@pytest.mark.asyncio
async def test_compare_lanes_after_a_chat_fit_its_images_to_each_lanes_api(
    mock: MockServer,
) -> None:
    """Compare with "Include this chat": each lane's request carries the chat's images fitted
    to that lane's API, as the chat's own next request would."""
    scaler = CountingScaler()
    with HistoryStore() as store:
        cid = await stored_on_chat(mock, store, BIG)
        stored = store.messages(cid)
        earlier = turns_of(stored, target(mock, "chat"), store.images_of(stored))
        lanes = plan_lanes(
            "And the colour?",
            [target(mock, "anthropic"), target(mock, "chat", "deepseek-v3.2")],
            earlier=earlier,
            image_fitter=ImageFitter(lambda: scaler),
        )
        anthropic, deepseek = (lane.send.request for lane in lanes)
        (image,) = anthropic.images
        decoded = QImage.fromData(image.data)
        assert (decoded.width(), decoded.height()) == (1568, 1086)
        assert deepseek.images == () and "left out" in deepseek.image_notice
        assert earlier[0].attachments[0].data == BIG.data, "the chat's turns are not changed"


def offline(api: str) -> Target:
    """A target whose requests are only built here, never sent."""
    provider = mock_provider("http://127.0.0.1:9/v1", "ws://127.0.0.1:9/ws")
    return Target(with_api(provider, api), "gpt-4.1")


@pytest.mark.asyncio
async def test_a_deferred_fitter_scales_on_a_worker_thread_to_the_same_request() -> None:
    """The window's fitter builds a provisional request (the images as stored, marked pending),
    scales them off the loop, and the request built then is byte for byte the one a fitter that
    scales at once builds: the same scaled copy, the same refusal and notice."""
    broken = Attachment("broken.png", "image/png", png(8, 8)[:40], 4000, 3000)
    conversation = Conversation(offline("anthropic"))
    turn = conversation.ask("Look", (BIG, broken, SMALL)).turn
    conversation.image_fitter = ImageFitter(QtImageScaler)
    at_once = conversation.request_for(turn, fresh=True)
    assert [i.width for i in at_once.images] == [1568, 64] and "broken.png" in at_once.image_notice

    scaler = CountingScaler()
    fitter = ImageFitter(lambda: scaler, deferred=True)
    conversation.image_fitter = fitter
    provisional = conversation.request_for(turn, fresh=True)
    assert fitter.pending and scaler.calls == 0
    assert provisional.images == (BIG, broken, SMALL) and provisional.image_notice == ""
    assert provisional.messages[-1].content == at_once.messages[-1].content  # prompt_chars
    request = await once_scaled(
        fitter, lambda: conversation.request_for(turn, fresh=True), provisional
    )
    assert request == at_once
    assert not fitter.pending and scaler.calls == 2
    assert threading.main_thread() not in scaler.threads
    assert conversation.request_for(turn, fresh=True) == at_once  # from its copies
    assert scaler.calls == 2 and not fitter.pending


@pytest.mark.asyncio
async def test_a_deferred_request_larger_than_the_cache_still_goes_scaled() -> None:
    """Copies the cache has to drop at once are still found by the request built next."""
    red = image_attachment("red.png", png(2600, 1800, (200, 30, 30)))
    scaler = CountingScaler()
    fitter = ImageFitter(lambda: scaler, max_bytes=1, deferred=True)
    conversation = Conversation(offline("anthropic"), image_fitter=fitter)
    send = conversation.ask("Look", (BIG, red))
    request = await once_scaled(
        fitter, lambda: conversation.request_for(send.turn, fresh=True), send.request
    )
    assert [(i.width, i.height) for i in request.images] == [(1568, 1086)] * 2
    assert scaler.calls == 2 and not fitter.pending
