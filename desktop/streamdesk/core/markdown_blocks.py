"""Split streamed Markdown into finished blocks and an open tail, incrementally.

Re-parsing the whole reply per token is what makes chat windows freeze on long replies. The
splitter sees each character once: finished blocks are handed out exactly once (the view renders
them once) and only the short open tail is re-rendered. Work per `feed` is O(new text), except
that a block boundary costs O(that block) once.

Rules (a pragmatic subset of CommonMark, enough to decide where a block *ends*):
- a fenced code block (``` or ~~~, indent <= 3) is its own block; its code streams in parts;
- an ATX heading line is a block by itself;
- a list that starts right under a line of another block (a paragraph, a table) begins a block
  of its own, so that the list is one block as when a blank line came first;
- other lines accumulate into the open block; a blank line followed by a line that does not
  continue the block ends it (a list continues with another item or an indented line);
- a block larger than `max_block` characters is cut (at a newline, else a space) so that one
  huge paragraph or line cannot make every frame re-render megabytes. A table's complete rows
  and a list's earlier items do not count: the view appends those once, never draws them
  again, and a table or list cut in two would show as two (the rows after the cut as raw
  pipes, a list's numbering or an item's continuation lost). Only a row, or a list's last
  item, larger than `max_block` is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})([^\n]*)$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
LIST_ITEM = re.compile(r"^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_ITEM_AT_MARGIN = re.compile(r"(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_INTERRUPTING_ITEM = re.compile(r"(?:[-+*]|1[.)])[ \t]+\S")  # a list may start under a paragraph
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_HTML_OR_REFERENCE = re.compile(r"^ {0,3}(?:<|\[[^\]]+\]:)")
_QUOTE_MARKER = re.compile(r" {0,3}>[ \t]?")
TABLE_START = re.compile(r" {0,3}\|")  # a line that may be a table's header row
TABLE_DELIMITER = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


def starts_block(line: str) -> bool:
    """A line that starts a block of its own instead of continuing a paragraph."""
    return bool(
        not line.strip()
        or FENCE.match(line)
        or LIST_ITEM.match(line)
        or _HEADING.match(line)
        or _RULE.match(line)
        or _HTML_OR_REFERENCE.match(line)
    )


def unquote(line: str, most: int = -1) -> tuple[int, str]:
    """How deep `line` is in block quotes (its leading `>` markers, at most `most` of them
    when given), and what follows those markers."""
    depth = at = 0
    while depth != most and (marker := _QUOTE_MARKER.match(line, at)):
        depth, at = depth + 1, marker.end()
    return depth, line[at:]


def table_row(line: str, depth: int) -> str | None:
    """What `line` holds after its quote markers when it is one more row of a table whose
    rows are at quote depth `depth`; None when it ends the table instead: another depth (a
    nested quote, the quote's end), a blank quote line, indented code or a block of its own
    (a list item, a rule; a heading or a fence too, which Qt's importer would take as a row
    but which are never taken for one here)."""
    found, content = unquote(line)
    if found != depth or starts_block(content) or content.startswith(("    ", "\t")):
        return None
    return content


def table_start(header: str, delimiter: str) -> int | None:
    """The quote depth of the table that lines `header` and `delimiter` begin; None when
    they do not begin one (a header row that starts with a pipe, a delimiter row at its
    depth)."""
    depth, head = unquote(header)
    below, rule = unquote(delimiter)
    if below != depth or not TABLE_START.match(head) or not TABLE_DELIMITER.match(rule):
        return None
    return depth


@dataclass(frozen=True, slots=True)
class Block:
    """A finished block: Markdown source, or the content of a fenced code block."""

    kind: Literal["markdown", "code"]
    text: str
    lang: str = ""


class BlockSplitter:
    """Incremental splitter; feed text as it streams, render what it returns."""

    def __init__(self, max_block: int = 16_384) -> None:
        self.max_block = max_block
        self._partial: list[str] = []  # the incomplete last line, in pieces
        self._partial_len = 0
        self._lines: list[str] = []  # complete lines of the open Markdown block
        self._size = 0
        self._is_list = False
        self._item_start = 0  # size of the open list before its last item at the margin
        self._table: int | None = None  # quote depth of the table the open block is
        self._after_blank = False
        # open fence: (char, length); code pieces stream out through `code_parts`
        self._fence: tuple[str, int] | None = None
        self.code_lang = ""
        self.code_parts: list[str] = []
        self._line_flushed = False  # part of the current code line already in code_parts

    @property
    def in_code(self) -> bool:
        """True while a fenced code block is open (its code so far is `code_parts`)."""
        return self._fence is not None

    @property
    def tail(self) -> str:
        """Source of the open Markdown block (empty while a fence is open)."""
        if self._fence is not None:
            return ""
        return "".join(self._lines) + "".join(self._partial)

    def feed(self, text: str) -> list[Block]:
        """Take more streamed text; return the blocks it finished."""
        out: list[Block] = []
        start = 0
        while True:
            nl = text.find("\n", start)
            if nl < 0:
                break
            piece = text[start : nl + 1]
            if self._partial:
                piece = "".join(self._partial) + piece
                self._partial.clear()
                self._partial_len = 0
            self._line(piece, out)
            start = nl + 1
        if start < len(text):
            if self._fence is not None and self._line_flushed:
                self.code_parts.append(text[start:])
                return out
            self._partial.append(text[start:])
            self._partial_len += len(text) - start
            if self._fence is not None:
                self._flush_code_partial()
            elif self._redrawn() + self._partial_len > self.max_block:
                self._cut(out)
        return out

    def finish(self) -> list[Block]:
        """End of stream: everything still open becomes a block (an unclosed fence too)."""
        out: list[Block] = []
        if self._fence is not None:
            if self._partial and not self._line_flushed:
                self.code_parts.append("".join(self._partial))
            self._partial.clear()
            self._partial_len = 0
            self._close_fence(out)
        else:
            self._lines.extend(self._partial)
            self._partial.clear()
            self._partial_len = 0
            self._commit(out)
        return out

    # -- internals ---------------------------------------------------------------------------

    def _line(self, line: str, out: list[Block]) -> None:
        if self._fence is not None:
            self._code_line(line, out)
            return
        body = line.rstrip("\n")
        blank = not body.strip()
        fence = _FENCE_OPEN.match(body)
        if fence and self._is_list and len(fence.group(1)) >= 2 and not self._after_blank:
            fence = None  # an indented fence inside a list item belongs to the item
        if fence and not (fence.group(2)[0] == "`" and "`" in fence.group(3)):
            self._commit(out)
            self._fence = (fence.group(2)[0], len(fence.group(2)))
            self.code_lang = fence.group(3).strip().split(" ")[0]
            self.code_parts = []
            self._line_flushed = False
            return
        if blank:
            if self._lines:
                self._after_blank = True
                self._table = None
                self._add(line)
            return
        if self._after_blank and not (self._is_list and self._continues_list(body)):
            self._commit(out)
        if self._lines and not self._is_list and self._starts_list(body):
            self._commit(out)
        if not self._lines:
            self._is_list = bool(LIST_ITEM.match(body))
        elif _HEADING.match(body) and not self._is_list:
            self._commit(out)
        self._after_blank = False
        self._follow_table(body)
        if self._is_list and _ITEM_AT_MARGIN.match(body):
            self._item_start = self._size
        self._add(line)
        if _HEADING.match(body) and len(self._lines) == 1:
            self._commit(out)
        elif self._redrawn() > self.max_block:
            self._cut(out)

    def _follow_table(self, body: str) -> None:
        """Whether the open block is still a table once line `body` joins it: its first two
        lines begin one and every later line is a row with a pipe."""
        if len(self._lines) == 1:
            self._table = table_start(self._lines[0].rstrip("\n"), body)
        elif self._table is not None:
            row = table_row(body, self._table)
            if row is None or "|" not in row:
                self._table = None

    def _redrawn(self) -> int:
        """Characters of the open block's complete lines that the view draws again as the
        block grows: none of a table (its rows are appended once), a list's last item, all
        of anything else."""
        if self._table is not None:
            return 0
        return self._size - self._item_start

    @staticmethod
    def _starts_list(body: str) -> bool:
        """Line `body` begins a list at the margin even under a paragraph (an item with text,
        a numbered one at 1; not a rule such as "* * *")."""
        return bool(_INTERRUPTING_ITEM.match(body)) and not _RULE.match(body)

    @staticmethod
    def _continues_list(body: str) -> bool:
        return bool(LIST_ITEM.match(body)) or body.startswith(("  ", "\t"))

    def _add(self, line: str) -> None:
        self._lines.append(line)
        self._size += len(line)

    def _commit(self, out: list[Block]) -> None:
        if self._lines:
            text = "".join(self._lines)
            if text.strip():
                out.append(Block("markdown", text))
        self._lines.clear()
        self._size = 0
        self._is_list = False
        self._item_start = 0
        self._table = None
        self._after_blank = False

    def _cut(self, out: list[Block]) -> None:
        """The open block is too large: commit what is there, at the best boundary we have."""
        if self._lines:
            self._commit(out)
            if self._partial_len <= self.max_block:
                return
        line = "".join(self._partial)
        while len(line) > self.max_block:
            cut = line.rfind(" ", 0, self.max_block) + 1 or self.max_block
            out.append(Block("markdown", line[:cut]))
            line = line[cut:]
        self._partial = [line] if line else []
        self._partial_len = len(line)

    def _code_line(self, line: str, out: list[Block]) -> None:
        assert self._fence is not None
        if self._line_flushed:  # the start of this line already went out
            self.code_parts.append(line)
            self._line_flushed = False
            return
        char, length = self._fence
        body = line.rstrip("\n").rstrip()
        stripped = body.lstrip(" ")
        indent = len(body) - len(stripped)
        if indent <= 3 and len(stripped) >= length and stripped == char * len(stripped):
            self._close_fence(out)
            return
        self.code_parts.append(line)

    def _flush_code_partial(self) -> None:
        """Send the partial code line out now unless it could still be the closing fence."""
        assert self._fence is not None
        line = "".join(self._partial)
        if len(line) < 64 and not line.strip(" \t" + self._fence[0]):
            return  # may still become the closing fence
        self.code_parts.append(line)
        self._partial.clear()
        self._partial_len = 0
        self._line_flushed = True

    def _close_fence(self, out: list[Block]) -> None:
        code = "".join(self.code_parts)
        out.append(Block("code", code[:-1] if code.endswith("\n") else code, self.code_lang))
        self._fence = None
        self.code_parts = []
        self.code_lang = ""
        self._line_flushed = False
