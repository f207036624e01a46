"""`streamdesk assistants list|export [NAME…]|import FILE`, and `ask --assistant NAME`.

The assistants are the window's (built-ins plus the user's `[assistants.NAME]` tables in
settings.toml). `export` prints JSON (every assistant, or the named ones) that `import` and the
window's Settings ▸ Assistants read back; `import` adds or replaces the file's assistants in the
settings, keeping the rest of the file as it was. Exit codes: 0, 2 for an unknown name or a file
that is not valid (the message names the bad field), 1 when the settings cannot be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamdesk.cli._common import warn, write_out

if TYPE_CHECKING:
    from streamdesk.core.assistants import Assistant
    from streamdesk.core.chat import Conversation
    from streamdesk.core.store.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "assistants",
        help="list, export and import assistants (system prompt, model, parameters, tools)",
        description="Assistants are named presets: a system prompt, a provider and model, "
        "parameters and MCP tools. Use one with `streamdesk ask --assistant NAME`.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the built-in and your own assistants")
    listing.add_argument("--json", action="store_true", help="the export format, on stdout")
    listing.set_defaults(handler=_list)
    export = sub.add_parser("export", help="print assistants as JSON (all, or the named ones)")
    export.add_argument("names", nargs="*", metavar="NAME")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    export.set_defaults(handler=_export)
    imported = sub.add_parser("import", help="add the assistants of a JSON file to the settings")
    imported.add_argument("file", metavar="FILE", help='a JSON export; "-" reads stdin')
    imported.set_defaults(handler=_import)


def add_assistant_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--assistant",
        metavar="NAME",
        help="use an assistant's system prompt, parameters, provider, model and tools"
        " (`streamdesk assistants list`); --system, --max-tokens, --reasoning, --provider,"
        " --model and --mcp given too win",
    )


def use_assistant(settings: Settings, args: argparse.Namespace, conversation: Conversation) -> None:
    """`--assistant NAME`: its prompt and parameters into the conversation, its provider,
    model and tools into the unset flags (flags given explicitly are applied after, and win).
    Raises `UsageError` for a name no assistant has."""
    from streamdesk.cli.ask_setup import UsageError
    from streamdesk.core.assistants import all_assistants, applied, find_assistant

    name: str | None = getattr(args, "assistant", None)
    if not name:
        return
    assistant = find_assistant(settings.assistants, name)
    if assistant is None:
        known = ", ".join(a.name for a in all_assistants(settings.assistants))
        raise UsageError(f"no assistant is called {name!r}; known: {known}")
    conversation.system_prompt, conversation.params = applied(assistant, conversation.params)
    if assistant.provider and not args.provider and not args.base_url:
        args.provider = assistant.provider
    if assistant.model and not args.model and args.provider in (None, assistant.provider or None):
        args.model = assistant.model


def _settings() -> Settings:
    from streamdesk.cli.ask_setup import load_cli_settings

    return load_cli_settings()


def _list(args: argparse.Namespace) -> int:
    from streamdesk.core.assistants import BUILTIN_NAMES, all_assistants, to_json

    own = _settings().assistants
    listed = all_assistants(own)
    if args.json:
        print(json.dumps(to_json(listed), indent=2, ensure_ascii=False))
        return EXIT_OK
    mine = {a.name for a in own}
    width = max(len(a.name) for a in listed)
    print(f"{'NAME':<{width}}  {'KIND':<8}  WHAT IT SETS")
    for a in listed:
        kind = ("edited" if a.name in mine else "built-in") if a.name in BUILTIN_NAMES else "yours"
        print(f"{a.name:<{width}}  {kind:<8}  {a.summary()}")
        if a.description:
            print(f"{'':<{width}}  {'':<8}  {a.description}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from streamdesk.core.assistants import all_assistants, find_assistant, to_json

    own = _settings().assistants
    chosen: list[Assistant] = []
    for name in args.names:
        found = find_assistant(own, name)
        if found is None:
            warn(f"no assistant is called {name!r} (see `streamdesk assistants list`)")
            return EXIT_USAGE
        chosen.append(found)
    text = json.dumps(to_json(chosen or all_assistants(own)), indent=2, ensure_ascii=False)
    if args.output:
        return EXIT_OK if write_out(Path(args.output), text + "\n") else EXIT_FAILED
    print(text)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from streamdesk.core.assistants import AssistantError, from_json, merged
    from streamdesk.core.errors import SettingsError
    from streamdesk.core.store.settings import load_settings, save_settings

    source = "stdin" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        incoming = from_json(json.loads(text))
    except OSError as exc:
        warn(f"could not read {source}: {exc.strerror or exc}")
        return EXIT_USAGE
    except AssistantError as exc:
        warn(f"{source}: field '{exc.field}' {exc}; nothing was imported")
        return EXIT_USAGE
    except (ValueError, RecursionError) as exc:
        warn(f"{source} is not valid JSON ({exc}); nothing was imported")
        return EXIT_USAGE
    loaded = load_settings()
    if loaded.defaults_only:  # the file was set aside: importing now would write defaults over it
        warn(f"{loaded.warning}; fix it first, nothing was imported")
        return EXIT_FAILED
    if loaded.warning:  # a value that cannot be used (the proxy's URL): kept as written
        warn(loaded.warning)
    settings = loaded.settings
    before = {a.name for a in settings.assistants}
    settings.assistants = merged(settings.assistants, incoming)
    try:
        save_settings(settings)
    except (OSError, SettingsError) as exc:
        warn(f"could not save the settings: {exc}")
        return EXIT_FAILED
    replaced = [a.name for a in incoming if a.name in before]
    names = ", ".join(a.name for a in incoming)
    note = f" (replaced: {', '.join(replaced)})" if replaced else ""
    print(f"Imported {len(incoming)} assistant{'s' * (len(incoming) != 1)}: {names}{note}")
    return EXIT_OK
