"""A request's JSON body, encoded without holding the window's loop.

`json.dumps` is one C call that keeps the GIL until it returns: while it encodes the body of
a long conversation (10,000 messages, or one message of ten inlined files, ~10 MB) the
window's loop cannot run, on whatever thread it is called. A body past LARGE_BODY_SIZE is
therefore built on a worker thread and encoded in short calls: its dicts and lists are walked,
runs of small values are encoded together and a long string is encoded a slice at a time, so
no call gets more than about PIECE_CHARS characters of string. Between two calls the
interpreter hands the GIL to the loop when it asks (`sys.getswitchinterval()`). A smaller body
is encoded in place: the hop to a thread and back would cost more than it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from streamdesk.core.request import ChatRequest

LARGE_BODY_SIZE = 256 * 1024  # `ChatRequest.size`: characters of text plus bytes of images
PIECE_CHARS = 64 * 1024  # of string per `json.dumps` call when encoding in pieces
SCALAR_CHARS = 16  # what a number, bool or null is counted as towards PIECE_CHARS

T = TypeVar("T")


def encode_json(value: object) -> bytes:
    """The UTF-8 JSON the request bodies are sent as (non-ASCII characters as they are)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def encode_in_pieces(payload: object) -> bytes:
    """The same bytes as `encode_json(payload)`, made by calls of at most about PIECE_CHARS
    characters of string each."""
    out: list[bytes] = []
    _write(payload, out)
    return b"".join(out)


def _chars(value: object) -> int | None:
    """What `value` counts towards a call's PIECE_CHARS, or None when it is a container or a
    string to be encoded on its own."""
    if isinstance(value, str):
        return len(value) if len(value) <= PIECE_CHARS else None
    if isinstance(value, dict | list | tuple):
        return None
    return SCALAR_CHARS


def _write(value: object, out: list[bytes]) -> None:
    """Append `value`'s JSON to `out` in short pieces."""
    if isinstance(value, str):
        _write_string(value, out)
    elif isinstance(value, list | tuple):
        _write_list(value, out)
    elif isinstance(value, dict) and all(isinstance(key, str) for key in value):
        _write_dict(value, out)
    else:  # a scalar, or a dict whose keys json turns into strings in its own way
        out.append(encode_json(value))


def _write_string(text: str, out: list[bytes]) -> None:
    """A string's JSON, a slice per call: JSON escapes character by character, so the slices'
    escapes joined are the whole string's."""
    if len(text) <= PIECE_CHARS:
        out.append(encode_json(text))
        return
    out.append(b'"')
    for start in range(0, len(text), PIECE_CHARS):
        out.append(encode_json(text[start : start + PIECE_CHARS])[1:-1])
    out.append(b'"')


def _write_list(items: list[Any] | tuple[Any, ...], out: list[bytes]) -> None:
    """A list's JSON: runs of small items a call each, the other items walked."""
    out.append(b"[")
    for n, (is_run, group) in enumerate(_grouped(items, _chars)):
        if n:
            out.append(b", ")
        if is_run:
            out.append(encode_json(group)[1:-1])
        else:
            _write(group[0], out)
    out.append(b"]")


def _write_dict(mapping: dict[str, Any], out: list[bytes]) -> None:
    """A dict's JSON: runs of small entries a call each, the other entries walked."""
    out.append(b"{")
    for n, (is_run, group) in enumerate(_grouped(mapping.items(), _entry_chars)):
        if n:
            out.append(b", ")
        if is_run:
            out.append(encode_json(dict(group))[1:-1])
        else:
            key, value = group[0]
            _write_string(key, out)
            out.append(b": ")
            _write(value, out)
    out.append(b"}")


def _entry_chars(entry: tuple[str, Any]) -> int | None:
    key, value = entry
    chars = _chars(value)
    return None if chars is None or len(key) > PIECE_CHARS else len(key) + chars


def _grouped(
    entries: Iterable[T], chars_of: Callable[[T], int | None]
) -> Iterator[tuple[bool, list[T]]]:
    """`entries` in order, as runs of small ones (True, run) of at most PIECE_CHARS characters
    together, and the others one by one (False, [entry])."""
    run: list[T] = []
    chars = 0
    for entry in entries:
        size = chars_of(entry)
        if size is not None and chars + size <= PIECE_CHARS:
            run.append(entry)
            chars += size
            continue
        if run:
            yield True, run
        if size is None:
            run, chars = [], 0
            yield False, [entry]
        else:
            run, chars = [entry], size
    if run:
        yield True, run


async def encode_body(request: ChatRequest, build: Callable[[], Mapping[str, Any]]) -> bytes:
    """`build()`'s payload for `request`, encoded: on a worker thread in pieces when large."""
    if request.size < LARGE_BODY_SIZE:
        return encode_json(build())
    return await asyncio.to_thread(lambda: encode_in_pieces(build()))
