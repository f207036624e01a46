"""Nothing makes the transcript scroll sideways: long code lines wrap inside their box with an
indented continuation, long words wrap in prose, tables share the column by their content
(short words stay whole) and a table wider than the column wraps inside it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtGui import QGuiApplication, QTextBlock, QTextLength, QTextTable
from pytestqt.qtbot import QtBot
from test_transcript import click_anchor, make_view, stream

from streamdesk.ui.transcript.layout import (
    CODE_RUN,
    break_code_runs,
    chrome_kind,
    column_widths,
)
from streamdesk.ui.transcript.safe_document import ZWSP
from streamdesk.ui.transcript.view import TranscriptView

CODE_LINE = "result = compute(" + ", ".join(f"argument_{i}" for i in range(30)) + ")"
TOKEN = "".join(chr(ord("a") + i * 7 % 26) for i in range(300))  # a word without spaces
BLOB = "QUJD" * 300  # 1,200 characters of base64: one run longer than `CODE_RUN`
LONG = f"Some prose with {TOKEN} in it.\n\n```python\n{CODE_LINE}\n```\n\n```\n{BLOB}\n```\n"
# Columns of short words beside one that wants far more than the rest of the line.
GREEK = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
WIDE_TABLE = (
    "| " + " | ".join(f"Col {c}" for c in "ABCDEFGHIJ") + " |\n" + "|---" * 10 + "|\n"
    "| " + " | ".join(GREEK) + " | " + " ".join(["kappa-kappa"] * 30) + " |\n"
    "| " + " | ".join(w.upper() for w in GREEK) + " | short |\n"
)
NARROW_TABLE = "| a | b |\n|---|---|\n| gamma | epsilon |\n"


def block_of(view: TranscriptView, text: str) -> QTextBlock:
    found = view.document().find(text)
    assert not found.isNull(), text
    return found.block()


def shown(view: TranscriptView) -> str:
    return view.toPlainText().replace(ZWSP, "")


def assert_fits(view: TranscriptView) -> None:
    """No sideways scrolling, and every code box and table inside the reading column (as
    wide as a reply's caption line)."""
    assert view.horizontalScrollBar().maximum() == 0
    layout = view.document().documentLayout()
    frames = view.document().rootFrame().childFrames()
    (column, *_) = [
        layout.frameBoundingRect(f) for f in frames if chrome_kind(f.frameFormat()) == "header"
    ]
    for frame in frames:
        assert layout.frameBoundingRect(frame).width() <= column.width() + 0.5


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("width", [700, 1400])
def test_long_code_lines_and_words_wrap_inside_the_column(
    qtbot: QtBot, streamed: bool, width: int
) -> None:
    view = make_view(qtbot)
    view.resize(width, 600)
    if streamed:
        reply = view.begin_assistant("k", label="m")
        stream(qtbot, reply, LONG, 9)
        assert_fits(view)  # while it streams too
        reply.finish("complete")
    else:
        view.add_assistant_message(LONG, key="k", label="m")
    qtbot.waitUntil(lambda: view.horizontalScrollBar().maximum() == 0, timeout=2000)
    assert_fits(view)
    assert CODE_LINE in shown(view) and TOKEN in shown(view) and BLOB in shown(view)
    line = block_of(view, "result = compute(")
    assert line.layout().lineCount() > 1  # wrapped, not cut or scrolled
    first, second = line.layout().lineAt(0), line.layout().lineAt(1)
    assert second.x() > first.x()  # the continuation is indented: the wrap shows
    assert block_of(view, TOKEN[:50]).layout().lineCount() > 1
    with qtbot.waitSignal(view.copyRequested) as copied:
        click_anchor(qtbot, view, "Copy", "copy-code")
    assert copied.args == [CODE_LINE]  # the line as written, unbroken
    assert QGuiApplication.clipboard().text() == CODE_LINE


INDENTED = (
    "```python\ndef f():\n        if ready:\n"
    f"            {CODE_LINE}\n\treturn [{', '.join(['item'] * 40)}]\nx = 1\n```\n"
)


def code_lines(view: TranscriptView) -> list[tuple[str, float, int]]:
    """Each line of code (not the header line): its text, wrap indent and drawn lines."""
    lines = []
    root = view.document().rootFrame()
    for frame in root.childFrames():
        if chrome_kind(frame.frameFormat()) != "code":
            continue
        block = view.document().findBlock(frame.firstPosition()).next()
        while block.isValid() and block.position() < frame.lastPosition():
            indent = block.blockFormat().leftMargin()
            lines.append((block.text(), indent, block.layout().lineCount()))
            block = block.next()
    return lines


def test_a_streamed_code_block_keeps_its_wraps_when_the_fence_closes(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant("k", label="m")
    fence = INDENTED.removesuffix("```\n")
    stream(qtbot, reply, f"{fence}{BLOB} and {BLOB}\n  more\n", 7)
    qtbot.waitUntil(lambda: "more" in view.toPlainText(), timeout=2000)
    streamed = code_lines(view)
    wrapped = [count > 1 for _, _, count in streamed]
    assert wrapped == [False, False, True, True, False, True, False]
    reply.append_text("```\n")
    reply.finish("complete")
    qtbot.waitUntil(lambda: "Copy" in view.toPlainText().split("more")[0], timeout=2000)
    assert code_lines(view) == streamed


def line_starts(view: TranscriptView, text: str) -> list[float]:
    layout = block_of(view, text).layout()
    return [layout.lineAt(i).x() for i in range(layout.lineCount())]


@pytest.mark.parametrize("streamed", [False, True])
def test_a_wrapped_code_line_continues_under_its_own_indent(qtbot: QtBot, streamed: bool) -> None:
    view = make_view(qtbot)
    if streamed:
        reply = view.begin_assistant("k", label="m")
        stream(qtbot, reply, INDENTED, 3)
        reply.finish("complete")
    else:
        view.add_assistant_message(INDENTED, label="m")
    space = view.fontMetrics().horizontalAdvance(" ")  # a bound: the code font is smaller
    deep = line_starts(view, "result = compute(")
    assert len(deep) > 1 and all(x > deep[0] + 8 * 0.8 * space for x in deep[1:])
    tabbed = line_starts(view, "return [item")
    assert len(tabbed) > 1 and tabbed[1] > tabbed[0]
    assert line_starts(view, "x = 1") == [deep[0]]  # a line after them starts at the edge
    assert line_starts(view, "def f()") == [deep[0]]


def cell_lines(table: QTextTable) -> dict[str, int]:
    """Each one-word cell's text and the number of lines it is drawn on."""
    lines: dict[str, int] = {}
    for row in range(table.rows()):
        for col in range(table.columns()):
            block = table.cellAt(row, col).firstCursorPosition().block()
            if " " not in block.text():
                lines[block.text()] = block.layout().lineCount()
    return lines


def tables(view: TranscriptView) -> list[QTextTable]:
    root = view.document().rootFrame()
    return [
        f for f in root.childFrames() if isinstance(f, QTextTable) and not chrome_kind(f.format())
    ]


@pytest.mark.parametrize("how", ["stored", "streamed", "drawn narrow"])
def test_a_wide_table_keeps_short_words_whole_and_fits_the_column(qtbot: QtBot, how: str) -> None:
    view = make_view(qtbot)
    if how == "drawn narrow":  # as a chat opens: drawn before its view has its final size
        view.resize(100, 400)
        qtbot.waitUntil(lambda: view.viewport().width() < 120, timeout=2000)
        view.add_assistant_message(WIDE_TABLE, label="m")
        view.resize(700, 500)
        qtbot.waitUntil(lambda: view.viewport().width() > 600, timeout=2000)
    if how == "streamed":
        reply = view.begin_assistant("k", label="m")
        stream(qtbot, reply, WIDE_TABLE, 5)
        reply.finish("complete")
    elif how == "stored":
        view.add_assistant_message(WIDE_TABLE, label="m")
    qtbot.waitUntil(lambda: bool(tables(view)), timeout=2000)
    (table,) = tables(view)
    words = cell_lines(table)
    assert set(words) >= {*GREEK, "EPSILON", "short"}
    assert set(words.values()) == {1}  # none broken mid-word ("gamm/a")
    assert_fits(view)
    kinds = {c.type() for c in table.format().columnWidthConstraints()}
    assert kinds == {QTextLength.Type.PercentageLength}


TERMS = (
    "| Name | Kind | Description |\n|---|---|---|\n"
    "| epsilon | constant | " + "a short description of the thing " * 3 + "|\n"
    "| gamma | function | the gamma function extends factorials |\n"
)


def test_a_window_narrower_than_the_column_shares_its_width_by_content(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.resize(1000, 500)
    view.add_assistant_message(TERMS, label="m")
    for width in (520, 440, 1000):
        view.resize(width, 500)
        qtbot.waitUntil(lambda w=width: view.width() == w, timeout=2000)
        (table,) = tables(view)
        words = cell_lines(table)
        assert {"epsilon", "constant", "gamma", "function"} <= set(words)
        assert set(words.values()) == {1}, width
        assert_fits(view)


def test_a_table_narrower_than_the_column_keeps_its_natural_widths(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_assistant_message(NARROW_TABLE, label="m")
    (table,) = tables(view)
    assert table.format().columnWidthConstraints() == []
    width = view.document().documentLayout().frameBoundingRect(table).width()
    assert width < view.column_width / 2


def test_column_widths_give_each_column_its_longest_word_first() -> None:
    assert column_widths([40, 40], [60, 60], 500, 12) == []  # fits: Qt's natural widths
    words, lines = [50, 50, 55], [50, 50, 900]
    widths = [w * 400 / 100 for w in column_widths(words, lines, 400, 12)]
    assert widths[0] >= 62 and widths[1] >= 62  # short columns on one line
    assert 398 <= sum(widths) < 400  # the room, but a px Qt's rounding may take
    long_url = [w * 400 / 100 for w in column_widths([30, 1000], [300, 1000], 400, 12)]
    assert long_url[0] >= 100  # one long token does not leave the short column its word only
    squeezed = column_widths([300, 300, 300], [300, 300, 300], 600, 12)
    assert 99 < sum(squeezed) < 100 and len(set(squeezed)) == 1


@given(
    st.text(alphabet="ab \n", min_size=0, max_size=40).map(lambda s: s.replace("a", "a" * 60)),
    st.lists(st.integers(min_value=1, max_value=900), max_size=8),
)
def test_code_gets_the_same_breaks_whole_or_streamed(code: str, cuts: list[int]) -> None:
    whole, run = break_code_runs(code)
    assert whole.replace(ZWSP, "") == code
    assert all(len(part) <= CODE_RUN for word in whole.split() for part in word.split(ZWSP))
    pieces, streamed_run, start = [], 0, 0
    for end in [*sorted(cuts), len(code)]:
        piece, streamed_run = break_code_runs(code[start:end], streamed_run)
        pieces.append(piece)
        start = max(start, end)
    assert "".join(pieces) == whole and streamed_run == run


@pytest.mark.parametrize("streamed", [False, True])
def test_a_long_code_line_in_a_block_quote_wraps_too(qtbot: QtBot, streamed: bool) -> None:
    text = f"Quoted:\n\n> ```python\n> {CODE_LINE}\n> x = 1\n> ```\n\nAfter.\n"
    view = make_view(qtbot)
    view.resize(700, 600)
    if streamed:
        reply = view.begin_assistant("k", label="m")
        stream(qtbot, reply, text, 7)
        reply.finish("complete")
    else:
        view.add_assistant_message(text, key="k", label="m")
    qtbot.waitUntil(lambda: view.horizontalScrollBar().maximum() == 0, timeout=2000)
    line = block_of(view, "result = compute(")
    assert line.layout().lineCount() > 1 and CODE_LINE in shown(view)
    assert block_of(view, "x = 1").blockFormat().bottomMargin() > 0  # the quote's code ends
    assert line.blockFormat().bottomMargin() == 0  # its lines kept together
