"""Conversation export (Markdown for people, JSON for import) and import of that JSON.

The JSON format is versioned (`format`, `version`); it carries every message including
alternatives, usage and timings, each image once (base64 under `images`, by content hash,
linked from its messages' `attachments`), and never a secret: parameter names that look like
credentials are dropped, and the store holds no keys in the first place.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

from streamdesk.core.attachments import Attachment
from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.store.history.models import (
    FINAL_STATUSES,
    Conversation,
    HistoryImportError,
    StoredMessage,
)
from streamdesk.core.store.history.rows import insert_row, json_column, link_images
from streamdesk.core.wording import money

FORMAT = "streamdesk.conversation"
FORMAT_VERSION = 1
_SECRET_NAME = re.compile(
    r"(api[_-]?key|secret|passw|authoriz|bearer|credential|cookie|^token$|access[_-]?token)",
    re.IGNORECASE,
)
_STATUS_NOTE = {
    "partial": "partial: the reply was cut off",
    "stopped": "stopped by the user",
    "error": "failed",
    "streaming": "still streaming",
}


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def status_note(message: StoredMessage) -> str | None:
    """One line that marks a message that did not complete, or None."""
    note = _STATUS_NOTE.get(message.status)
    if note is None:
        return None
    if message.failure_kind or message.failure_message:
        detail = ": ".join(x for x in (message.failure_kind, message.failure_message) if x)
        note = f"{note} ({detail})"
    return note


def public_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters without anything named like a credential."""
    return {k: v for k, v in params.items() if not _SECRET_NAME.search(k)}


