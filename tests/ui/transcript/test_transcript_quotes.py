"""Block quotes that hold a table or code: a table and a code block inside the quote's
indent, streamed or stored, the same document however the stream was cut."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QFontInfo, QTextCursor, QTextFormat, QTextTable
from pytestqt.qtbot import QtBot
from test_transcript import make_view
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
