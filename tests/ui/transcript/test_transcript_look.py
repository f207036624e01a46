"""The transcript's look: theme switch on every open chat, the reading column, spacing, one
code block style while streaming and after, line breaks, jump-to-latest, links."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from plain_checks import shown_text
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QTextCursor,
    QTextFormat,
    QTextFrame,
    QTextFrameFormat,
    QTextTable,
    QTextTableCellFormat,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStackedWidget, QToolButton
from pytestqt.qtbot import QtBot
from test_transcript import make_view

from streamdesk.ui.theme import colors
from streamdesk.ui.transcript.layout import PAGE_MARGIN, QUOTE_INDENT, chrome_kind
from streamdesk.ui.transcript.line_breaks import LINE_SEPARATOR, keep_line_breaks
from streamdesk.ui.transcript.view import ReplyView, TranscriptView

REPLY = (
    "## Title\n\nFirst paragraph with `code`.\n\n- one\n- two\n\n"
    "```python\ndef f():\n    return 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "Roses are red,\nviolets are blue.\n"
)


def fill(view: TranscriptView, n: int = 3) -> None:
    for i in range(n):
        view.add_user_message(f"question {i}", key=("u", i))
        view.add_assistant_message(f"answer {i}\n\n{REPLY}", key=("r", i), label="m")


def frames(view: TranscriptView, kind: str) -> list[QTextFrame]:
    root = view.document().rootFrame()
    return [f for f in root.childFrames() if chrome_kind(f.frameFormat()) == kind]


def colour_at(view: TranscriptView, text: str) -> QColor:
    found = view.document().find(text)
    assert not found.isNull(), text
    return found.charFormat().foreground().color()


# -- theme switch --------------------------------------------------------------------------


def test_theme_switch_redraws_every_open_chat(qtbot: QtBot) -> None:
    """Two chats in a styled window, one shown, one streaming: light -> dark -> light keeps all
    text, and every page is painted in the new colours (the shown one and the hidden one)."""
    window = QStackedWidget()
    window.setStyleSheet("QLabel { color: red; }")  # a window style sheet, as the app's
    qtbot.addWidget(window)
    first, second = TranscriptView(), TranscriptView()
    for view in (first, second):
        window.addWidget(view)
    window.resize(700, 500)
    window.show()
    fill(first)
    fill(second, 2)
    reply = second.begin_assistant(key="live", label="m")
    reply.append_text("Streaming ```py\nnot code``` and\n\n```python\nx = 1\n")
    qtbot.waitUntil(lambda: "x = 1" in second.toPlainText(), timeout=2000)
    texts = [first.toPlainText(), second.toPlainText()]
    link = colour_at(first, "Copy")
    for dark in (True, False, True):
        for view in (first, second):
            view.set_dark(dark)  # raised RuntimeError (a deleted QTextFrame) before
        assert [first.toPlainText(), second.toPlainText()] == texts
        c = colors(dark)
        for view in (first, second):
            window.setCurrentWidget(view)
            page = view.viewport().grab().toImage().pixelColor(3, 3)
            assert page == QColor(c["page"]), (dark, page.name())
            assert view.palette().base().color() == QColor(c["page"])
            assert view.palette().text().color() == QColor(c["text"])
            assert len(frames(view, "header")) == view.message_count()
            code = frames(view, "code")[0].frameFormat()
            assert code.background().color() == QColor(c["code_bg"])
        assert (colour_at(first, "Copy") != link) == dark
    reply.append_text("y = 2\n```\n\nafter")
    reply.finish("complete")
    assert "y = 2" in second.toPlainText() and "after" in second.toPlainText()
    assert not second.document().find("question 1").isNull()


# -- column and spacing --------------------------------------------------------------------


def test_the_column_not_the_window_decides_line_length(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    fill(view, 1)
    root = view.document().rootFrame()
    view.resize(1600, 600)
    qtbot.waitUntil(lambda: root.frameFormat().leftMargin() > PAGE_MARGIN, timeout=2000)
    ff = root.frameFormat()
    text_width = view.viewport().width() - ff.leftMargin() - ff.rightMargin()
    assert 560 <= text_width <= 860
    assert abs(ff.leftMargin() - ff.rightMargin()) <= 1  # centred
    view.resize(500, 600)
    qtbot.waitUntil(lambda: root.frameFormat().leftMargin() == PAGE_MARGIN, timeout=2000)


def test_paragraphs_headings_and_lists_are_spaced(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_assistant_message(REPLY)
    doc = view.document()

    def block_format(text: str):  # type: ignore[no-untyped-def]
        return doc.findBlock(doc.find(text).position()).blockFormat()

    para, heading, item = block_format("First"), block_format("Title"), block_format("one")
    em = view.fontMetrics().height() / 1.17
    assert para.bottomMargin() >= 0.6 * em and para.lineHeight() >= 120
    assert heading.topMargin() > heading.bottomMargin() > 0 and heading.headingLevel() == 2
    assert 0 < item.bottomMargin() < para.bottomMargin()
    title = doc.find("Title").charFormat()
    assert title.fontPointSize() > view.font().pointSizeF() and title.fontWeight() >= 600
    code = doc.find("code").charFormat()  # inline code: about the text's size, a background
    assert 0.85 <= code.fontPointSize() / view.font().pointSizeF() <= 1.0
    assert code.background().style() != Qt.BrushStyle.NoBrush


def test_a_code_block_keeps_its_frame_and_font_when_the_fence_closes(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant(label="m")
    reply.append_text("Intro\n\n```python\ndef f():\n    return 1\n")
    qtbot.waitUntil(lambda: "return 1" in view.toPlainText(), timeout=2000)
    layout = view.document().documentLayout()

    def look() -> tuple[object, ...]:
        (frame,) = frames(view, "code")
        fmt = view.document().find("return").charFormat()
        rect = layout.frameBoundingRect(frame)
        ff = frame.frameFormat()
        return (ff.padding(), ff.border(), fmt.fontFamilies(), fmt.fontPointSize(), rect.height())

    streaming = look()
    assert "Copy" in view.toPlainText() and "python" in view.toPlainText()
    reply.append_text("```\n\nDone.")
    reply.finish("complete")
    assert look() == streaming  # same padding, border, font, size and height
    qtbot.waitUntil(lambda: colour_at(view, "def") != colour_at(view, "f()"), timeout=2000)


# -- single newlines -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("a\nb\nc", f"a{LINE_SEPARATOR}b{LINE_SEPARATOR}c"),
        ("hard  \nbreak", f"hard{LINE_SEPARATOR}break"),
        ("# Head\nbody\nmore", f"# Head\nbody{LINE_SEPARATOR}more"),
        ("- a\n- b\nlazy", "- a\n- b\nlazy"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "| a | b |\n|---|---|\n| 1 | 2 |"),
        ("```\nx\ny\n```\nq\nr", f"```\nx\ny\n```\nq{LINE_SEPARATOR}r"),
        ("~~~\n```\nin\n~~~\nout", "~~~\n```\nin\n~~~\nout"),
        ("Setext\n---", "Setext\n---"),
        ("para\n\n    code\n    more", "para\n\n    code\n    more"),
        ("> q1\n> q2", f"> q1{LINE_SEPARATOR}q2"),
        ("text\n> quote", "text\n> quote"),
        ("> q1\n>\n> q2", "> q1\n>\n> q2"),  # two paragraphs of one quote
        ("> q1\n> > deeper", "> q1\n> > deeper"),  # a nested quote starts
        ("> > d1\n> > d2", f"> > d1{LINE_SEPARATOR}d2"),
        ("> - a\n> - b", "> - a\n> - b"),  # a list in a quote
        ("> q1 \\\nlazy", f"> q1 {LINE_SEPARATOR}lazy"),  # a lazy line goes on with the quote
        ("> > d1\n> d2", f"> > d1{LINE_SEPARATOR}d2"),  # lazy in the nested quote's paragraph
        ("```\nx\n```py\ny\n```\nq\nr", f"```\nx\n```py\ny\n```\nq{LINE_SEPARATOR}r"),
        # a table, fenced or indented code inside a quote, nested quotes too
        ("> | a | b |\n> |---|---|\n> | 1 | 2 |", "> | a | b |\n> |---|---|\n> | 1 | 2 |"),
        ("> > | a |\n> > |---|\n> > | 1 |", "> > | a |\n> > |---|\n> > | 1 |"),
        (">  > | a |\n>  > |---|\n>  > | 1 |", ">  > | a |\n>  > |---|\n>  > | 1 |"),
        ("> | a |\n> |---|\n> | 1 |\nno\nrow", f"> | a |\n> |---|\n> | 1 |\nno{LINE_SEPARATOR}row"),
        ("> ```\n> x\n> y\n> ```\n> q\n> r", f"> ```\n> x\n> y\n> ```\n> q{LINE_SEPARATOR}r"),
        ("> > ~~~\n> > x\n> > > y\n> > ~~~", "> > ~~~\n> > x\n> > > y\n> > ~~~"),
        ("> ```\n> x\nq\nr", f"> ```\n> x\nq{LINE_SEPARATOR}r"),  # the quote's end ends the fence
        ("> text\n>\n>     code\n>     more", "> text\n>\n>     code\n>     more"),
        ("> text\n>     more", f"> text{LINE_SEPARATOR}more"),  # no code inside a paragraph
        ("q\n>     code\n>     more", "q\n>     code\n>     more"),  # a quote starts with code
    ],
)
def test_single_newlines_in_a_paragraph_become_line_breaks(source: str, shown: str) -> None:
    assert keep_line_breaks(source) == shown


def test_a_poem_keeps_its_lines_streamed_or_stored_and_the_text_is_unchanged(
    qtbot: QtBot,
) -> None:
    poem = "Roses are red,\nviolets are blue,\nsugar is sweet."
    view = make_view(qtbot)
    reply = view.begin_assistant()
    for word in poem.split(" "):
        reply.append_text(word + " ")
    reply.finish("complete")
    view.add_assistant_message(poem, key="stored")
    doc = view.document()
    for start in (doc.find("Roses"), doc.find("Roses", doc.find("Roses"))):
        block = doc.findBlock(start.position())
        assert block.text().count(LINE_SEPARATOR) == 2  # one paragraph, three lines
        assert block.layout().lineCount() == 3
    assert reply.text.strip() == poem and view.plain_text_of("stored") == poem


@pytest.mark.parametrize("how", ["streamed", "stored"])
def test_a_block_quote_is_indented_streamed_committed_or_stored(qtbot: QtBot, how: str) -> None:
    """A quote that starts a block was merged into the block before it: plain once committed
    or stored, quoted only while it streamed as part of a larger tail."""
    source = "- a list item\n\n> A quoted line,\n> and a second one.\n>\n> > nested.\n\nAfter."
    view = make_view(qtbot)
    if how == "streamed":
        reply = view.begin_assistant()
        for n in range(0, len(source), 3):
            reply.append_text(source[n : n + 3])
        reply.finish("complete")
    else:
        view.add_assistant_message(source, key="stored")
    doc = view.document()

    def quoted(text: str) -> tuple[float, int]:
        bf = doc.findBlock(doc.find(text).position()).blockFormat()
        return bf.leftMargin(), bf.intProperty(QTextFormat.Property.BlockQuoteLevel)

    assert quoted("A quoted line") == (QUOTE_INDENT, 1)
    assert quoted("nested.") == (2 * QUOTE_INDENT, 2)
    assert quoted("After.") == (0, 0)
    muted = QColor(colors(False)["muted"])
    for text, colour in (("A quoted line", muted), ("nested.", muted), ("After.", None)):
        shown = QTextCursor(doc.find(text)).charFormat().foreground().color()
        assert (shown == colour) if colour else (shown != muted), text


# -- jump to latest ------------------------------------------------------------------------


def test_jump_to_latest_stays_when_the_reply_ends_while_scrolled_up(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text("Paragraph\n\n" * 80)
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=2000)
    bar.setValue(0)
    jump = view.findChild(QToolButton, "jumpToLatest")
    assert jump is not None and jump.isVisible()
    reply.append_text("The end.")
    reply.finish("complete")
    assert jump.isVisible() and bar.value() == 0  # the latest is still below the reader
    jump.click()
    assert not jump.isVisible() and bar.value() == bar.maximum()


# -- links ---------------------------------------------------------------------------------


def test_hovering_a_link_shows_where_it_goes(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_assistant_message("See [the spec](https://example.com/spec).")
    with qtbot.waitSignal(view.linkHovered) as hovered:
        view.highlighted.emit(QUrl("https://example.com/spec"))
    assert hovered.args == ["https://example.com/spec"]
    found = view.document().find("Copy")  # an action link says what it does, not its URL
    with qtbot.waitSignal(view.linkHovered) as hovered:
        view.highlighted.emit(QUrl(found.charFormat().anchorHref()))
    assert hovered.args == ["Copy the message"]
    doc = view.document()  # under the mouse, Qt shows each link's tooltip
    assert shown_text(doc.find("the spec").charFormat().toolTip()) == "https://example.com/spec"
    assert found.charFormat().toolTip() == "Copy the message"


def test_a_refused_link_shows_its_target(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_assistant_message("Read [the file](file:///etc/passwd) and <javascript:alert(1)>.")
    text = view.toPlainText()
    assert "the file (file:///etc/passwd)" in text
    assert text.count("javascript:alert(1)") == 1  # an autolink already shows its target
    fmt = view.document().find("the file").charFormat()
    assert not fmt.isAnchor() and "file:///etc/passwd" in fmt.toolTip()


def test_a_link_that_cannot_open_says_so(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.open_url = lambda _url: False
    with qtbot.waitSignal(view.linkFailed) as failed:
        view.anchorClicked.emit(QUrl("https://example.com/x"))
    assert "https://example.com/x" in failed.args[0]
    with qtbot.waitSignal(view.linkFailed) as refused:
        view.anchorClicked.emit(QUrl("file:///etc/passwd"))
    assert "file:///etc/passwd" in refused.args[0]


# -- messages ------------------------------------------------------------------------------


def test_a_prompt_is_a_tinted_block_and_a_reply_sits_on_the_page(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_user_message("Hello", key="u")
    view.add_assistant_message("Hi", key="r", label="model · SSE")
    prompt, reply = frames(view, "header")
    assert prompt.frameFormat().background().color() == QColor(colors(False)["prompt"])
    assert reply.frameFormat().background().style() == Qt.BrushStyle.NoBrush
    caption = view.document().find("Assistant · model · SSE").charFormat()
    assert caption.fontPointSize() < view.font().pointSizeF()
    assert caption.fontWeight() <= QFont.Weight.Normal.value


def test_a_font_change_redraws_with_the_new_size(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_assistant_message(REPLY)
    before = view.document().find("return").charFormat().fontPointSize()
    font = view.font()
    font.setPointSize(font.pointSize() + 4)
    view.setFont(font)
    after = view.document().find("return").charFormat().fontPointSize()
    assert after > before and view.toPlainText().count("Title") == 1


TABLES = (
    "| Technique | Direction | Good for |\n|---|:---:|---:|\n"
    "| **Server-sent events** | Server to client | LLM replies, feeds, progress |\n"
    "| WebSocket | Both ways | Chat, games, collaboration and anything else |\n\n"
    "Between.\n\n| one |\n|---|\n| only column |\n\nAfter.\n"
)


def rendered_after(reply: ReplyView, count: int) -> Callable[[], bool]:
    """True once `reply` has drawn a frame after its `count`th."""
    return lambda: reply.render_count > count


def as_collapsed_borders(view: TranscriptView) -> None:
    """Give the transcript's tables the look they are drawn to match: a collapsed 1 px
    border in the rule colour, 6 px cell padding, no fills."""
    rule = QColor(colors(view.is_dark())["code_border"])
    for frame in view.document().rootFrame().childFrames():
        if not isinstance(frame, QTextTable) or chrome_kind(frame.format()):
            continue
        tf = frame.format()
        tf.setTopMargin(tf.topMargin() - 1)
        tf.setBottomMargin(tf.bottomMargin() - 2)
        tf.setLeftMargin(0)
        tf.setRightMargin(0)
        tf.clearBackground()
        tf.setBorder(1)
        tf.setBorderBrush(rule)
        tf.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        tf.setBorderCollapse(True)
        tf.setCellSpacing(0)
        tf.setCellPadding(6)
        frame.setFormat(tf)
        for row in range(frame.rows()):
            for col in range(frame.columns()):
                frame.cellAt(row, col).setFormat(QTextTableCellFormat())


@pytest.mark.parametrize("dark", [False, True])
def test_a_table_looks_as_with_collapsed_one_pixel_borders(qtbot: QtBot, dark: bool) -> None:
    """Tables are drawn with cell spacing (collapsed borders cost O(log document) per cell
    edge to draw): every rule and glyph lands on the pixel a collapsed border put it."""
    view = make_view(qtbot, dark=dark)
    reply = view.begin_assistant(label="m")
    for i in range(0, len(TABLES), 7):  # streamed: rows are added to the open table
        before = reply.render_count
        reply.append_text(TABLES[i : i + 7])
        qtbot.waitUntil(rendered_after(reply, before), timeout=2000)
    reply.finish("complete")
    view.add_assistant_message(TABLES, label="stored")
    drawn = view.viewport().grab().toImage()
    as_collapsed_borders(view)
    assert view.viewport().grab().toImage() == drawn


def test_the_failure_box_has_a_stripe_and_its_actions(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant(key="k")
    reply.append_text("partial")
    reply.finish(
        "error", failure_title="Connection cut", failure_text="It broke.", actions=("retry",)
    )
    boxes = [
        f
        for f in view.document().rootFrame().childFrames()
        if chrome_kind(f.frameFormat()) == "failure"
    ]
    assert len(boxes) == 1
    cursor = QTextCursor(view.document())
    cursor.setPosition(boxes[0].firstPosition())
    table = cursor.currentTable()
    assert table is not None
    stripe = table.cellAt(0, 0).format().background().color()
    assert stripe == QColor(colors(False)["error"])
    assert view.document().find("Connection cut").charFormat().fontWeight() >= 600
    assert "Retry" in view.toPlainText() and "partial" in view.toPlainText()


def test_quiet_action_links_are_reachable_by_keyboard(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_assistant_message("Hi there", key="r")
    copy = view.document().find("Copy").charFormat()
    assert copy.foreground().color() == QColor(colors(False)["faint"])  # quiet, small
    assert copy.fontPointSize() < view.font().pointSizeF()
    view.setFocus()
    assert view.focusNextPrevChild(True)  # Tab goes to the first link
    assert view.textCursor().selectedText() == "Copy"
    with qtbot.waitSignal(view.copyRequested) as copied:
        QTest.keyClick(view, Qt.Key.Key_Return)
    assert copied.args == ["Hi there"]


CODE_IN_TABLE = "Para with `code` here.\n\n| Field | Code |\n|---|---|\n| `data` | `200` |\n"


@pytest.mark.parametrize("streamed", [False, True])
def test_inline_code_is_body_sized_on_a_background_in_paragraphs_and_cells(
    qtbot: QtBot, streamed: bool
) -> None:
    """Qt's Markdown importer gives inline code the system fixed font's size: in a bigger
    body (the user's font size) a table cell's `data` read small, bare and high."""
    view = make_view(qtbot)
    font = view.font()
    font.setPointSize(font.pointSize() + 4)
    view.setFont(font)
    if streamed:  # the table grows row by row while it streams
        reply = view.begin_assistant(label="m")
        reply.append_text(CODE_IN_TABLE + "| `retry` | `204` |\n")
        qtbot.waitUntil(lambda: "204" in view.toPlainText(), timeout=2000)
        reply.finish("complete")
    else:
        view.add_assistant_message(CODE_IN_TABLE + "| `retry` | `204` |\n")
    doc = view.document()
    body = doc.find("Para").charFormat().font().pointSizeF()
    background = QColor(colors(view.is_dark())["inline_code_bg"])
    for code in ("code", "data", "200", "retry", "204"):
        fmt = doc.find(code).charFormat()
        in_cell = doc.find(code).currentTable() is not None
        assert in_cell == (code != "code")
        assert fmt.font().pointSizeF() >= 0.9 * body, (code, fmt.font().pointSizeF(), body)
        assert fmt.background().color() == background, code
