"""`streamdesk keys set|delete|list [PROVIDER]`: API keys in the OS keychain.

A key is read from a hidden prompt (terminal) or one line of stdin (scripts), never from an
argument: arguments end up in shell history and in `ps` output for every user to read.
Whitespace around the key is removed (with a notice); a key with spaces or control characters
inside is refused.

Exit codes: 0 ok, 1 no key stored for that provider, 2 usage (unknown provider, empty key),
6 the OS keychain is not available.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streamdesk.cli._common import warn

if TYPE_CHECKING:  # keyring loads only for the subcommand that needs it
    from streamdesk.core.store.secrets import KeyStore

EXIT_NO_KEY = 1
EXIT_USAGE = 2
EXIT_KEYCHAIN_UNAVAILABLE = 6


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="store, delete and list API keys in the OS keychain",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    p = sub.add_parser("set", help="store a key (hidden prompt, or one line on stdin)")
    p.add_argument(
        "provider",
        help="provider id, e.g. holysheep, openai, 'proxy', or an ID an MCP server's settings"
        " name as ${keychain:ID}",
    )
    p.set_defaults(handler=_set)
    p = sub.add_parser("delete", help="remove a provider's key from the keychain")
    p.add_argument("provider")
    p.set_defaults(handler=_delete)
    p = sub.add_parser("list", help="provider ids that have a key (never the keys)")
    p.add_argument("provider", nargs="?", help="only this provider: exit 1 if it has no key")
    p.set_defaults(handler=_list)


def _known_ids() -> list[str]:
    from streamdesk.core.providers import BUILTIN_PROVIDERS
    from streamdesk.core.store.settings import PROXY_KEY_ID, load_settings

    result = load_settings()
    if result.warning:
        warn(result.warning)
    from streamdesk.core.tools.config import keychain_references

    ids = [p.id for p in BUILTIN_PROVIDERS]
    ids += [p.id for p in result.settings.providers if p.id not in ids]
    for server in result.settings.mcp_servers:  # ${keychain:ID} in a tool server's settings
        ids += [ref for ref in keychain_references(server) if ref not in ids]
    return [*ids, PROXY_KEY_ID]


def _check_provider(provider_id: str) -> bool:
    known = _known_ids()
    if provider_id in known:
        return True
    warn(f"unknown provider {provider_id!r}; known: {', '.join(known)}")
    return False


def _read_key(provider_id: str) -> str:
    """The typed or piped line as it came, without the newline that ends it."""
    if sys.stdin.isatty():
        return getpass.getpass(f"API key for {provider_id} (input hidden): ")
    return sys.stdin.readline().removesuffix("\n")


def _keychain_call(action: Callable[[KeyStore], int]) -> int:
    """Run `action(store)`, turning an unavailable keychain into one line and exit 6."""
    from streamdesk.core.errors import KeychainUnavailable
    from streamdesk.core.store.secrets import ENV_KEY, KeyStore

    try:
        result = action(KeyStore())
    except KeychainUnavailable as exc:
        reason = str(exc).split(": the key", 1)[0]  # the CLI has no session to hold a key in
        warn(f"{reason}; nothing was changed. {ENV_KEY} can pass a key for one run instead.")
        return EXIT_KEYCHAIN_UNAVAILABLE
    return result


def _set(args: argparse.Namespace) -> int:
    provider_id: str = args.provider
    if not _check_provider(provider_id):
        return EXIT_USAGE
    from streamdesk.core.store.secrets import InvalidKey, clean_key

    try:
        key, notice = clean_key(provider_id, _read_key(provider_id))
    except InvalidKey as exc:
        warn(str(exc))
        return EXIT_USAGE
    if not key:
        warn("no key given (type it at the prompt, or pipe one line on stdin)")
        return EXIT_USAGE
    if notice:
        warn(notice)

    def store_key(store: KeyStore) -> int:
        store.set(provider_id, key)
        warn(f"stored the key for {provider_id} in {store.backend_name()}")
        return 0

    return _keychain_call(store_key)


def _delete(args: argparse.Namespace) -> int:
    provider_id: str = args.provider

    def delete_key(store: KeyStore) -> int:
        if store.delete(provider_id):
            warn(f"deleted the key for {provider_id}")
            return 0
        warn(f"no key stored for {provider_id}")
        return EXIT_NO_KEY

    return _keychain_call(delete_key)


def _list(args: argparse.Namespace) -> int:
    from streamdesk.core.store.secrets import ENV_KEY

    def list_keys(store: KeyStore) -> int:
        ids = store.list()
        print(f"backend: {store.backend_name()}")
        if os.environ.get(ENV_KEY):
            warn(f"{ENV_KEY} is set: it overrides these keys for this run")
        if args.provider:
            ids = [i for i in ids if i == args.provider]
        for provider_id in ids:
            print(provider_id)
        return EXIT_NO_KEY if args.provider and not ids else 0

    return _keychain_call(list_keys)
