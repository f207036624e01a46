"""The mock reads the images a request carries, in each API's shape, and its reply starts by
saying what it received; an image part that is not a valid image is a 400."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from tests.core.attachment_files import gif_header, png
from tests.mock.wire import RawResponse, raw_post

from streamdesk.mock import MockServer

pytestmark = pytest.mark.asyncio

PROMPT = "What is in the picture?"
PNG = base64.b64encode(png(64, 64)).decode()
GIF = base64.b64encode(gif_header(320, 200)).decode()


def _chat(images: list[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": PROMPT}]
    parts += [
        {"type": "image_url", "image_url": {"url": f"data:{m};base64,{d}"}} for m, d in images
    ]
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": parts}], "stream": True}
    return "/v1/chat/completions", body


def _anthropic(images: list[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "image", "source": {"type": "base64", "media_type": m, "data": d}}
        for m, d in images
    ]
    blocks.append({"type": "text", "text": PROMPT})
    messages = [{"role": "user", "content": blocks}]
    body = {"model": "claude-sonnet-4.5", "max_tokens": 4096, "messages": messages, "stream": True}
    return "/v1/messages", body


def _gemini(images: list[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"text": PROMPT}]
    parts += [{"inlineData": {"mimeType": m, "data": d}} for m, d in images]
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    return path, {"contents": [{"role": "user", "parts": parts}]}


def _responses(images: list[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    content: list[dict[str, Any]] = [{"type": "input_text", "text": PROMPT}]
    content += [{"type": "input_image", "image_url": f"data:{m};base64,{d}"} for m, d in images]
    body = {"model": "gpt-4.1", "input": [{"role": "user", "content": content}], "stream": True}
    return "/v1/responses", body


def _text(resp: RawResponse) -> str:
    """The reply text of a stream in any of the four shapes."""
    out = []
    for data in resp.data_lines():
        if data == "[DONE]":
            continue
        event = json.loads(data)
        for choice in event.get("choices", []):
            out.append(choice["delta"].get("content") or "")
        if event.get("type") in ("content_block_delta", "response.output_text.delta"):
            delta = event["delta"]
            out.append(delta if isinstance(delta, str) else delta.get("text", ""))
        for candidate in event.get("candidates", []):
            out += [p.get("text", "") for p in candidate.get("content", {}).get("parts", [])]
    return "".join(out)


SHAPES = {"chat": _chat, "anthropic": _anthropic, "gemini": _gemini, "responses": _responses}


@pytest.mark.parametrize("api", SHAPES)
async def test_the_reply_says_what_images_it_received(server: MockServer, api: str) -> None:
    path, body = SHAPES[api]([("image/png", PNG)])
    resp = await raw_post(server.port, body, path=path)
    assert resp.status == 200
    assert _text(resp).startswith("I received 1 image, 64×64 PNG.\n\n")
    path, body = SHAPES[api]([("image/png", PNG), ("image/gif", GIF)])
    resp = await raw_post(server.port, body, path=path)
    assert _text(resp).startswith("I received 2 images: 64×64 PNG, 320×200 GIF.\n\n")


@pytest.mark.parametrize("api", SHAPES)
async def test_an_image_whose_bytes_are_not_its_type_is_a_400(server: MockServer, api: str) -> None:
    path, body = SHAPES[api]([("image/jpeg", PNG)])
    resp = await raw_post(server.port, body, path=path)
    assert resp.status == 400
    assert "the image data is not a JPEG image" in resp.body.decode()


async def test_a_prompt_without_images_is_answered_as_before(server: MockServer) -> None:
    path, body = _chat([])
    resp = await raw_post(server.port, body, path=path)
    assert not _text(resp).startswith("I received")
