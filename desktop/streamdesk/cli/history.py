"""`streamdesk history list | show ID | search TEXT | export ID | import FILE | check`.

Exit codes: 0 ok, 1 the `export --out` file cannot be written, 2 usage (a --limit under 1,
search text with no word in it), 5 unknown conversation id, 10 a file that cannot be imported,
11 the history file was damaged (`check`; it has been repaired: a dated copy of the damaged file
is kept next to it), 12 the disk is full (nothing was written).

Titles are listed on one line and cut at `TITLE_WIDTH` characters: an imported title may be
anything.

A damaged file found by any command is repaired first and said once on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamdesk.cli._common import at_least_one, one_line, warn, write_out

if TYPE_CHECKING:  # sqlite and the store load only for the subcommand that runs
    from streamdesk.core.attachments import Attachment
    from streamdesk.core.store.history import HistoryStore
    from streamdesk.core.store.history.models import StoredAttachment

Action = Callable[["HistoryStore", argparse.Namespace], int]

EXIT_CANNOT_WRITE = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 5
EXIT_BAD_IMPORT = 10
EXIT_DAMAGED = 11
EXIT_DISK_FULL = 12
TITLE_WIDTH = 60  # characters of a title in `list` and `search`


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("history", help="list, show, search, export and import chats")
    sub = parser.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="conversations, pinned first then newest")
    p.add_argument(
        "--limit", type=at_least_one, default=500, metavar="N", help="at most N (default 500)"
    )
    p.set_defaults(handler=_list)
    p = sub.add_parser("show", help="print a conversation's transcript")
    p.add_argument("id", type=int)
    p.set_defaults(handler=_show)
    p = sub.add_parser("search", help="full-text search over every message")
    p.add_argument("text", nargs="+")
    p.add_argument(
        "--limit", type=at_least_one, default=50, metavar="N", help="at most N hits (default 50)"
    )
    p.set_defaults(handler=_search)
    p = sub.add_parser("export", help="write a conversation as Markdown or JSON")
    p.add_argument("id", type=int)
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("--out", type=Path, help="file to write (default: stdout)")
    p.set_defaults(handler=_export)
    p = sub.add_parser("import", help="import a JSON export as a new conversation")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=_import)
    p = sub.add_parser("check", help="check the history file; repair it if it is damaged")
    p.set_defaults(handler=_check)


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def listed_title(title: str) -> str:
    """A title for one row: its whitespace runs as single spaces, control characters escaped,
    at most `TITLE_WIDTH` characters."""
    return one_line(" ".join(title.split()), TITLE_WIDTH) or "(untitled)"


def _run(args: argparse.Namespace, action: Action) -> int:
    """Open the store, run the action; an unknown id is exit 5, a full disk exit 12.

    A read that meets damage repairs the file (HistoryRepaired): the action runs once more on
    the repaired file. What was repaired is said once.
    """
    from streamdesk.core.store.history import (
        ConversationNotFound,
        HistoryDiskFull,
        HistoryRepaired,
        HistoryStore,
    )

    with HistoryStore() as store:
        try:
            try:
                result = action(store, args)
            except HistoryRepaired:
                result = action(store, args)
        except ConversationNotFound as exc:
            result = EXIT_NOT_FOUND
            warn(str(exc))
        except HistoryDiskFull as exc:
            result = EXIT_DISK_FULL
            warn(str(exc))
        finally:
            if store.recovery_notice:
                warn(store.recovery_notice)
    return result


def _list(args: argparse.Namespace) -> int:
    def action(store: HistoryStore, args: argparse.Namespace) -> int:
        rows = store.list_conversations(limit=args.limit)
        if not rows:
            print("No conversations yet.")
        else:
            print(f"{'ID':>6} {'UPDATED':16}   TITLE  (* pinned)")
        for c in rows:
            mark = "*" if c.pinned else " "
            title = listed_title(c.title)
            state = "" if c.last_status == "complete" else f"  (last reply {c.last_status})"
            print(
                f"{c.id:>6} {_when(c.updated)} {mark} {title}  [{c.message_count} messages]{state}"
            )
        return 0

    return _run(args, action)


def _show(args: argparse.Namespace) -> int:
    from streamdesk.core.providers import MOCK_PROVIDER_ID
    from streamdesk.core.store.history import status_note
    from streamdesk.core.wording import money

    def action(store: HistoryStore, args: argparse.Namespace) -> int:
        conv = store.get_conversation(args.id)
        demo = conv.provider == MOCK_PROVIDER_ID
        out = [f"# {conv.title or '(untitled)'}  (id {conv.id}, {_when(conv.updated)})"]
        if conv.system_prompt:
            out.append(f"\n[system]\n{conv.system_prompt}")
        messages = store.messages(conv.id)
        images = store.images_of(messages)
        for m in messages:
            note = status_note(m)
            head = f"[{m.role}]" + (f" [{note}]" if note else "")
            if m.alt_count > 1:
                head += f" (alternative {m.alt_index + 1}/{m.alt_count})"
            if m.cost is not None:
                head += f" (cost {money(m.cost, estimated=m.estimated, demo=demo)})"
            out.append(f"\n{head}\n{m.content}")
            out += [attachment_line(a, images.get(a.digest)) for a in m.attachments]
        print("\n".join(out))
        return 0

    return _run(args, action)


def attachment_line(link: StoredAttachment, image: Attachment | None) -> str:
    """An image under its prompt: "  attached: cat.png (PNG, 640×480, 12,345 bytes)"."""
    from streamdesk.core.attachments import format_name

    facts = [format_name(link.mime), f"{link.width}×{link.height}"]
    if image is not None:
        facts.append(f"{len(image.data):,} bytes")
    return f"  attached: {link.name} ({', '.join(facts)})"


def _search(args: argparse.Namespace) -> int:
    from streamdesk.core.store.history import HIGHLIGHT_END, HIGHLIGHT_START, plain_snippet
    from streamdesk.core.store.history.models import fts_query

    text = " ".join(args.text)
    if fts_query(text) is None:
        warn(f"usage: search for at least one word (letters or digits), not {text!r}")
        return EXIT_USAGE

    def action(store: HistoryStore, args: argparse.Namespace) -> int:
        hits = store.search(text, limit=args.limit)
        if not hits:
            print("No matches.")
        else:
            print(f"{'CONV':>6} MESSAGE  TITLE (ROLE): SNIPPET  ([hit])")
        for h in hits:
            snippet = plain_snippet(h.snippet)
            snippet = snippet.replace(HIGHLIGHT_START, "[").replace(HIGHLIGHT_END, "]")
            title = listed_title(h.conversation_title)
            print(f"{h.conversation_id:>6} #{h.message_id} {title} ({h.role}): {snippet}")
        return 0

    return _run(args, action)


def _export(args: argparse.Namespace) -> int:
    def action(store: HistoryStore, args: argparse.Namespace) -> int:
        if args.format == "json":
            text = json.dumps(store.export_json(args.id), ensure_ascii=False, indent=2) + "\n"
        else:
            text = store.export_markdown(args.id)
        if args.out is None:
            sys.stdout.write(text)
        elif not write_out(args.out, text):
            return EXIT_CANNOT_WRITE
        else:
            warn(f"wrote {args.out}")
        return 0

    return _run(args, action)


def _import(args: argparse.Namespace) -> int:
    from streamdesk.core.store.history import HistoryImportError
    from streamdesk.core.wording import import_problem

    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        warn(f"cannot read {args.file}: {import_problem(exc)}")
        return EXIT_BAD_IMPORT
    except (ValueError, RecursionError) as exc:
        warn(f"cannot import {args.file}: {import_problem(exc)}")
        return EXIT_BAD_IMPORT

    def action(store: HistoryStore, args: argparse.Namespace) -> int:
        try:
            new_id = store.import_json(data)
        except HistoryImportError as exc:
            warn(f"cannot import {args.file}: {import_problem(exc)}")
            return EXIT_BAD_IMPORT
        print(new_id)
        return 0

    return _run(args, action)


def _check(args: argparse.Namespace) -> int:
    from streamdesk.core.store.history import HistoryStore

    with HistoryStore() as store:
        report = store.check()
    if report.ok and report.notice is None:
        print(f"ok: {report.conversations} conversations, {report.messages} messages")
        return 0
    print("damaged:")
    for problem in report.problems[:10]:
        print(f"  {problem}")
    if len(report.problems) > 10:
        print(f"  ... and {len(report.problems) - 10} more")
    print(report.notice)
    print(f"now: {report.conversations} conversations, {report.messages} messages")
    return EXIT_DAMAGED
