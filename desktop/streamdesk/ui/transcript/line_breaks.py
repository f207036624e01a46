"""Single newlines inside a paragraph as line breaks, the chat convention.

CommonMark joins the lines of a paragraph; chat apps keep them (poems, addresses, one number per
line). `keep_line_breaks` joins such lines with a line separator before the text goes to Qt's
Markdown importer. Fenced and indented code, tables, lists, headings and
setext underlines are left alone; the stored text never changes.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
TABLE_DELIMITER = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_HTML_OR_REFERENCE = re.compile(r"^ {0,3}(?:<|\[[^\]]+\]:)")
_QUOTE_MARKERS = re.compile(r" {0,3}((?:>[ \t]?)+)")
_HARD_BREAK = re.compile(r"(?: {2,}|(?<!\\)\\)$")
LINE_SEPARATOR = "\u2028"


def _starts_block(line: str) -> bool:
    """A line that starts a block of its own instead of continuing a paragraph."""
    return bool(
        not line.strip()
        or _FENCE.match(line)
        or _LIST_ITEM.match(line)
        or _HEADING.match(line)
        or _RULE.match(line)
        or _HTML_OR_REFERENCE.match(line)
    )


def _quoted(line: str) -> tuple[int, str]:
    """How deep `line` is in block quotes (its leading `>` markers), and what follows them."""
    markers = _QUOTE_MARKERS.match(line)
    if markers is None:
        return 0, line
    return markers.group(1).count(">"), line[markers.end() :]


def keep_line_breaks(text: str) -> str:
    """`text` with the lines of each paragraph joined by U+2028 (a line break inside the block).

    Qt's importer turns a Markdown hard break into a new block (which would get paragraph
    spacing); a LINE SEPARATOR is plain text to the Markdown parser and a line break to Qt.
    A line the writer already ended with a hard break (two spaces, a backslash) is joined too.
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    fence = ""  # the open fence's marker
    in_list = in_table = False
    paragraph = False  # the previous line is paragraph text
    join = False  # the previous line continues on this one
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            out.append(line)
            continue
        if opened:
            fence, paragraph = opened.group(1), False
            out.append(line)
            continue
        if not line.strip():
            in_table = paragraph = False
            in_list = (
                in_list
                and nxt is not None
                and (nxt.startswith((" ", "\t")) or bool(_LIST_ITEM.match(nxt)))
            )
            out.append(line)
            continue
        if _LIST_ITEM.match(line):
            in_list = True
        if nxt is not None and TABLE_DELIMITER.match(nxt) and "|" in line:
            in_table = True
        indented_code = not paragraph and line.startswith(("    ", "\t"))
        depth, content = _quoted(line)
        prose = not (in_list or in_table or indented_code or _starts_block(content))
        if join:  # a quote's next line loses its markers: the quote continues
            line = out.pop() + LINE_SEPARATOR + content.lstrip()
        next_depth, next_content = _quoted(nxt) if nxt is not None else (0, "")
        join = bool(
            prose
            # a quote nested deeper is not joined; a line without markers after a quote's
            # continues it (CommonMark's lazy continuation)
            and next_depth in (depth, 0)
            and next_content.strip()  # nor the empty quote line between two paragraphs
            and not _starts_block(next_content)
            and not _SETEXT.match(next_content)
            and not TABLE_DELIMITER.match(next_content)
        )
        if join:
            line = _HARD_BREAK.sub("", line)
        paragraph = prose
        out.append(line)
    return "\n".join(out)
