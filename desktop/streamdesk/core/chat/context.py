"""What a request costs in tokens, and leaving out its oldest earlier turns until it fits.

No tokenizer is at hand (each model has its own, and none ships offline for most), so text is
counted by the kind of its characters, as the dearest tokenizer of the hosted models spends on
it. Digits cost a token each (Gemini and Qwen split numbers into digits), so do punctuation and
line breaks; an ASCII letter costs 0.3, and a switch from lower to upper case or between
letters and digits 0.75 more (random text such as base64 and hashes breaks into short tokens);
a space nothing (it joins the word after it), two in a row a quarter; a character of two UTF-8
bytes (accented Latin, Greek, Cyrillic) half a token, of three (CJK, Korean) four thirds, of
four (emoji) two. Measured on prose, code, JSON, logs, tables, digits, base64, hashes and
CJK, Korean and Cyrillic text against o200k and cl100k (OpenAI), Gemini, DeepSeek V3, Qwen 3,
Llama 3.1 and Claude 2's published tokenizer, it comes out from 8 % under the dearest of them
(numbers spaced apart, Cyrillic) to 43 % over (compact JSON); prose 21-27 % over, code 19-36 %,
logs and JSON records 4-15 %. A request then fills at most `FILL_PERCENT` of the room its reply
leaves, which covers what the estimate misses.

The room left for the reply is what the body's max_tokens asks for (`sent_max_tokens`: the
server counts it against the window), else `REPLY_ALLOWANCE`.

Stored messages never change, yet every request estimates them again (each send builds its
messages anew, and the engine checks the fit once more): a message's texts are estimated once
and remembered by their text (`TextEstimates`), so fitting the end of a long chat costs what its
new texts cost.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from collections.abc import Sequence

from streamdesk.core.request import ChatRequest, ContextFit, Message, ToolSpec, arguments_json

# Room kept for the reply when the request sets no max_tokens: a long answer (most are far
# shorter), and at most a quarter of the window, so a small model keeps most of it for the chat.
REPLY_ALLOWANCE = 8_192
# An image, whatever its size, costs as much as the dearest one a built-in model counts
# (gpt-4.1-mini: 1,536 patches × 1.62), so images never make the estimate fall short.
IMAGE_TOKENS = 2_500
MESSAGE_TOKENS = 4  # the role and framing around each message's text
# The framing around each tool's schema: OpenAI's count for a function, its opening and its
# end (7 + 12 tokens, gpt-4o), rounded up.
TOOL_TOKENS = 20
FILL_PERCENT = 90  # of the room the reply's reserve leaves: the estimate's margin
# A request the server refused as too long goes once more, with its oldest turns left out
# until its estimate is this share of what was refused.
REFUSED_PERCENT = 75

# What a text's characters cost, in sixtieths of a token (calibrated as said above).
_SIXTIETHS = 60
_LETTER = 18  # an ASCII letter: 0.3
_MARK = 60  # a digit, punctuation, a line break, a control character
_SWITCH = 45  # lower case to upper, or a letter to a digit or back: a token breaks there
_SPACES = 15  # two spaces in a row (a space alone joins the word after it)
_LEADS = {b"2": 30, b"3": 80, b"4": 120}  # the first byte of a character of 2, 3 or 4 bytes
_LETTERS = bytes.maketrans(b"lU", b"aa")  # for the switches between letters and digits


def _byte_classes() -> bytes:
    """The table that turns each UTF-8 byte into its class: l, U (a lower or upper case
    letter), d (a digit), " " (a space), "." (any other ASCII), 2, 3, 4 (the first byte of a
    longer character) and _ (a byte inside one, free)."""
    table = bytearray(b"_" * 256)
    for byte in range(128):
        char = chr(byte)
        if char.isalpha():
            table[byte] = ord("l" if char.islower() else "U")
        elif char.isdigit():
            table[byte] = ord("d")
        elif char != " ":
            table[byte] = ord(".")
        else:
            table[byte] = ord(" ")
    table[0xC0:0xE0] = b"2" * 32
    table[0xE0:0xF0] = b"3" * 16
    table[0xF0:0x100] = b"4" * 16
    return bytes(table)


_CLASSES = _byte_classes()


def text_tokens(text: str) -> int:
    """About how many tokens `text` costs, counted by the kind of its characters (above): a
    few passes of `bytes.count` over its classes, so a long chat is estimated quickly."""
    classes = text.encode("utf-8", "surrogatepass").translate(_CLASSES)
    count = classes.count
    kinds = classes.translate(_LETTERS).count  # letters as one class: "ad", "da" are switches
    cost = (
        _LETTER * (count(b"l") + count(b"U"))
        + _MARK * (count(b"d") + count(b"."))
        + _SWITCH * (count(b"lU") + kinds(b"ad") + kinds(b"da"))
        + _SPACES * count(b"  ")
    )
    if not text.isascii():
        cost += sum(weight * count(lead) for lead, weight in _LEADS.items())
    return -(-cost // _SIXTIETHS)


class TextEstimates:
    """`text_tokens` of the texts estimated lately, so a text sent again costs a look-up (the
    same string object, as a stored message's text is on every send, is not even hashed again).

    It holds the texts it remembers (a string cannot be weakly referenced), at most about
    `generation_bytes` twice over: a generation fills up to that size, then becomes the old
    one, and what the old generation holds is kept only if it is looked up before the next
    one fills. A long chat's texts, looked up at each send, stay; those of a closed or edited
    conversation leave once two generations of other texts have filled. Safe to use from
    several threads (a request may be built on a worker thread while the loop checks another's
    fit): the results depend on the text alone, and the lock only guards the generations."""

    def __init__(self, generation_bytes: int) -> None:
        self.generation_bytes = generation_bytes
        self._young: dict[str, int] = {}
        self._old: dict[str, int] = {}
        self._young_bytes = 0
        self._lock = threading.Lock()

    def tokens(self, text: str) -> int:
        """`text_tokens(text)`, computed only when `text` is not remembered."""
        known = self._young.get(text)
        if known is not None:
            return known
        with self._lock:
            known = self._old.pop(text, None)
        if known is None:
            known = text_tokens(text)
        with self._lock:
            if text not in self._young:
                self._young[text] = known
                self._young_bytes += sys.getsizeof(text)
                if self._young_bytes > self.generation_bytes:
                    self._old, self._young, self._young_bytes = self._young, {}, 0
        return known

    @property
    def held_bytes(self) -> int:
        """The size of the texts it holds (strings that others may hold too)."""
        with self._lock:
            generations = (self._young, self._old)
            return sum(sys.getsizeof(text) for held in generations for text in held)


# A generation holds more text than a request to the widest window of a built-in model (1 M
# tokens, about 3 M characters of prose), so the texts of a request that fills it stay.
TEXT_ESTIMATES = TextEstimates(8 * 2**20)


def estimated_tokens(message: Message) -> int:
    """About how many tokens `message` costs a request: its text, tool calls and reasoning by
    `text_tokens` (remembered by `TEXT_ESTIMATES`), its framing `MESSAGE_TOKENS` and its images
    `IMAGE_TOKENS` each."""
    known = TEXT_ESTIMATES.tokens
    tokens = MESSAGE_TOKENS + known(message.content) + IMAGE_TOKENS * len(message.attachments)
    for block in message.reasoning_blocks:
        tokens += known(block.text)
    for call in message.tool_calls:
        tokens += known(call.name) + known(arguments_json(call))
    return tokens


def tool_tokens(tool: ToolSpec) -> int:
    """About how many tokens offering `tool` costs a request: its name, description and input
    schema as JSON text, estimated as a message's text is, and `TOOL_TOKENS` of framing."""
    schema = json.dumps(dict(tool.parameters), ensure_ascii=False, default=str)
    return TOOL_TOKENS + sum(text_tokens(text) for text in (tool.name, tool.description, schema))


def request_tokens(request: ChatRequest) -> int:
    """About how many tokens `request` sends: its messages and the tools it offers."""
    return sum(estimated_tokens(m) for m in request.messages) + sum(
        tool_tokens(tool) for tool in request.tools
    )


def reply_reserve(api: str, window: int | None, max_tokens: int | None, reasoning: bool) -> int:
    """The tokens a request to `api` keeps for its reply: the max_tokens its body sends, else
    `REPLY_ALLOWANCE` (a quarter of a small `window` at most)."""
    from streamdesk.core.dialects import sent_max_tokens  # with the first request, not at start

    sent = sent_max_tokens(api, max_tokens, reasoning)
    if sent is not None:
        return sent
    return REPLY_ALLOWANCE if window is None else min(REPLY_ALLOWANCE, window // 4)


def budget(fit: ContextFit) -> int | None:
    """The tokens a request may hold: `FILL_PERCENT` of what its window leaves once the
    reply's reserve is kept; None when the window is unknown."""
    if fit.window is None:
        return None
    return (fit.window - fit.reserve) * FILL_PERCENT // 100


def fitted(request: ChatRequest, tokens: int) -> ChatRequest:
    """`request` without as many of its oldest earlier turns as its estimate needs to come
    within `tokens` (all of them at most), counted in `left_out`; `request` itself when it fits
    already or has no earlier turns. The system prompt and the current turn always stay."""
    fit = request.fit
    over = request_tokens(request) - tokens
    if fit is None or not fit.turns or over <= 0:
        return request
    end, dropped, shown = fit.start, 0, 0
    for turn in fit.turns:
        if over <= 0:
            break
        over -= sum(estimated_tokens(m) for m in request.messages[end : end + turn.messages])
        end += turn.messages
        dropped += 1
        shown += turn.shown
    return dataclasses.replace(
        request,
        messages=request.messages[: fit.start] + request.messages[end:],
        left_out=request.left_out + shown,
        fit=dataclasses.replace(fit, turns=fit.turns[dropped:]),
    )


def history_room(fit: ContextFit, kept: Sequence[Message], tools: Sequence[ToolSpec]) -> int | None:
    """The tokens left for earlier turns once the `kept` messages (the system prompt, the new
    prompt, a continuation's prefix) and the `tools` offered are counted; None when the
    window is unknown (no limit is applied)."""
    room = budget(fit)
    if room is None:
        return None
    offered = sum(tool_tokens(tool) for tool in tools)
    return room - offered - sum(estimated_tokens(m) for m in kept)