def to_markdown(conv: Conversation, messages: Sequence[StoredMessage]) -> str:
    """The active transcript, readable as plain text; incomplete replies are marked.

    Each message starts with a `---` rule and a bold role line, not a heading: a reply's own
    `##` headings then cannot be mistaken for (or outrank) the export's structure.
    """
    out = [f"# {conv.title or 'Untitled conversation'}", ""]
    meta = [f"- Created: {_when(conv.created)}", f"- Updated: {_when(conv.updated)}"]
    if conv.provider or conv.model:
        meta.append(f"- Model: {' / '.join(x for x in (conv.provider, conv.model) if x)}")
    demo = conv.provider == MOCK_PROVIDER_ID
    params = public_params(conv.params)
    if params:
        meta.append("- Parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(params.items())))
    out += [*meta, ""]
    if conv.system_prompt:
        out += ["---", "", "**System**", "", conv.system_prompt, ""]
    for m in messages:
        heading = f"**{m.role.capitalize()}**"
        if m.alt_count > 1:
            heading += f" (alternative {m.alt_index + 1} of {m.alt_count})"
        out += ["---", "", heading, ""]
        note = status_note(m)
        if note:
            out += [f"> *{note}*", ""]
        if m.reasoning:
            out += ["<details><summary>Reasoning</summary>", "", m.reasoning, "", "</details>", ""]
        out += [*_content_with_tools(m), ""]
        if m.attachments:
            names = ", ".join(a.label for a in m.attachments)
            out += [f"*{'Image' if len(m.attachments) == 1 else 'Images'}: {names}*", ""]
        facts = []
        if m.completion_tokens is not None:
            facts.append(f"{m.prompt_tokens or 0} prompt + {m.completion_tokens} completion tokens")
        if m.cost is not None and demo:
            facts.append("cost: demo")  # the offline demo is free, whatever a list price says
        elif m.cost is not None:
            facts.append(f"cost {money(m.cost, estimated=m.estimated)}")
        if facts:
            out += [f"*{'; '.join(facts)}*", ""]
    return "\n".join(out).rstrip() + "\n"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text` (tool output is untrusted)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _tool_block(call: Mapping[str, Any], result: Mapping[str, Any] | None) -> list[str]:
    """One call and its result, quoted so nothing in them reads as the export's structure."""
    server = f" on {result['server']}" if result and result.get("server") else ""
    args = json.dumps(call.get("arguments") or {}, ensure_ascii=False, indent=2)
    if call.get("error"):
        args = f"{call.get('arguments_text', '')}\n(not valid: {call['error']})"
    lines = [f"**Tool call** `{call.get('name', '')}`{server}", ""]
    lines += [(fence := _fence(args)) + "json", args, fence, ""]
    if result is None:
        return [*lines, "*no result*", ""]
    outcome, duration = result.get("outcome", "ok"), result.get("duration") or 0
    lines += [f"**Result** ({outcome}, {duration:.2f} s)", ""]
    content = str(result.get("content", ""))
    return [*lines, (fence := _fence(content)), content, fence, ""]


def _content_with_tools(m: StoredMessage) -> list[str]:
    """The message's text with each tool round's calls and results where they came."""
    out: list[str] = []
    start = 0
    for r in m.tool_rounds:
        at = r.get("at")
        if not isinstance(at, int):
            continue
        if m.content[start:at].strip():
            out += [m.content[start:at].strip("\n"), ""]
        results = {x.get("call_id"): x for x in r.get("results") or () if isinstance(x, Mapping)}
        for call in r.get("calls") or ():
            if isinstance(call, Mapping):
                quoted = "\n".join(_tool_block(call, results.get(call.get("id"))))
                out += ["> " + line if line else ">" for line in quoted.split("\n")]
                out.append("")
        start = max(start, at)
    out.append(m.content[start:].strip("\n") if m.tool_rounds else m.content)
    return out


def message_to_json(m: StoredMessage) -> dict[str, Any]:
    usage = None
    if m.prompt_tokens is not None or m.completion_tokens is not None:
        usage = {"prompt_tokens": m.prompt_tokens, "completion_tokens": m.completion_tokens}
    return {
        "id": m.id,
        "group_id": m.group_id,
        "alt_index": m.alt_index,
        "active": m.active,
        "role": m.role,
        "content": m.content,
        "reasoning": m.reasoning,
        "status": m.status,
        "failure_kind": m.failure_kind,
        "failure_message": m.failure_message,
        "protocol": m.protocol,
        "model": m.model,
        "usage": usage,
        "timings": dict(m.timings) if m.timings is not None else None,
        "cost": m.cost,
        "cost_estimated": m.estimated,
        "created": m.created,
        "superseded_by": m.superseded_by,
        "tool_rounds": [dict(r) for r in m.tool_rounds],
        "attachments": [{"hash": a.digest, "name": a.name} for a in m.attachments],
    }


def to_json(
    conv: Conversation,
    messages: Sequence[StoredMessage],
    *,
    public: bool = True,
    images: Mapping[str, Attachment] | None = None,
) -> dict[str, Any]:
    """Everything needed to rebuild the conversation; `public` drops credential-like params.
    `images` (by content hash) are the bytes of the images the messages link to."""
    stored = {
        digest: {
            "name": image.name,
            "mime": image.mime,
            "width": image.width,
            "height": image.height,
            "data": image.base64,
        }
        for digest, image in (images or {}).items()
    }
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "conversation": {
            "id": conv.id,
            "title": conv.title,
            "created": conv.created,
            "updated": conv.updated,
            "provider": conv.provider,
            "model": conv.model,
            "base_url": conv.base_url,
            "ws_url": conv.ws_url,
            "protocol": conv.protocol,
            "system_prompt": conv.system_prompt,
            "params": public_params(conv.params) if public else dict(conv.params),
            "pinned": conv.pinned,
        },
        "messages": [message_to_json(m) for m in messages],
        "images": stored,
    }


def _need(obj: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(key)
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise HistoryImportError(f"{where}: `{key}` is missing or has the wrong type")
    return value


def _opt(obj: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    return None if obj.get(key) is None else _need(obj, key, kinds, where)


def parse_import(data: object) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Check an export and return (conversation fields, message fields), or raise why not."""
    if not isinstance(data, Mapping):
        raise HistoryImportError("not a Streamdesk export: the top level is not a JSON object")
    if data.get("format") != FORMAT:
        raise HistoryImportError(f"not a Streamdesk export: `format` is not {FORMAT!r}")
    version = data.get("version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise HistoryImportError(
            f"unsupported export version {version!r}; this Streamdesk reads 1..{FORMAT_VERSION}"
        )
    c = data.get("conversation")
    if not isinstance(c, Mapping):
        raise HistoryImportError("`conversation` is missing or not an object")
    num = (int, float)
    conv = {
        "title": " ".join((_opt(c, "title", str, "conversation") or "").split()),  # one line
        "created": _opt(c, "created", num, "conversation"),
        "updated": _opt(c, "updated", num, "conversation"),
        "provider": _opt(c, "provider", str, "conversation") or "",
        "model": _opt(c, "model", str, "conversation") or "",
        "base_url": _opt(c, "base_url", str, "conversation") or "",
        "ws_url": _opt(c, "ws_url", str, "conversation") or "",
        "protocol": _opt(c, "protocol", str, "conversation") or "sse",
        "system_prompt": _opt(c, "system_prompt", str, "conversation") or "",
        "params": public_params(_opt(c, "params", dict, "conversation") or {}),
        "pinned": bool(_opt(c, "pinned", (bool, int), "conversation")),
    }
    raw = data.get("messages")
    if not isinstance(raw, list):
        raise HistoryImportError("`messages` is missing or not a list")
    messages = []
    for i, m in enumerate(raw):
        where = f"message {i + 1}"
        if not isinstance(m, Mapping):
            raise HistoryImportError(f"{where} is not an object")
        status = _opt(m, "status", str, where) or "complete"
        if status == "streaming":
            status = "partial"  # it was cut when exported
        if status not in FINAL_STATUSES:
            raise HistoryImportError(f"{where}: unknown status {status!r}")
        usage = _opt(m, "usage", dict, where) or {}
        messages.append(
            {
                "old_id": _opt(m, "id", int, where),
                "old_group": _opt(m, "group_id", int, where),
                "alt_index": _opt(m, "alt_index", int, where) or 0,
                "active": m.get("active", True) is not False,
                "role": _need(m, "role", str, where),
                "content": _need(m, "content", str, where),
                "reasoning": _opt(m, "reasoning", str, where) or "",
                "status": status,
                "failure_kind": _opt(m, "failure_kind", str, where),
                "failure_message": _opt(m, "failure_message", str, where),
                "protocol": _opt(m, "protocol", str, where),
                "model": _opt(m, "model", str, where),
                "prompt_tokens": _opt(usage, "prompt_tokens", int, where),
                "completion_tokens": _opt(usage, "completion_tokens", int, where),
                "timings": _opt(m, "timings", dict, where),
                "cost": _opt(m, "cost", num, where),
                "cost_estimated": bool(_opt(m, "cost_estimated", (bool, int), where)),
                "created": _opt(m, "created", num, where),
                "superseded_by": _opt(m, "superseded_by", int, where),
                "tool_rounds": _tool_rounds(m, where),
                "attachments": _links(m, where),
            }
        )
    return conv, messages


def _links(m: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    """A message's image links: (content hash, name) pairs."""
    links = []
    for link in _opt(m, "attachments", list, where) or []:
        if not isinstance(link, Mapping):
            raise HistoryImportError(f"{where}: an attachment is not an object")
        links.append((_need(link, "hash", str, where), _opt(link, "name", str, where) or ""))
    return links


def parse_images(data: Mapping[str, Any]) -> dict[str, Attachment]:
    """The export's images by content hash; each must be base64 whose SHA-256 is its key."""
    raw = data.get("images") or {}
    if not isinstance(raw, Mapping):
        raise HistoryImportError("`images` is not an object")
    images = {}
    for digest, item in raw.items():
        where = f"image {str(digest)[:12]}"
        if not isinstance(item, Mapping):
            raise HistoryImportError(f"{where} is not an object")
        try:
            payload = base64.b64decode(_need(item, "data", str, where), validate=True)
        except (binascii.Error, ValueError):
            raise HistoryImportError(f"{where}: `data` is not base64") from None
        if hashlib.sha256(payload).hexdigest() != digest:
            raise HistoryImportError(f"{where}: the data does not match its hash")
        images[digest] = Attachment(
            _opt(item, "name", str, where) or "",
            _need(item, "mime", str, where),
            payload,
            _opt(item, "width", int, where) or 0,
            _opt(item, "height", int, where) or 0,
        )
    return images


def _tool_rounds(m: Mapping[str, Any], where: str) -> str | None:
    """A message's tool rounds as the JSON column holds them (checked for shape only)."""
    rounds = _opt(m, "tool_rounds", list, where) or []
    for r in rounds:
        if not (
            isinstance(r, Mapping)
            and isinstance(r.get("at"), int)
            and isinstance(r.get("calls"), list)
            and isinstance(r.get("results", []), list)
        ):
            raise HistoryImportError(f"{where}: a tool round is not an object with at and calls")
    return json.dumps(rounds, ensure_ascii=False) if rounds else None


def insert_export(db: sqlite3.Connection, data: Mapping[str, Any], *, keep_ids: bool) -> int:
    """Insert a checked export inside the caller's transaction; ids kept for undo, else new."""
    conv, msgs = parse_import(data)
    images = parse_images(data)
    if keep_ids:
        conv["params"] = dict(data["conversation"].get("params") or {})
    now = time.time()
    conv["created"] = conv["created"] if conv["created"] is not None else now
    conv["updated"] = conv["updated"] if conv["updated"] is not None else now
    conv["params"] = json.dumps(conv["params"])
    if keep_ids:
        conv["id"] = data["conversation"]["id"]
    msgs.sort(key=lambda m: (m["old_group"] or m["old_id"] or 0, m["alt_index"]))
    conversation_id = insert_row(db, "conversations", conv)
    groups: dict[int | None, int] = {}
    new_ids: dict[int | None, int] = {}
    hidden: list[tuple[int, int]] = []  # (new id, old superseded_by)
    for m in msgs:
        old_id, old_group = m.pop("old_id"), m.pop("old_group")
        links = m.pop("attachments")
        m["created"] = m["created"] if m["created"] is not None else now
        m["timings"] = json_column(m["timings"])
        m["conversation_id"] = conversation_id
        if keep_ids:
            m["id"] = old_id
        new_id = new_ids[old_id] = insert_row(db, "messages", m)
        linked = [
            dataclasses.replace(images[digest], name=name)
            for digest, name in links
            if digest in images
        ]
        link_images(db, new_id, linked)
        if m["superseded_by"] is not None:
            hidden.append((new_id, m["superseded_by"]))
        key = old_group if old_group is not None else old_id
        group = groups.setdefault(key, new_id) if key is not None else new_id
        db.execute("UPDATE messages SET group_id = ? WHERE id = ?", (group, new_id))
    # A hidden branch points at the prompt alternative it followed: map it to the new ids.
    db.executemany(
        "UPDATE messages SET superseded_by = ? WHERE id = ?",
        [(new_ids.get(old), new_id) for new_id, old in hidden],
    )
    return conversation_id
