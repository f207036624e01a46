"""Block quotes that hold a table or code: a table and a code block inside the quote's
indent, streamed or stored, the same document however the stream was cut."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QFontInfo, QTextCursor, QTextFormat, QTextTable
from pytestqt.qtbot import QtBot
from test_transcript import make_view, raw_rows
from test_transcript_look import rendered_after

from streamdesk.ui.transcript.layout import QUOTE_INDENT, chrome_kind
from streamdesk.ui.transcript.line_breaks import LINE_SEPARATOR
from streamdesk.ui.transcript.view import TranscriptView

TABLE = "| a | b |\n|---|---|\n| 1 | 2 |"
QUOTED_TABLE = "Intro\n\n" + "\n".join(f"> {line}" for line in TABLE.split("\n"))
QUOTES = (
    "Intro\n\n> A table:\n>\n> | a | b |\n> |---|---|\n> | 1 | 2 |\n>\n> and code:\n>\n"
    "> ```py\n> x = 1\n> y = 2\n> ```\n>\n"
    "> > | n | m |\n> > |:--|--:|\n> > | 3 | 4 |\n\n"
    "> Lazy\nline\n\n> > ~~~\n> > sunk = 3\n> > ~~~\n\n| p | q |\n|---|---|\n| 5 | 6 |\n\nAfter."
)


def draw(qtbot: QtBot, text: str, cuts: list[int] | None) -> TranscriptView:
    """A transcript showing `text` as a reply: stored, or streamed in pieces cut at `cuts`,
    each piece drawn before the next comes."""
    view = make_view(qtbot)
    if cuts is None:
        view.add_assistant_message(text)
        return view
    reply = view.begin_assistant()
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < len(text)}), len(text)]
    for start, end in pairwise(bounds):
        before = reply.render_count
        reply.append_text(text[start:end])
        qtbot.waitUntil(rendered_after(reply, before), timeout=2000)
    reply.finish("complete")
    return view


def tables(view: TranscriptView) -> list[QTextTable]:
    """The document's Markdown tables, top to bottom."""
    return [
        f
        for f in view.document().rootFrame().childFrames()
        if isinstance(f, QTextTable) and not chrome_kind(f.format())
    ]


def cells(table: QTextTable) -> list[list[str]]:
    return [
        [table.cellAt(r, c).lastCursorPosition().block().text() for c in range(table.columns())]
        for r in range(table.rows())
    ]


def quoted(view: TranscriptView, text: str) -> tuple[float, int, bool]:
    """Left margin and quote level of the block showing `text`, and whether it is monospace
    code (its long lines wrap in the column, as a code box's do)."""
    found = view.document().find(text)
    assert not found.isNull(), text
    bf = found.block().blockFormat()
    level = bf.intProperty(QTextFormat.Property.BlockQuoteLevel)
    mono = QFontInfo(found.charFormat().font()).fixedPitch()
    return bf.leftMargin(), level, mono


def shape(view: TranscriptView) -> list[tuple[object, ...]]:
    """What the document shows, block by block: text, quote level, margins, whether it is
    code, and the table and cell it is in (the table's margin and size)."""
    out: list[tuple[object, ...]] = []
    block = view.document().begin()
    while block.isValid():
        bf = block.blockFormat()
        table = QTextCursor(block).currentTable()
        where: tuple[object, ...] = ()
        if table is not None:
            cell = table.cellAt(block.position())
            tf = table.format()
            where = (table.rows(), table.columns(), tf.leftMargin(), cell.row(), cell.column())
        quote = bf.intProperty(QTextFormat.Property.BlockQuoteLevel)
        out.append((block.text(), quote, bf.leftMargin(), bf.nonBreakableLines(), where))
        block = block.next()
    return out


@pytest.mark.parametrize("streamed", [False, True])
def test_a_table_in_a_quote_is_a_table_inside_the_quote_s_indent(
    qtbot: QtBot, streamed: bool
) -> None:
    cuts = list(range(0, len(QUOTED_TABLE), 3)) if streamed else None
    view = draw(qtbot, QUOTED_TABLE, cuts)
    plain = draw(qtbot, "Intro\n\n" + TABLE, cuts)
    assert [cells(t) for t in tables(view)] == [[["a", "b"], ["1", "2"]]]
    in_quote, flush = tables(view)[0].format(), tables(plain)[0].format()
    assert in_quote.leftMargin() == flush.leftMargin() + QUOTE_INDENT
    in_quote.setLeftMargin(flush.leftMargin())
    assert in_quote == flush  # ruled and spaced as any table
    assert "|" not in view.toPlainText()


