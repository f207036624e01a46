"""Assistants: named presets of a system prompt, a provider and model, parameters and tools.

A conversation takes an assistant's values into its own storage: the system prompt becomes the
conversation's system message, the parameters its `params` (the keys `Conversation.request_for`
reads), the tools its `mcp_servers`, and the assistant's name is kept in its params under
`ASSISTANT` so the window and the CLI can say which one it uses. The provider and model, when
set, are where its requests go. A few built-ins are always there; the user's own (and their
edits of a built-in, under the same name) live in settings.toml as `[assistants.NAME]` tables.
JSON import and export use the same keys, so a file written by one user reads on another's
machine; nothing here is a secret.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from streamdesk.core.errors import SettingsError

ASSISTANT = "assistant"  # the params key naming a conversation's assistant
TOOL_SERVERS = "mcp_servers"  # the same key as Conversation.tool_servers
PRESET_PARAMS = ("temperature", "max_tokens", "reasoning", TOOL_SERVERS, ASSISTANT)
DEFAULT_ASSISTANT = "General"
JSON_FORMAT = "streamdesk.assistants"  # the "format" value of an export file
JSON_VERSION = 1
MAX_NAME = 80
MAX_PROMPT = 32_768  # characters of a system prompt
_KEYS = (
    "description", "system_prompt", "provider", "model", "temperature", "max_tokens",
    "reasoning", "mcp_servers",
)  # fmt: skip


class AssistantError(SettingsError):
    """An assistant (in settings.toml or a JSON file) is invalid; `field` names the entry."""


@dataclass(frozen=True)
class Assistant:
    """A preset. Empty `provider` / `model` and None parameters leave the chat's own."""

    name: str
    description: str = ""
    system_prompt: str = ""
    provider: str = ""  # provider id, as in Settings ▸ Providers
    model: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    reasoning: bool = False
    mcp_servers: tuple[str, ...] = ()
    builtin: bool = field(default=False, compare=False)  # shipped with Streamdesk, never stored

    def params(self) -> dict[str, Any]:
        """The conversation parameters this assistant sets (its name among them)."""
        params: dict[str, Any] = {ASSISTANT: self.name}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens:
            params["max_tokens"] = self.max_tokens
        if self.reasoning:
            params["reasoning"] = True
        if self.mcp_servers:
            params[TOOL_SERVERS] = list(self.mcp_servers)
        return params

    def table(self) -> dict[str, Any]:
        """Its settings.toml table / JSON object without the name: only what is set."""
        out: dict[str, Any] = {}
        for key in _KEYS:
            value = getattr(self, key)
            if value in ("", None, False, ()):
                continue
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def summary(self) -> str:
        """One line on what it changes (the picker's tooltip, `assistants list`)."""
        parts = []
        if self.provider or self.model:
            parts.append(" / ".join(x for x in (self.provider, self.model) if x))
        if self.temperature is not None:
            parts.append(f"temperature {self.temperature:g}")
        if self.max_tokens:
            parts.append(f"max {self.max_tokens} tokens")
        if self.reasoning:
            parts.append("thinking")
        if self.mcp_servers:
            parts.append("tools: " + ", ".join(self.mcp_servers))
        return ", ".join(parts) or "the chat's provider, model and parameters"


# --- built-ins ---------------------------------------------------------------------------------

_CODE_REVIEWER = """\
You are a senior software engineer reviewing code. Review what the user shares the way a \
careful colleague would before approving a pull request.

- Start with a one-paragraph verdict: does it work, is it safe to merge, what matters most.
- Then list findings in order of severity: bugs and incorrect behaviour, security problems, \
data loss and concurrency hazards, then performance, then readability and naming.
- For each finding, quote the line or name the function, say why it is a problem with a \
concrete input or scenario, and show the fix as a short code snippet.
- Point out missing tests for the behaviour that matters, and name the cases they should cover.
- Do not pad the review with praise or restate the code. If something is fine, skip it.
- If the intent of the code is unclear, ask one precise question instead of guessing.
- Match the language, style and conventions already used in the code."""

_WRITING_EDITOR = """\
You are an experienced editor. Improve the text the user gives you while keeping their \
meaning, voice and register.

- Fix grammar, spelling and punctuation. Cut redundant words, hedges and filler.
- Prefer concrete words to abstract ones, active voice to passive, short sentences to long \
ones when the long ones lose the reader.
- Keep the structure unless it gets in the reader's way; then say what you moved and why.
- Do not add facts, claims or examples the author did not make.
- Reply with the edited text first. Below it, under "Changes", list the few edits that \
matter most with a one-line reason each, so the author learns from them.
- If the user asks only for feedback, give feedback and do not rewrite."""

