"""Tool calls in the mock: when to call a tool, with which arguments, and the answer to results.

A request that offers tools (chat-completions shape: `{"type": "function", "function": {name,
description, parameters}}`; each native dialect translates its own) and whose last user prompt
names one of them as a word is answered with a call of each named tool, in the order the prompt
names them. Arguments are built from the tool's JSON Schema: the required properties (all of
them when none is required) get numbers from the prompt in order ("add 2 and 3" gives
`{"a": 2, "b": 3}`), strings from its quoted text or else its last word, enums their first
value. The arguments' JSON text streams in fragments of a few characters.

When the conversation ends with tool results (`role: "tool"` messages), the reply is text that
quotes each result once: "The add tool returned: 5." A result marked as an error, or whose text
starts with "error", is reported as a failure; one that mentions a denial as not run.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streamdesk.mock.replies import tokenize

if TYPE_CHECKING:
    from streamdesk.mock.chat import Chat

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)")
_WORD = re.compile(r"[^\W\d][\w-]*")
_STOPWORDS = frozenset(
    {"a", "an", "and", "the", "of", "to", "for", "with", "use", "tool", "please"}
)
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class MockCall:
    """One tool call the mock makes: each dialect prefixes `suffix` its own way
    (`call_…`, `toolu_…`, `fc_…`)."""

    suffix: str
    name: str
    arguments: dict[str, Any]
    fragments: tuple[str, ...]  # the arguments' JSON text, cut as it streams

    @property
    def arguments_text(self) -> str:
        return "".join(self.fragments)


def with_tools(chat: Chat, body: Mapping[str, Any]) -> Chat:
    """`chat` answering the tools of a chat-completions `body`: calls when the prompt names an
    offered tool, text quoting the results when the conversation ends with them, else as is."""
    messages = body.get("messages")
    messages = [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    results = _trailing_results(messages)
    if results:
        names = _call_names(messages)
        text = " ".join(_acknowledge(result, names) for result in results)
        return dataclasses.replace(chat, content=tokenize(text), finish_reason="stop")
    tools = _offered(body.get("tools"))
    named = _named_in(chat.prompt, tools)
    if not named:
        return chat
    source = _PromptValues(chat.prompt, tools)
    calls = []
    for name in named:
        arguments = _object(tools[name], source)
        text = json.dumps(arguments, ensure_ascii=False)
        calls.append(MockCall(f"mock{next(_ids)}", name, arguments, tuple(tokenize(text))))
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    finish = "tool_calls"
    if isinstance(limit, int) and sum(len(c.fragments) for c in calls) > limit:
        calls, finish = _cut(calls, limit), "length"
    return dataclasses.replace(chat, content=[], tool_calls=calls, finish_reason=finish)


def _offered(tools: object) -> dict[str, Mapping[str, Any]]:
    """Name -> parameters schema of each function tool (the first of each name)."""
    offered: dict[str, Mapping[str, Any]] = {}
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            continue
        name, parameters = function.get("name"), function.get("parameters")
        if isinstance(name, str) and name and name not in offered:
            offered[name] = parameters if isinstance(parameters, dict) else {}
    return offered


def _named_in(prompt: str, tools: Mapping[str, object]) -> list[str]:
    """The offered tools the prompt names as words, in the order it names them."""
    found = []
    for name in tools:
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", prompt, re.IGNORECASE)
        if match:
            found.append((match.start(), name))
    return [name for _, name in sorted(found)]


def _cut(calls: list[MockCall], limit: int) -> list[MockCall]:
    """The calls as far as `limit` fragments reach (the last one's arguments cut short)."""
    kept: list[MockCall] = []
    for call in calls:
        if limit <= 0:
            break
        kept.append(dataclasses.replace(call, fragments=call.fragments[:limit]))
        limit -= len(call.fragments)
    return kept


class _PromptValues:
    """Values taken from the prompt in order: its numbers, its quoted texts, a word."""

    def __init__(self, prompt: str, tool_names: Iterable[str]) -> None:
        self._numbers: Iterator[str] = iter(_NUMBER.findall(prompt))
        quoted = ("".join(groups) for groups in _QUOTED.findall(prompt))
        self._texts: Iterator[str] = iter(list(quoted))
        skip = {n.lower() for n in tool_names} | _STOPWORDS
        words = [w for w in _WORD.findall(_QUOTED.sub(" ", prompt)) if w.lower() not in skip]
        self._word = words[-1] if words else "example"

    def number(self) -> int | float:
        text = next(self._numbers, "1")
        value = float(text)
        return int(value) if value.is_integer() else value

    def text(self) -> str:
        return next(self._texts, self._word)


def _object(schema: Mapping[str, Any], source: _PromptValues) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    names = [n for n in required if n in properties] if isinstance(required, list) else []
    return {name: _value(properties[name], source) for name in names or properties}


def _value(schema: object, source: _PromptValues) -> Any:
    """A value that fits `schema` (the common JSON Schema keywords), taken from the prompt."""
    if not isinstance(schema, dict):
        return source.text()
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        choices = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(choices, list) and choices:
            return _value(choices[0], source)
        kind = "object" if "properties" in schema else "string"
    if kind in ("integer", "number"):
        number = source.number()
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        return [_value(schema.get("items"), source)]
    if kind == "object":
        return _object(schema, source)
    return source.text()


def _trailing_results(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool results the conversation ends with."""
    results: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.append(message)
    return results[::-1]


def _call_names(messages: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Call id -> tool name, from the assistant messages' tool calls."""
    names = {}
    for message in messages:
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(call.get("id"), str):
                names[call["id"]] = str(function.get("name") or "")
    return names


def _acknowledge(result: dict[str, Any], names: Mapping[str, str]) -> str:
    """One sentence quoting a tool result once, saying whether it failed or was denied."""
    name = result.get("name") or names.get(str(result.get("tool_call_id")), "") or "requested"
    content = result.get("content")
    if isinstance(content, list):  # OpenAI's text parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    text = str(content if content is not None else "").strip()
    said = text.rstrip(".") or "nothing"
    if "denied" in text.lower() or "declined" in text.lower():
        return f"The {name} tool was not run: the call was denied ({said})."
    if result.get("is_error") is True or text.lower().startswith("error"):
        return f"The {name} tool failed: {said}."
    return f"The {name} tool returned: {said}."
