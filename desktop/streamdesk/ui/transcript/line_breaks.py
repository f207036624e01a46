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
        prose = not (in_list or in_table or indented_code or _starts_block(line))
        quote = line.lstrip().startswith(">")
        if join:
            line = line.lstrip()
            if quote:  # a quote's next line: its marker goes, the quote continues
                line = line[1:].lstrip()
            line = out.pop() + LINE_SEPARATOR + line
        join = bool(
            prose
            and nxt is not None
            and nxt.strip()
            and not _starts_block(nxt)
            and not _SETEXT.match(nxt)
            and not TABLE_DELIMITER.match(nxt)
            and (not quote or nxt.lstrip().startswith(">"))
            and (quote or not nxt.lstrip().startswith(">"))
        )
        if join:
            line = _HARD_BREAK.sub("", line)
        paragraph = prose
        out.append(line)
    return "\n".join(out)
