"""A request's JSON body, encoded without holding the window's loop.

`json.dumps` is one C call that keeps the GIL until it returns: for the body of a long
conversation (10,000 messages, ~10 MB) that is ~35 ms in which the window's loop cannot run,
on whatever thread it is called. A body past LARGE_BODY_SIZE is therefore built on a worker
thread and encoded one item of its lists at a time: each call is short, and between two the
interpreter hands the GIL to the loop when it asks (`sys.getswitchinterval()`). A smaller body
is encoded in place: the hop to a thread and back would cost more than it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from streamdesk.core.request import ChatRequest

LARGE_BODY_SIZE = 256 * 1024  # `ChatRequest.size`: characters of text plus bytes of images


def encode_json(value: object) -> bytes:
    """The UTF-8 JSON the request bodies are sent as (non-ASCII characters as they are)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def encode_in_pieces(payload: Mapping[str, Any]) -> bytes:
    """The same bytes as `encode_json(payload)`, each item of a list in it encoded by a call
    of its own (the messages, contents or input items of every dialect's body)."""
    fields = []
    for key, value in payload.items():
        if isinstance(value, list):
            encoded = b"[" + b", ".join(encode_json(item) for item in value) + b"]"
        else:
            encoded = encode_json(value)
        fields.append(encode_json(key) + b": " + encoded)
    return b"{" + b", ".join(fields) + b"}"


async def encode_body(request: ChatRequest, build: Callable[[], Mapping[str, Any]]) -> bytes:
    """`build()`'s payload for `request`, encoded: on a worker thread in pieces when large."""
    if request.size < LARGE_BODY_SIZE:
        return encode_json(build())
    return await asyncio.to_thread(lambda: encode_in_pieces(build()))
