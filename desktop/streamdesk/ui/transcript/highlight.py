"""Fenced code → HTML with inline styles (Pygments), for QTextCursor.insertHtml.

Only this module builds HTML for the transcript, and every character of model text in it is
escaped by Pygments or `html.escape`. Inline styles because Qt's rich text ignores stylesheets
with classes. Highlighting is skipped above `MAX_HIGHLIGHT` characters: Pygments is linear but
slow, and a 1 MB block must not stall the window.
"""

from __future__ import annotations

import html
import threading
import time
from functools import lru_cache
from typing import Any

from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pygments.lexers.special import TextLexer  # type: ignore[import-untyped]
from pygments.util import ClassNotFound  # type: ignore[import-untyped]

MAX_HIGHLIGHT = 100_000

LIGHT = {"style": "default", "bg": "#f6f8fa", "fg": "#1f2328", "dim": "#6e7781"}
DARK = {"style": "monokai", "bg": "#272822", "fg": "#f8f8f2", "dim": "#9aa0a6"}


def palette(dark: bool) -> dict[str, str]:
    """Colours of code blocks for the light or dark theme."""
    return DARK if dark else LIGHT


@lru_cache(maxsize=8)
def _formatter(style: str) -> object:
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


@lru_cache(maxsize=64)
def _lexer(lang: str) -> object:
    try:
        return get_lexer_by_name(lang) if lang else TextLexer()
    except ClassNotFound:
        return TextLexer()


def warm(lang: str) -> None:
    """Build the lexer for `lang` in a thread while its fence streams.

    A lexer's first use compiles its regexes (50-300 ms for Python or Rust); done at the
    fence's close on the GUI thread, that would be one visibly frozen frame. The GIL is released
    every few milliseconds, so the event loop keeps running meanwhile.
    """
    keys = [k for k in (x.strip().lower() for x in lang.split(",")) if k and k not in _warming]
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
        _formatter(pal["style"])
    for key in keys:
        highlight("x = 1\n", _lexer(key), _formatter(LIGHT["style"]))


_warming: set[str] = set()
_threads: list[threading.Thread] = []
COMMON = "python,javascript,typescript,bash,json,rust,go,c,cpp,java,sql,yaml,html,css"


def code_body_html(code: str, lang: str, *, dark: bool) -> str:
    """The highlighted code as escaped HTML spans (no wrapper)."""
    if len(code) > MAX_HIGHLIGHT or not lang.strip():
        return html.escape(code)
    lexer = _lexer(lang.strip().lower())
    out: str = highlight(code, lexer, _formatter(palette(dark)["style"]))
    return out[:-1] if out.endswith("\n") and not code.endswith("\n") else out


def lexer_for(lang: str) -> Any:
    """The (cached) Pygments lexer for a fence's language; plain text when unknown."""
    return _lexer(lang.strip().lower())


def code_header_html(lang: str, *, dark: bool, copy_href: str) -> str:
    """The small line above a code block: its language and a Copy link."""
    label = html.escape(lang.strip() or "code")
    return (
        f'<p style="margin-top:6px;margin-bottom:0px;"><span style="color:{palette(dark)["dim"]};">'
        f'{label}</span>&nbsp;&nbsp;<a href="{html.escape(copy_href)}">Copy</a></p>'
    )


def code_block_html(code: str, lang: str, *, dark: bool, copy_href: str) -> str:
    """A code block: a small header (language, Copy link) and the preformatted code."""
    pal = palette(dark)
    return (
        code_header_html(lang, dark=dark, copy_href=copy_href)
        + f'<pre style="background-color:{pal["bg"]};color:{pal["fg"]};margin-top:2px;">'
        f"{code_body_html(code, lang, dark=dark)}</pre>"
    )