_TRANSLATOR = """\
You are a professional translator. Translate the user's text faithfully and naturally.

- If the user names a target language, use it. Otherwise translate into English, or into \
the user's own language if the text is already in English and they wrote to you in another.
- Keep meaning, tone and register; render idioms with the idiom a native speaker would use, \
not word by word.
- Preserve formatting exactly: Markdown, lists, line breaks, code blocks, placeholders such \
as {name} or %s, URLs and product names stay as they are.
- Reply with the translation only. Add a short note after it only when a phrase is \
ambiguous or has no good equivalent, and say which choice you made."""

_TEACHER = """\
You are a patient teacher who explains things so that they stick.

- First find out what the learner already knows from their question, and start from there.
- Explain the core idea in plain words before any jargon; define each term the first time \
you use it.
- Use one concrete example or analogy from everyday life, then show how it maps to the real \
thing, and where the analogy stops working.
- Build up in small steps. Use short paragraphs, and a small worked example for anything \
with numbers or code.
- End with a two- or three-sentence summary and one short question the learner can answer \
to check their understanding.
- If the question rests on a misconception, say so kindly and correct it first."""

BUILTIN_ASSISTANTS: tuple[Assistant, ...] = (
    Assistant(
        DEFAULT_ASSISTANT,
        "No system prompt: the model as it is, with the chat's own settings.",
        builtin=True,
    ),
    Assistant(
        "Code reviewer",
        "Reviews code like a careful colleague: bugs first, with fixes and missing tests.",
        _CODE_REVIEWER,
        temperature=0.2,
        builtin=True,
    ),
    Assistant(
        "Writing editor",
        "Tightens your text while keeping your voice, and says what it changed.",
        _WRITING_EDITOR,
        temperature=0.4,
        builtin=True,
    ),
    Assistant(
        "Translator",
        "Faithful, natural translation that keeps formatting and placeholders intact.",
        _TRANSLATOR,
        temperature=0.2,
        builtin=True,
    ),
    Assistant(
        "Explain like a teacher",
        "Step-by-step explanations with an example and a question to check understanding.",
        _TEACHER,
        temperature=0.6,
        builtin=True,
    ),
)
BUILTIN_NAMES = frozenset(a.name for a in BUILTIN_ASSISTANTS)


# --- the list the user sees --------------------------------------------------------------------


def all_assistants(own: Sequence[Assistant]) -> list[Assistant]:
    """Built-ins in their order (a user's edit of one in its place), then the user's own."""
    mine = {a.name: a for a in own}
    listed = [mine.pop(b.name, b) for b in BUILTIN_ASSISTANTS]
    return listed + list(mine.values())


def find_assistant(own: Sequence[Assistant], name: str) -> Assistant | None:
    """The assistant called `name` (exact, else ignoring case), or None."""
    listed = all_assistants(own)
    exact = next((a for a in listed if a.name == name), None)
    folded = name.casefold().strip()
    return exact or next((a for a in listed if a.name.casefold() == folded), None)


def assistant_of(params: Mapping[str, Any]) -> str:
    """The name of the assistant a conversation's params say it uses ("" when none)."""
    value = params.get(ASSISTANT)
    return value if isinstance(value, str) else ""