@pytest.mark.parametrize("streamed", [False, True])
def test_quoted_tables_and_code_keep_their_quote_s_indent(qtbot: QtBot, streamed: bool) -> None:
    view = draw(qtbot, QUOTES, list(range(0, len(QUOTES), 5)) if streamed else None)
    found = tables(view)
    assert [cells(t) for t in found] == [
        [["a", "b"], ["1", "2"]],
        [["n", "m"], ["3", "4"]],
        [["p", "q"], ["5", "6"]],
    ]
    margins = [t.format().leftMargin() - found[2].format().leftMargin() for t in found]
    assert margins == [QUOTE_INDENT, 2 * QUOTE_INDENT, 0]
    assert quoted(view, "A table") == (QUOTE_INDENT, 1, False)
    assert quoted(view, "x = 1") == (QUOTE_INDENT, 1, True)  # a code line of its own
    assert quoted(view, "y = 2") == (QUOTE_INDENT, 1, True)
    doc = view.document()
    gaps = [doc.find(line).block().blockFormat().bottomMargin() for line in ("x = 1", "y = 2")]
    assert gaps[0] == 0 < gaps[1]  # the code's lines together, a paragraph's gap after them
    header = doc.find("n", found[1].firstPosition())  # right after the code: as any header
    assert header.blockFormat().leftMargin() == 0 and header.charFormat().fontWeight() >= 600
    heights = [doc.documentLayout().frameBoundingRect(t).height() for t in found]
    assert heights[0] == heights[1] == heights[2]  # no empty line above the header's text
    assert quoted(view, "sunk = 3") == (2 * QUOTE_INDENT, 2, True)
    assert quoted(view, "After") == (0, 0, False)
    assert view.document().find("Lazy").block().text() == f"Lazy{LINE_SEPARATOR}line"
    assert "|" not in view.toPlainText()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(min_value=1, max_value=len(QUOTES) - 1), max_size=12))
def test_any_chunking_of_quotes_draws_the_stored_document(qtbot: QtBot, cuts: list[int]) -> None:
    assert shape(draw(qtbot, QUOTES, cuts)) == shape(draw(qtbot, QUOTES, None))


def table_look(table: QTextTable) -> list[object]:
    """All a table is drawn from: its format, each cell's format and each of its blocks'
    format, char format and runs of text with their formats (which object of the document
    a format belongs to left out)."""

    def props(fmt: QTextFormat) -> QTextFormat:
        found = QTextFormat(fmt)
        found.clearProperty(QTextFormat.Property.ObjectIndex)
        return found

    look: list[object] = [props(table.format())]
    for row in range(table.rows()):
        for col in range(table.columns()):
            cell = table.cellAt(row, col)
            look.append(props(cell.format()))
            block = cell.firstCursorPosition().block()
            while block.isValid() and block.position() <= cell.lastPosition():
                look += [props(block.blockFormat()), props(block.charFormat()), block.text()]
                it = block.begin()
                while not it.atEnd():
                    look += [it.fragment().text(), props(it.fragment().charFormat())]
                    it += 1
                block = block.next()
    return look


QUOTED_ROWS = [f"| **row {n}** | `c{n}` | [x](https://x.org/{n}) \\| {n * 7} |" for n in range(12)]


@pytest.mark.parametrize("marks", ["> ", "> > ", ">"])
def test_a_streaming_quoted_table_grows_row_by_row_as_the_whole_markdown_draws_it(
    qtbot: QtBot, marks: str
) -> None:
    """Token by token, a table in a quote gets its new rows appended to the table drawn
    (its earlier cells stay as drawn), each frame the table that drawing it whole gives."""
    head = ["| Name | Code | Note |", "|:---|:---:|---:|"]
    view = make_view(qtbot)
    reply = view.begin_assistant()
    text = "Before.\n\n"
    reply.append_text(text)
    first: QTextTable | None = None
    for line in [*head, *QUOTED_ROWS]:
        line = marks + line + "\n"
        for token in [line[i : i + 4] for i in range(0, len(line), 4)]:
            text += token
            before = reply.render_count
            reply.append_text(token)
            qtbot.waitUntil(rendered_after(reply, before), timeout=2000)
            if text.count("\n") > 2:  # the header's line, once complete, starts the tail
                assert not raw_rows(view), "never a half row as raw pipes"
        if first is None:
            if not tables(view):
                continue
            first = tables(view)[0]
            name = view.document().find("Name")  # a cursor on a cell drawn again collapses
        assert tables(view) == [first], "the same table, grown"
        assert name.selectedText() == "Name", "the cells drawn before stayed as drawn"
        whole_so_far = make_view(qtbot)
        whole_so_far.add_assistant_message(text)
        assert table_look(first) == table_look(tables(whole_so_far)[0]), "as if drawn whole"
    assert first is not None and first.rows() == 1 + len(QUOTED_ROWS)
    reply.append_text("\nAfter.")
    reply.finish("complete")
    assert shape(view) == shape(draw(qtbot, text + "\nAfter.", None))


@pytest.mark.parametrize(
    "ending", [">", "> > deeper", "lazy", "> - item", ">     code", "> # heading", "> ***"]
)
def test_a_line_that_ends_a_streaming_quoted_table_is_not_taken_for_a_row(
    qtbot: QtBot, ending: str
) -> None:
    """A quote's blank line, a nested quote, the quote's end, a block of its own: the table
    is drawn as drawing it whole draws it, and so are the lines after it."""
    lines = ["> | a | b |", "> |---|---|", "> | 1 | 2 |", ending, "> | 3 | 4 |", "> more"]
    view = make_view(qtbot)
    reply = view.begin_assistant()
    text = "Before.\n\n"
    reply.append_text(text)
    for index, line in enumerate(lines):
        text += line + "\n"
        before = reply.render_count
        reply.append_text(line + "\n")
        qtbot.waitUntil(rendered_after(reply, before), timeout=2000)
        if index < 2:
            continue  # a table shows from its first row
        whole_so_far = draw(qtbot, text, None)
        assert [table_look(t) for t in tables(view)] == [
            table_look(t) for t in tables(whole_so_far)
        ], line
    reply.finish("complete")
    assert shape(view) == shape(draw(qtbot, text, None))
