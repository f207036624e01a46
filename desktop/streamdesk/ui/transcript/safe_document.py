"""A QTextDocument that treats model output as untrusted.

Qt's Markdown importer passes raw HTML through unless told not to, and QTextDocument /
QTextBrowser read local files (and qrc) named in `<img src>` or `![](...)`. Here Markdown is
always parsed with MarkdownNoHTML and the document loads only resources the app registered.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QTextCharFormat, QTextCursor, QTextDocument, QTextFormat

from streamdesk.ui.plain_text import plain_tooltip

MARKDOWN_FEATURES = (
    QTextDocument.MarkdownFeature.MarkdownNoHTML
    | QTextDocument.MarkdownFeature.MarkdownDialectGitHub
)

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})

# Qt lays out a line with no break opportunity in quadratic time (a 100 KB word takes seconds),
# so very long runs get zero-width spaces; the source text (copy, history) is untouched.
_LONG_RUN = re.compile(r"[^\s]{200,}")
ZWSP = "\u200b"


def break_long_runs(text: str, every: int = 100) -> str:
    """Insert ZWSP into runs of 200+ non-space characters so that layout stays linear."""
    if len(text) < 200:
        return text

    def split(m: re.Match[str]) -> str:
        run = m.group(0)
        return ZWSP.join(run[i : i + every] for i in range(0, len(run), every))

    return _LONG_RUN.sub(split, text)


def is_safe_external(url: QUrl) -> bool:
    """Links a click may open in the system browser."""
    return url.isValid() and url.scheme().lower() in SAFE_LINK_SCHEMES


def defang(doc: QTextDocument, start: int, end: int) -> None:
    """Make the Markdown just inserted in [start, end) safe to look at.

    A web link gets its URL as tooltip. A link whose scheme a click would not open
    (javascript:, file:, relative …) becomes plain text followed by its target,
    "text (file:///x)", so the reader sees what was refused; an image becomes the text
    "[image: alt] (url)" (it is never fetched, and a broken-image icon would say nothing).
    O(fragments in the range).
    """
    links: list[list[int | str]] = []  # [start, end, href] of each refused link
    plain: list[tuple[int, int, QTextCharFormat]] = []  # link fragments' new formats
    images: list[tuple[int, str]] = []
    block = doc.findBlock(start)
    while block.isValid() and block.position() < end:
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            fmt = frag.charFormat()
            it += 1
            if not (fmt.isAnchor() or fmt.isImageFormat()):
                continue  # most fragments: plain text
            pos, stop = frag.position(), frag.position() + frag.length()
            if fmt.isImageFormat():
                img = fmt.toImageFormat()
                alt = str(img.property(QTextFormat.Property.ImageAltText) or "").strip()
                url = img.name()
                images.append((pos, f"[image: {alt}] ({url})" if alt else f"[image] ({url})"))
            elif not is_safe_external(QUrl(fmt.anchorHref())):
                href = fmt.anchorHref()
                plain.append((pos, stop, _unlinked(fmt)))
                if links and links[-1][1] == pos and links[-1][2] == href:
                    links[-1][1] = stop  # the same link, another format (bold inside it …)
                else:
                    links.append([pos, stop, href])
            else:  # a web link: hovering shows where it goes
                fmt.setToolTip(plain_tooltip(QUrl(fmt.anchorHref()).toDisplayString()))
                plain.append((pos, stop, fmt))
        block = block.next()
    edits = [(int(a), 0, int(b), str(h)) for a, b, h in links]
    edits += [(pos, 1, pos + 1, text) for pos, text in images]
    c = QTextCursor(doc)
    for a, b, fmt in plain:
        c.setPosition(a)
        c.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        c.setCharFormat(fmt)
    for a, image, b, text in sorted(edits, reverse=True):  # from the end: positions stay valid
        c.setPosition(a)
        c.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        if image:
            c.insertText(text, QTextCharFormat())
        elif text and c.selectedText() != text:  # an autolink shows its target already
            fmt = c.charFormat()
            c.setPosition(b)
            c.insertText(f" ({text})", fmt)


def _unlinked(fmt: QTextCharFormat) -> QTextCharFormat:
    """A refused link's format as plain text that says, on hover, what was refused."""
    href = fmt.anchorHref()
    fmt.setAnchor(False)
    fmt.setAnchorHref("")
    fmt.clearForeground()
    fmt.setFontUnderline(False)
    fmt.setToolTip(
        plain_tooltip(f"Link not opened: {href} (only http, https and mailto links open)")
    )
    return fmt


class SafeDocument(QTextDocument):
    """Loads nothing except resources registered with `register`; undo is off."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setUndoRedoEnabled(False)
        self._allowed: dict[str, Any] = {}
        self.refused: list[str] = []  # what was asked for and refused (for tests and debugging)

    def register(self, name: str, resource_type: int, data: Any) -> None:
        """Make an app-provided resource (e.g. an icon) loadable by `name`."""
        self._allowed[name] = data
        self.addResource(resource_type, QUrl(name), data)

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        """Never touch the disk or the network because a document named a URL."""
        key = name.toString() if isinstance(name, QUrl) else name
        if key in self._allowed:
            return self._allowed[key]
        self.refused.append(key)
        return None