def applied(assistant: Assistant, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A conversation's (system prompt, params) once `assistant` is chosen: its prompt,
    parameters and tools replace the chat's; everything else in params (approved tools) stays."""
    kept = {k: v for k, v in params.items() if k not in PRESET_PARAMS}
    return assistant.system_prompt, {**kept, **assistant.params()}


def unique_name(name: str, taken: Iterable[str]) -> str:
    """`name`, or "name (copy)", "name (copy 2)", … when it is taken (Duplicate)."""
    used = set(taken)
    if name not in used:
        return name
    candidate, n = f"{name} (copy)", 2
    while candidate in used:
        candidate, n = f"{name} (copy {n})", n + 1
    return candidate


# --- parsing (settings.toml tables and JSON objects) -------------------------------------------


def _text(data: Mapping[str, Any], key: str, where: str, limit: int = 4096) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise AssistantError(f"must be a string, got {type(value).__name__}", f"{where}.{key}")
    if len(value) > limit:
        raise AssistantError(f"is too long ({len(value)} characters)", f"{where}.{key}")
    return value


def _temperature(data: Mapping[str, Any], where: str) -> float | None:
    value = data.get("temperature")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AssistantError(f"must be a number, got {value!r}", f"{where}.temperature")
    if not math.isfinite(value) or not 0 <= value <= 2:
        raise AssistantError(f"must be between 0 and 2, got {value!r}", f"{where}.temperature")
    return float(value)


def _max_tokens(data: Mapping[str, Any], where: str) -> int | None:
    value = data.get("max_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10_000_000:
        raise AssistantError(
            f"must be a whole number of tokens above 0, got {value!r}", f"{where}.max_tokens"
        )
    return value


def _servers(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = data.get(TOOL_SERVERS, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise AssistantError("must be a list of MCP server names", f"{where}.{TOOL_SERVERS}")
    return tuple(dict.fromkeys(value))


def check_name(name: object, where: str) -> str:
    """A usable assistant name (the picker shows it; the CLI takes it as an argument)."""
    if not isinstance(name, str) or not name.strip():
        raise AssistantError("must be a non-empty string", where)
    if len(name) > MAX_NAME:
        raise AssistantError(f"is too long ({len(name)} characters, at most {MAX_NAME})", where)
    if name != name.strip() or any(c < " " for c in name):
        raise AssistantError(f"{name!r} has spaces at an end or control characters", where)
    return name


def parse_assistant(name: str, data: object, where: str) -> Assistant:
    """One assistant from its table / object; `where` prefixes the field an error names."""
    check_name(name, where)
    if not isinstance(data, Mapping):
        raise AssistantError("must be a table of the assistant's settings", where)
    unknown = sorted(str(k) for k in data if k not in (*_KEYS, "name"))
    if unknown:
        raise AssistantError(
            f"has unknown key(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}", where
        )
    reasoning = data.get("reasoning", False)
    if not isinstance(reasoning, bool):
        raise AssistantError(f"must be true or false, got {reasoning!r}", f"{where}.reasoning")
    return Assistant(
        name=name,
        description=_text(data, "description", where),
        system_prompt=_text(data, "system_prompt", where, MAX_PROMPT),
        provider=_text(data, "provider", where, MAX_NAME),
        model=_text(data, "model", where),
        temperature=_temperature(data, where),
        max_tokens=_max_tokens(data, where),
        reasoning=reasoning,
        mcp_servers=_servers(data, where),
    )


def parse_table(data: object, where: str = "assistants") -> list[Assistant]:
    """The `[assistants.NAME]` tables of settings.toml."""
    if not isinstance(data, Mapping):
        raise AssistantError("must be a table of assistants by name ([assistants.NAME])", where)
    return [parse_assistant(str(n), v, f"{where}.{n}") for n, v in data.items()]


# --- JSON import and export --------------------------------------------------------------------


def to_json(assistants: Iterable[Assistant]) -> dict[str, Any]:
    """An export file's object: `{"format", "version", "assistants": [{"name", ...}]}`."""
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "assistants": [{"name": a.name, **a.table()} for a in assistants],
    }


def from_json(data: object) -> list[Assistant]:
    """The assistants of an export file, of a list of assistant objects, or of one object.

    Raises `AssistantError` naming the first bad entry (`assistants[2].temperature`)."""
    where = "assistants"
    items: object = data
    if isinstance(data, Mapping) and "assistants" in data:
        fmt = data.get("format", JSON_FORMAT)
        if fmt != JSON_FORMAT:
            raise AssistantError(f"is {fmt!r}, not a Streamdesk assistants file", "format")
        version = data.get("version", JSON_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version > JSON_VERSION:
            raise AssistantError(
                f"{version!r} is newer than this Streamdesk reads ({JSON_VERSION})", "version"
            )
        items = data["assistants"]
    elif isinstance(data, Mapping):
        items, where = [data], "assistant"
    if not isinstance(items, list):
        raise AssistantError("must be a list of assistant objects", where)
    if not items:
        raise AssistantError("holds no assistant", where)
    found: list[Assistant] = []
    for i, item in enumerate(items):
        at = where if where == "assistant" else f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise AssistantError("must be an object with a name", at)
        found.append(parse_assistant(check_name(item.get("name"), f"{at}.name"), item, at))
    names = [a.name for a in found]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise AssistantError(f"names {dup!r} twice", where)
    return found


def merged(own: Sequence[Assistant], incoming: Iterable[Assistant]) -> list[Assistant]:
    """The user's assistants with `incoming` added (one with the same name is replaced)."""
    builtins = {b.name: b for b in BUILTIN_ASSISTANTS}
    result = {a.name: a for a in own}
    for a in incoming:
        if builtins.get(a.name) == a:  # a built-in as shipped: nothing to store
            result.pop(a.name, None)
        else:
            result[a.name] = replace(a, builtin=False)
    return list(result.values())
