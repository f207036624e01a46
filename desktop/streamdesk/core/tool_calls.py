"""Tool calls assembled from their streamed fragments, the same way for every dialect.

Each API streams a call as pieces: an id and a name once, then the arguments' JSON text in
fragments (Gemini sends them whole). A `ToolCallAssembler` keeps the pieces of the calls of one
reply, keyed by whatever the dialect tells them apart with (an index, a content block, an output
item), and numbers the calls 0, 1, … in the order they began. Fragments are kept in a list and
joined and parsed once, when the call is finished, so a long argument costs O(n), not O(n²).

Arguments that are not a JSON object fail that call (`ToolCall.error` says why), never the
stream. A call the server sent without an id gets one made here (`SYNTHETIC_ID_PREFIX`), which
request writers may leave out where the API does not need ids (Gemini).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Hashable, Mapping
from typing import Any

from streamdesk.core.errors import quote
from streamdesk.core.events import ToolCall, ToolCallDelta

__all__ = ["SYNTHETIC_ID_PREFIX", "ToolCallAssembler", "is_synthetic_id", "parse_arguments"]

SYNTHETIC_ID_PREFIX = "sd-"
"""Starts every call id made here (`sd-<tag>-<n>`): short, and valid for every API's id rules."""

QUOTED_ARGUMENTS = 80  # characters of bad arguments quoted in `ToolCall.error`


def is_synthetic_id(call_id: str) -> bool:
    """True for an id made here because the server sent none."""
    return call_id.startswith(SYNTHETIC_ID_PREFIX)


class _Pending:
    __slots__ = ("call_id", "index", "name", "parts", "signature")

    def __init__(self, index: int) -> None:
        self.index = index
        self.call_id = ""
        self.name = ""
        self.parts: list[str] = []
        self.signature = ""


class ToolCallAssembler:
    """The tool calls of one reply while they stream. `tag` makes the ids of calls that came
    without one (a random tag when not given, so two replies never share an id)."""

    __slots__ = ("_finished", "_pending", "_tag", "count")

    def __init__(self, tag: str = "") -> None:
        self._pending: dict[Hashable, _Pending] = {}
        self._finished: set[Hashable] = set()
        self._tag = tag or secrets.token_hex(5)
        self.count = 0  # calls begun: a reply with any asks for tools

    def set_tag(self, tag: str) -> None:
        """Name the ids made from now on after `tag` (Gemini: its response id)."""
        self._tag = tag

    def fragment(
        self, key: Hashable, call_id: str = "", name: str = "", arguments: str = ""
    ) -> ToolCallDelta | None:
        """Record a piece of the call `key`; the delta to show (carrying the id and name known
        so far), or None when the piece adds nothing or the call was already finished."""
        if key in self._finished:
            return None
        call = self._pending.get(key)
        if call is None:
            call = self._pending[key] = _Pending(self.count)
            self.count += 1
        elif not (call_id and not call.call_id) and not (name and not call.name) and not arguments:
            return None
        if call_id and not call.call_id:
            call.call_id = call_id
        if name and not call.name:
            call.name = name
        if arguments:
            call.parts.append(arguments)
        return ToolCallDelta(call.index, call.call_id, call.name, arguments)

    def sign(self, key: Hashable, signature: str) -> None:
        """Keep the provider's opaque signature of the call `key` (Gemini's thoughtSignature)."""
        call = self._pending.get(key)
        if call is not None and signature:
            call.signature = signature

    def finish(self, key: Hashable, whole: str | None = None) -> ToolCall | None:
        """The complete call `key`, once; None if no such call is pending. `whole` is the
        arguments' full text when the server repeats it, used when no fragment came."""
        call = self._pending.pop(key, None)
        if call is None:
            return None
        self._finished.add(key)
        text = "".join(call.parts) if call.parts or whole is None else whole
        arguments, error = parse_arguments(text)
        if not call.name:
            error = error or "The server sent a tool call without a tool name."
        call_id = call.call_id or f"{SYNTHETIC_ID_PREFIX}{self._tag}-{call.index}"
        return ToolCall(call.index, call_id, call.name, arguments, text, error, call.signature)

    def finish_all(self) -> list[ToolCall]:
        """Every call still pending, complete, in the order they began."""
        pending = sorted(self._pending.items(), key=lambda item: item[1].index)
        return [call for key, _ in pending if (call := self.finish(key)) is not None]

    def finish_reason(self, reason: str | None) -> str | None:
        """`reason` as `Done` reports it: "tool_calls" when the reply asked for tools and ended
        as asked ("stop", "tool_use", none, …); "length" and the like are kept."""
        if self.count and reason in (None, "stop", "tool_calls", "function_call", "tool_use"):
            return "tool_calls"
        return reason


def parse_arguments(text: str) -> tuple[Mapping[str, Any], str]:
    """(arguments, error) of a call's JSON text: an empty text is no arguments; text that is
    not a JSON object gives `{}` and a sentence that quotes it."""
    if not text.strip():
        return {}, ""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
        return {}, (
            f"The tool call's arguments are not valid JSON ({reason}): "
            f"{quote(text, QUOTED_ARGUMENTS)}"
        )
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), "value")
        shown = quote(text, QUOTED_ARGUMENTS)
        return {}, f"The tool call's arguments are a JSON {kind}, not an object: {shown}"
    if "\\ud" in text or "\\uD" in text:  # maybe an escaped lone surrogate
        return _without_lone_surrogates(value), ""
    return value, ""


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
_JSON_KINDS[type(None)] = "null"


def _without_lone_surrogates(value: dict[str, Any]) -> dict[str, Any]:
    """`value` with escaped lone surrogates (valid JSON, but no UTF-8 writer takes them) as
    U+FFFD, so the arguments can be shown, stored and sent back."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        cleaned = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        result: dict[str, Any] = json.loads(cleaned)
        return result
    return value
