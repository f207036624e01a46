"""The immutable records the history store hands out, its errors, and small pure helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streamdesk.core.attachments import Attachment
from streamdesk.core.errors import StreamdeskError
from streamdesk.core.events import Usage

# Highlight markers in `SearchHit.snippet`: control characters never found in chat text, so the
# window can split on them and the CLI can turn them into its own emphasis.
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
FINAL_STATUSES = ("complete", "partial", "stopped", "error")

_M = f"[{HIGHLIGHT_START}{HIGHLIGHT_END}]*"  # a highlight marker may sit next to a marker
_MD_LINE = re.compile(
    rf"(?m)^(\s*…?){_M}(?:#{{1,6}}\s+|>\s?|[-*+]\s+(?:\[[ xX]\]\s+)?|```\w*|~~~\w*)"
)
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*\)")
_MD_EMPH = re.compile(r"(\*\*|__|~~|`+|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*]))")


def plain_snippet(snippet: str) -> str:
    """A snippet for display: Markdown markers (#, >, list bullets, **, `, links) removed,
    whitespace collapsed; highlight markers kept. Display only: what matched stays the text."""
    text = _MD_LINE.sub(r"\1", snippet)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_EMPH.sub("", text)
    return " ".join(text.split())


class HistoryError(StreamdeskError):
    """A history operation failed; the message says what to do."""


class ConversationNotFound(HistoryError, LookupError):
    def __init__(self, conversation_id: int) -> None:
        super().__init__(
            f"no conversation with id {conversation_id}; see `streamdesk history list`"
        )
        self.conversation_id = conversation_id


class MessageNotFound(HistoryError, LookupError):
    def __init__(self, message_id: int) -> None:
        super().__init__(f"no message with id {message_id}")
        self.message_id = message_id


class HistoryImportError(HistoryError, ValueError):
    """The file to import is not a Streamdesk conversation export; the message says why."""


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One row of the conversation list."""

    id: int
    title: str
    created: float  # Unix time, seconds
    updated: float
    pinned: bool
    provider: str
    model: str
    message_count: int  # active messages (what the transcript shows)
    last_status: str = "complete"  # of the last shown message: partial / stopped / error show


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    title: str
    created: float
    updated: float
    provider: str
    model: str
    system_prompt: str
    params: Mapping[str, Any]  # temperature, max_tokens, ...
    pinned: bool
    message_count: int
    base_url: str = ""  # the host it is held with ("" : the provider's own)
    ws_url: str = ""
    protocol: str = "sse"


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """An image linked to a message: its content hash, the name it was attached under, and
    what it is; its bytes are stored once per hash and read apart (`HistoryStore.images`)."""

    digest: str
    name: str
    mime: str
    width: int
    height: int

    @property
    def label(self) -> str:
        return f"{self.name} ({self.width}×{self.height})"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message; alternatives of one reply share `group_id`, one of them is `active`."""

    id: int
    conversation_id: int
    group_id: int
    alt_index: int
    alt_count: int
    active: bool
    role: str
    content: str
    reasoning: str
    status: str  # complete | partial | stopped | error | streaming
    failure_kind: str | None
    failure_message: str | None
    protocol: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    timings: Mapping[str, Any] | None  # e.g. ttft, total, tokens_per_s
    cost: float | None
    estimated: bool  # tokens and cost estimated: the server sent no usage
    created: float
    # Hidden because a prompt before it was edited: the id of the prompt alternative it follows
    # (shown again when that alternative is flipped back); None for the active branch.
    superseded_by: int | None = None
    # A reply that called tools: its rounds as stored (`core.chat.ToolRound.as_dict`), in order.
    tool_rounds: tuple[Mapping[str, Any], ...] = ()
    # A prompt's images, in the order they were attached.
    attachments: tuple[StoredAttachment, ...] = ()

    @property
    def usage(self) -> Usage | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return Usage(self.prompt_tokens or 0, self.completion_tokens or 0)


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: int
    message_id: int
    conversation_title: str
    role: str
    snippet: str  # matched terms between HIGHLIGHT_START and HIGHLIGHT_END
    created: float


@dataclass(frozen=True, slots=True)
class ConversationSnapshot:
    """What `delete_conversation` removed, for `restore_conversation` (undo). In memory only."""

    conversation_id: int
    data: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class MessagesSnapshot:
    """What `delete_messages` removed, for `restore_messages` (undo): each message's row as it
    was stored (column name to value), its image links and those images. In memory only."""

    rows: tuple[Mapping[str, Any], ...] = field(repr=False)
    links: tuple[tuple[int, int, str, str], ...] = ()  # message id, position, image hash, name
    images: Mapping[str, Attachment] = field(default_factory=dict, repr=False)  # by hash

    @property
    def message_ids(self) -> tuple[int, ...]:
        return tuple(int(row["id"]) for row in self.rows)

    @property
    def conversation_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(int(row["conversation_id"]) for row in self.rows))


_MD_PREFIX = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+|```\w*\s*)+")


def make_title(prompt: str, max_len: int = 48) -> str:
    """A short title from a prompt: its first non-empty line, without Markdown, cut at a word."""
    line = next((ln for ln in prompt.splitlines() if ln.strip()), "")
    line = " ".join(_MD_PREFIX.sub("", line).split()).strip("`*_ ")
    if not line:
        return "New conversation"
    if len(line) <= max_len:
        return line
    cut = line[: max_len - 1]
    space = cut.rfind(" ")
    if space >= max_len // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def fts_query(text: str) -> str | None:
    """User text to an FTS5 query: every word must match, the last one as a prefix.

    Each word is quoted so FTS5 syntax in the text (AND, NEAR, `*`, `"`) is taken literally.
    """
    words = [w for w in text.split() if re.search(r"\w", w)]
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)
