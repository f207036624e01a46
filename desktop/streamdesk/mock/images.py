"""Images a request carries, in any API's shape, and the sentence the mock says about them.

The mock checks what a real server would: each image is base64 that decodes, its declared MIME
type matches the bytes, and its pixel size is read from the bytes' own header. Its reply then
starts with what it received ("I received 1 image, 64×64 PNG."), so the round trip shows in the
offline demo and in tests. A part that is not a valid image is a 400, as the APIs answer it.

It reads the headers with its own code, not the client's: a bug in one cannot hide the other's.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP"}


class BadImage(ValueError):
    """An image part the mock (like the real APIs) refuses; the text says why."""


@dataclass(frozen=True, slots=True)
class ReceivedImage:
    mime: str
    width: int
    height: int
    size: int  # bytes after base64 decoding

    def __str__(self) -> str:
        return f"{self.width}×{self.height} {_FORMATS[self.mime]}"


def _declared(part: dict[str, Any]) -> tuple[str, str] | None:
    """(declared MIME type, base64 data) of an image part in any API's shape, else None."""
    kind = part.get("type")
    if kind == "image_url":  # chat completions
        inner = part.get("image_url")
        return _data_url(inner.get("url") if isinstance(inner, dict) else None)
    if kind == "input_image":  # Responses
        return _data_url(part.get("image_url"))
    if kind == "image":  # Anthropic
        source = part.get("source")
        if not isinstance(source, dict) or source.get("type") != "base64":
            raise BadImage("image.source: only base64 sources are accepted by the mock")
        return str(source.get("media_type", "")), str(source.get("data", ""))
    inline = part.get("inlineData", part.get("inline_data"))  # Gemini
    if isinstance(inline, dict):
        mime = inline.get("mimeType", inline.get("mime_type", ""))
        return str(mime), str(inline.get("data", ""))
    return None


def _data_url(url: object) -> tuple[str, str]:
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise BadImage("image_url: the mock takes base64 data URLs only")
    head, _, data = url.partition(";base64,")
    return head.removeprefix("data:"), data


def received_images(messages: Iterable[object]) -> list[ReceivedImage]:
    """The images in the last user message of chat-shaped `messages` (content part lists)."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    content = users[-1].get("content") if users else None
    if not isinstance(content, list):
        return []
    found = []
    for part in content:
        declared = _declared(part) if isinstance(part, dict) else None
        if declared is not None:
            found.append(_check(*declared))
    return found


def _check(mime: str, data: str) -> ReceivedImage:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadImage("the image data is not valid base64") from None
    if mime not in _FORMATS:
        raise BadImage(f"unsupported image media type {mime!r}")
    size = _pixels(mime, raw)
    if size is None:
        raise BadImage(f"the image data is not a {_FORMATS[mime]} image")
    return ReceivedImage(mime, size[0], size[1], len(raw))


def _pixels(mime: str, raw: bytes) -> tuple[int, int] | None:
    if mime == "image/png" and raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR":
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if mime == "image/gif" and raw[:4] == b"GIF8" and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    if mime == "image/webp" and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP" and len(raw) >= 30:
        return _webp(raw)
    if mime == "image/jpeg" and raw[:2] == b"\xff\xd8":
        return _jpeg(raw)
    return None


def _webp(raw: bytes) -> tuple[int, int] | None:
    chunk = raw[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(raw[24:27], "little"), 1 + int.from_bytes(raw[27:30], "little")
    if chunk == b"VP8L":
        b = raw[21:25]
        width = 1 + (((b[1] & 0x3F) << 8) | b[0])
        height = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return width, height
    if chunk == b"VP8 ":
        return (
            int.from_bytes(raw[26:28], "little") & 0x3FFF,
            int.from_bytes(raw[28:30], "little") & 0x3FFF,
        )
    return None


def _jpeg(raw: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(raw):
        if raw[i] != 0xFF:
            i += 1  # not at a marker: look on
            continue
        marker = raw[i + 1]
        if marker in (0xFF, 0x00, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 1 if marker == 0xFF else 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(raw[i + 7 : i + 9], "big"), int.from_bytes(
                raw[i + 5 : i + 7], "big"
            )
        i += 2 + int.from_bytes(raw[i + 2 : i + 4], "big")
    return None


def received_sentence(images: list[ReceivedImage]) -> str:
    """What the mock's reply starts with: "I received 1 image, 64×64 PNG." """
    if len(images) == 1:
        return f"I received 1 image, {images[0]}."
    return f"I received {len(images)} images: {', '.join(str(i) for i in images)}."
