"""Pygments lexers and styles for code blocks (coloured in place by `code_job`).

Highlighting is skipped above `MAX_HIGHLIGHT` characters: Pygments is linear but slow, and a
1 MB block must not stall the window. Lexers are built on worker threads (`warm`), never on
the window's: a code block whose lexer is not `built` yet is coloured once it is.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from functools import lru_cache
from typing import Any

from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.lexers.special import TextLexer  # type: ignore[import-untyped]
from pygments.styles import get_style_by_name  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

MAX_HIGHLIGHT = 100_000
# A lexer name at the start of a fence's language ("python,linenos", "{.rust}", "c++").
_LEXER_NAME = re.compile(r"[a-z0-9_+#-][\w+#.-]*")
log = logging.getLogger(__name__)

# Token colours made for the code block backgrounds in `streamdesk.ui.theme` (~#f6f8fa, ~#161b22)
LIGHT = {"style": "default"}
DARK = {"style": "github-dark"}


def palette(dark: bool) -> dict[str, str]:
    """The Pygments style of code blocks for the light or dark theme."""
    return DARK if dark else LIGHT


def lexer_name(lang: str) -> str:
    """The Pygments name a fence's language asks for ("" for plain text)."""
    found = _LEXER_NAME.search(lang.strip().lower())
    return found.group(0) if found else ""


@lru_cache(maxsize=64)
def _lexer(name: str) -> Any:
    try:
        return get_lexer_by_name(name) if name else TextLexer()
    except ClassNotFound:
        return TextLexer()
    except Exception:  # a broken Pygments plugin: the block stays plain, nothing waits on it
        log.warning("no lexer for %r", name, exc_info=True)
        return TextLexer()
    finally:
        _built.add(name)


def built(lang: str) -> bool:
    """The lexer for a fence's language is ready to use (its regexes compiled)."""
    name = lexer_name(lang)
    return not name or name in _built


def warm(langs: str) -> None:
    """Build the lexer for a fence's language (or for each of a comma-separated list) in a
    thread while its fence streams.

    A lexer's first use compiles its regexes; done at the fence's close on the GUI thread,
    that would be a visibly frozen frame for Python or Rust. The GIL is released
    every few milliseconds, so the event loop keeps running meanwhile.
    """
    keys = [k for k in map(lexer_name, langs.split(",")) if k and k not in _warming]
    if keys:
        _warming.update(keys)
        t = threading.Thread(target=_warm, args=(keys,), name="lexer-warm", daemon=True)
        _threads.append(t)
        t.start()


def wait_warm(timeout: float) -> bool:
    """Block until warm-up threads end (they hold the GIL in bursts; benchmarks wait them out)."""
    deadline = time.monotonic() + timeout
    for t in list(_threads):
        t.join(max(0.0, deadline - time.monotonic()))
    _threads[:] = [t for t in _threads if t.is_alive()]
    return not _threads


def _warm(keys: list[str]) -> None:
    for pal in (LIGHT, DARK):
        get_style_by_name(pal["style"])
    for key in keys:
        try:
            for _token in _lexer(key).get_tokens("x = 1\n"):
                pass
        except Exception:  # its blocks are lexed (and fail) on use; none waits for it
            log.warning("warming the %r lexer failed", key, exc_info=True)


_warming: set[str] = set()
_built: set[str] = set()
_threads: list[threading.Thread] = []
COMMON = "python,javascript,typescript,bash,json,rust,go,c,cpp,java,sql,yaml,html,css"


def lexer_for(lang: str) -> Any:
    """The (cached) Pygments lexer for a fence's language; plain text when unknown."""
    return _lexer(lexer_name(lang))
