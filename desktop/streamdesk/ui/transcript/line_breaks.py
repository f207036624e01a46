"""Single newlines inside a paragraph as line breaks, the chat convention.

CommonMark joins the lines of a paragraph; chat apps keep them (poems, addresses, one number per
line). `keep_line_breaks` joins such lines with a line separator before the text goes to Qt's
Markdown importer. Fenced and indented code, tables, lists, headings and
setext underlines are left alone, inside block quotes too (the checks read a line after its
quote markers); the stored text never changes. `quoted_tables` tells which tables are in a
quote: Qt's importer draws those as tables, but flush with the margin. Which line starts a
block, goes on with a table or sits in a quote is `markdown_blocks`'s reading, shared with the
splitter.
"""

from __future__ import annotations

import re

from streamdesk.core.markdown_blocks import (
    FENCE,
    LIST_ITEM,
    TABLE_DELIMITER,
    starts_block,
    unquote,
)

_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_HARD_BREAK = re.compile(r"(?: {2,}|(?<!\\)\\)$")
LINE_SEPARATOR = "\u2028"


def opens_fence(text: str) -> bool:
    """`text` starts with a code fence."""
    return bool(FENCE.match(text))


def _closes(fence: str, code: str) -> bool:
    """`code` (a line of fenced code, without the fence's quote markers) closes `fence`: the
    same character, at least as many, nothing after them."""
    closing = FENCE.match(code)
    return bool(
        closing
        and closing.group(1)[0] == fence[0]
        and len(closing.group(1)) >= len(fence)
        and not code[closing.end() :].strip()
    )


def _join_lines(text: str) -> tuple[list[str], list[int]]:
    """The lines of `text` with each paragraph's lines joined, and the quote depth of each
    table in it, in order.

    The checks read a line's content after its quote markers. A fence opened in a quote
    holds the lines that keep its quote's markers and ends with the quote; a table's rows
    are the non-blank lines at its header's depth. A paragraph goes on on a line at its depth
    or shallower (CommonMark's lazy continuation), never on a deeper one (a nested quote).
    """
    lines = text.split("\n")
    quoted = [unquote(line) for line in lines]
    out: list[str] = []
    tables: list[int] = []
    fence, fence_depth = "", 0  # the open fence's marker and the quote depth it opened at
    table_depth = -1  # the quote depth of the open table's rows; -1: no table is open
    paragraph_depth = 0
    in_list = join = False  # join: the previous line continues on this one
    for i, line in enumerate(lines):
        depth, content = quoted[i]
        if fence:
            if depth >= fence_depth:
                if _closes(fence, unquote(line, fence_depth)[1]):
                    fence = ""
                out.append(line)
                continue
            fence = ""  # the quote holding the fence ended, and the fence with it
        has_next = i + 1 < len(lines)
        next_depth, next_content = quoted[i + 1] if has_next else (0, "")
        opened = FENCE.match(content)
        if opened:
            fence, fence_depth = opened.group(1), depth
            out.append(line)
            continue
        if not content.strip():
            table_depth = -1
            in_list = (
                in_list
                and has_next
                and (next_content.startswith((" ", "\t")) or bool(LIST_ITEM.match(next_content)))
            )
            out.append(line)
            continue
        if depth != table_depth:
            table_depth = -1  # a table has no lazy rows: its quote ended, or a deeper one began
        if LIST_ITEM.match(content):
            in_list = True
        if (
            table_depth < 0
            and not join  # a table does not interrupt a paragraph
            and "|" in content
            and next_depth == depth
            and TABLE_DELIMITER.match(next_content)
        ):
            table_depth = depth
            tables.append(depth)
        indented_code = not join and content.startswith(("    ", "\t"))
        prose = not (in_list or table_depth >= 0 or indented_code or starts_block(content))
        if join:
            line = out.pop() + LINE_SEPARATOR + content.lstrip()
        else:
            paragraph_depth = depth
        join = bool(
            prose
            and has_next
            and next_depth <= paragraph_depth
            and next_content.strip()  # nor the empty quote line between two paragraphs
            and not starts_block(next_content)
            and not _SETEXT.match(next_content)
            and not TABLE_DELIMITER.match(next_content)
        )
        if join:
            line = _HARD_BREAK.sub("", line)
        out.append(line)
    return out, tables


def keep_line_breaks(text: str) -> str:
    """`text` with the lines of each paragraph joined by U+2028 (a line break inside the block).

    Qt's importer turns a Markdown hard break into a new block (which would get paragraph
    spacing); a LINE SEPARATOR is plain text to the Markdown parser and a line break to Qt.
    A line the writer already ended with a hard break (two spaces, a backslash) is joined too.
    """
    if "\n" not in text:
        return text
    return "\n".join(_join_lines(text)[0])


def quoted_tables(text: str) -> list[int]:
    """The block quote depth of each table in `text`, in order (0: not in a quote); empty
    when none is in a quote. Qt's importer draws a quoted table flush with the margin."""
    if ">" not in text or "|" not in text:
        return []
    depths = _join_lines(text)[1]
    return depths if any(depths) else []
