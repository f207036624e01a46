"""The transcript renders a streaming reply incrementally and ends with the same document."""

from __future__ import annotations

import pytest
from plain_checks import shown_text
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QTextCursor, QTextDocument
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from streamdesk.ui.transcript.layout import chrome_kind
from streamdesk.ui.transcript.safe_document import MARKDOWN_FEATURES
from streamdesk.ui.transcript.view import ReplyView, TranscriptView

SAMPLES = {
    "lists": "Intro:\n\n- one\n- two\n  - nested\n- three\n\n1. first\n2. second\n\n10. ten\n",
    "table": "| Name | Value |\n|:-----|------:|\n| a | 1 |\n| b | 2 |\n\nAfter the table.",
    "fences": "Text\n\n```python\ndef f(x):\n    return x * 2\n```\n\n"
    "~~~\nraw ``` inside\n~~~\nend",
    "headings": "# One\nbody\n## Two\n\nmore *body* and `code`\n\nSetext\n---\n\n### Three\n",
    "quotes": "Intro\n\n> | a | b |\n> |---|---|\n> | 1 | 2 |\n>\n"
    "> ```py\n> x = 1\n> y = 2\n> ```\n>\n> > | n | m |\n> > |---|---|\n> > | 3 | 4 |\n\nAfter.",
}


def make_view(qtbot: QtBot, **kw: bool) -> TranscriptView:
    view = TranscriptView(**kw)
    view.open_url = lambda _url: True  # never start a browser from a test
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    return view


def content_lines(text: str) -> list[str]:
    """Document text without our own chrome (headers, code labels) and blank lines."""
    lines = (ln.replace("\u200b", "").strip() for ln in text.splitlines())
    return [ln for ln in lines if ln and not ln.endswith("Copy")]


def stream(qtbot: QtBot, reply: ReplyView, text: str, size: int) -> None:
    """Append in chunks, letting a render happen every few chunks (as at 1,000 tokens/s)."""
    for i in range(0, len(text), size):
        reply.append_text(text[i : i + size])
        if (i // size) % 3 == 2:
            before = reply.render_count
            qtbot.waitUntil(lambda b=before: reply.render_count > b, timeout=2000)


def whole(md: str) -> list[str]:
    doc = QTextDocument()
    doc.setMarkdown(md, MARKDOWN_FEATURES)
    return content_lines(doc.toPlainText())


def click_anchor(qtbot: QtBot, view: TranscriptView, text: str, href_part: str = "") -> None:
    """Click the first link `text` (href containing `href_part`) with the mouse, where drawn."""
    cursor = view.document().find(text)
    while not cursor.isNull() and href_part not in cursor.charFormat().anchorHref():
        cursor = view.document().find(text, cursor)
    assert not cursor.isNull() and cursor.charFormat().isAnchor(), text
    c = QTextCursor(cursor)
    c.setPosition(cursor.selectionStart() + 1)
    view.setTextCursor(c)
    view.ensureCursorVisible()
    rect = view.cursorRect(c)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("size", [1, 7, 50])
def test_streamed_reply_renders_like_the_whole_markdown(qtbot: QtBot, name: str, size: int) -> None:
    md = SAMPLES[name]
    view = make_view(qtbot)
    reply = view.begin_assistant("k")
    stream(qtbot, reply, md, size)
    reply.finish("complete")
    assert content_lines(view.toPlainText()) == whole(md)
    assert reply.text == md
    history = make_view(qtbot)
    history.add_assistant_message(md)
    assert history.toPlainText() == view.toPlainText()


def test_mid_stream_the_open_tail_is_shown(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text("First paragraph.\n\nSecond is stre")
    qtbot.waitUntil(lambda: "Second is stre" in view.toPlainText(), timeout=2000)
    reply.append_text("aming\n\n```py\nx = 1\n")
    qtbot.waitUntil(lambda: "x = 1" in view.toPlainText(), timeout=2000)
    assert "Second is streaming" in view.toPlainText()


def test_a_thousand_appends_in_one_frame_render_a_handful_of_times(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    for i in range(1000):
        reply.append_text(f"w{i} ")
    qtbot.waitUntil(lambda: reply.render_count >= 1, timeout=2000)
    assert reply.render_count <= 3
    assert "w999" in view.toPlainText()


@pytest.mark.parametrize("status", ["stopped", "error"])
def test_a_failed_reply_keeps_its_text_and_is_marked(qtbot: QtBot, status: str) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant("k")
    reply.append_text("Partial answer so far")
    reply.set_notice("Rate limited: retrying in 12 s")
    qtbot.waitUntil(lambda: "retrying in 12 s" in view.toPlainText(), timeout=2000)
    title = "Connection cut" if status == "error" else ""
    reply.finish(status, failure_title=title, failure_text="after 312 tokens.")
    text = view.toPlainText()
    assert "Partial answer so far" in text
    assert "retrying in 12 s" not in text  # the notice was transient
    marker = "Connection cut: after 312 tokens." if status == "error" else "Stopped"
    assert marker in text
    assert text.index("Partial answer") < text.index(marker)


def test_retry_and_continue_links_emit_with_the_key(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant(("conv", 7))
    reply.append_text("cut here")
    reply.finish("partial", failure_title="Cut", actions=("Retry", "Continue"))
    with qtbot.waitSignal(view.retryRequested) as retry:
        click_anchor(qtbot, view, "Retry")
    assert retry.args == [("conv", 7)]
    with qtbot.waitSignal(view.continueRequested) as cont:
        click_anchor(qtbot, view, "Continue")
    assert cont.args == [("conv", 7)]


def test_copy_code_block_and_message(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    md = "Look:\n\n```python\nprint('hi')\n```\n"
    view.add_assistant_message(md, key="m1")
    with qtbot.waitSignal(view.copyRequested) as copied:
        click_anchor(qtbot, view, "Copy", "copy-code")
    assert copied.args == ["print('hi')"]
    assert QGuiApplication.clipboard().text() == "print('hi')"
    assert view.plain_text_of("m1") == md


def test_user_and_assistant_messages_are_distinct_frames(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_user_message("Hello *there*", key=1)
    view.add_assistant_message("Hi", label="mock-1")
    text = view.toPlainText()
    assert "You" in text and "Assistant · mock-1" in text
    assert "Hello *there*" in text  # the user's text is shown as typed
    frames = view.document().rootFrame().childFrames()
    assert len(frames) == 2
    assert frames[0].frameFormat().background() != frames[1].frameFormat().background()


def test_reasoning_is_dimmed_and_collapses(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_reasoning("Let me think")
    reply.append_text("Answer")
    qtbot.waitUntil(lambda: "Answer" in view.toPlainText(), timeout=2000)
    assert "Let me think" in view.toPlainText()
    click_anchor(qtbot, view, "▾ Reasoning")
    assert "Let me think" not in view.toPlainText()
    assert "Answer" in view.toPlainText()
    reply.append_text(" grows")
    reply.finish("complete")
    assert "Answer grows" in view.toPlainText()


def test_reasoning_is_rendered_as_dimmed_markdown(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_reasoning("I should *think* ")
    reply.append_reasoning("about **this**.")
    reply.append_text("Answer")
    reply.finish("complete")
    view.add_assistant_message("x", reasoning="Stored *too*.")
    click_anchor(qtbot, view, "▸ Reasoning")  # stored reasoning starts collapsed
    text = view.toPlainText()
    assert "I should think about this." in text and "Stored too." in text
    assert "*" not in text
    doc = view.document()
    for word, italic in (("think", True), ("this", False), ("too", True)):
        fmt = doc.find(word).charFormat()
        assert fmt.fontItalic() == italic
        assert (
            fmt.foreground().color().name()
            == doc.find("I should").charFormat().foreground().color().name()
        )
    assert doc.find("this").charFormat().fontWeight() > 400
    assert (
        doc.find("I should").charFormat().foreground()
        != doc.find("Answer").charFormat().foreground()
    )


def test_theme_switch_keeps_the_transcript(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_user_message("q")
    reply = view.begin_assistant()
    reply.append_text("| a |\n|---|\n| 1 |\n\n```py\nx\n```\nstreaming")
    qtbot.waitUntil(lambda: "streaming" in view.toPlainText(), timeout=2000)
    before = view.toPlainText()
    view.set_dark(True)
    assert view.toPlainText() == before
    reply.append_text(" on")
    reply.finish("complete")
    assert "streaming on" in view.toPlainText()


def test_auto_scroll_follows_unless_scrolled_up(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    bar = view.verticalScrollBar()
    for i in range(60):
        reply.append_text(f"Paragraph {i}\n\n")
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=2000)
    assert view.is_following()
    bar.setValue(0)  # the user scrolls up
    assert not view.is_following()
    reply.append_text("more text\n\n" * 20)
    qtbot.waitUntil(lambda: "more text" in view.toPlainText(), timeout=2000)
    assert bar.value() == 0
    jump = view.findChild(QToolButton)
    assert jump is not None and jump.isVisible()
    assert view.viewport().rect().contains(jump.geometry().bottomRight() - QPoint(1, 1))
    qtbot.mouseClick(jump, Qt.MouseButton.LeftButton)
    assert view.is_following() and not jump.isVisible()
    assert bar.value() == bar.maximum()


def test_clear_messages_empties_and_detaches_the_stream(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text("old")
    view.clear_messages()
    reply.append_text("late")
    view.add_user_message("new")
    assert "old" not in view.toPlainText() and "late" not in view.toPlainText()


def test_a_message_added_mid_stream_does_not_disturb_the_reply(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text("Hello\n\n- a\n- b")
    reply.set_notice("Rate limited: retrying in 12 s")
    qtbot.waitUntil(lambda: "retrying" in view.toPlainText(), timeout=2000)
    view.add_user_message("interjection")
    reply.append_text("\n- c\n\ntail")
    reply.finish("stopped")
    lines = content_lines(view.toPlainText())
    assert lines == ["Hello", "a", "b", "c", "tail", "Stopped", "interjection"]


def test_header_links_and_action_lines_emit_action_activated(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.header_links = lambda key, role: [("Pin", "pin"), ("2/3", "")] if role == "user" else []
    got: list[tuple[str, object]] = []
    view.actionActivated.connect(lambda action, key: got.append((action, key)))
    view.add_action_line("Load more", "more")
    view.add_user_message("hello", key="u1")
    view.add_assistant_message("partial text", status="partial", key="r1")
    text = view.toPlainText()
    assert "You   Copy  Pin  2/3" in text and "Assistant   Copy\n" in text
    click_anchor(qtbot, view, "Pin", "pin")
    click_anchor(qtbot, view, "Load more", "more")
    assert got == [("pin", "u1"), ("more", None)]
    span = view.message_span("u1")
    assert span is not None and "hello" in text[span[0] : span[1]]
    assert view.message_span("nope") is None


def test_failure_actions_hook_offers_continue_on_a_stored_partial_reply(qtbot: QtBot) -> None:
    class View(TranscriptView):
        def failure_actions(self, key: object, status: str, has_text: bool) -> tuple[str, ...]:
            return ("continue",) if has_text else ("retry",)

    view = View()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    keys: list[object] = []
    view.continueRequested.connect(keys.append)
    view.add_assistant_message("half a reply", status="partial", key="r1")
    assert "Continue" in view.toPlainText()
    click_anchor(qtbot, view, "Continue", "continue")
    assert keys == ["r1"]
    plain = make_view(qtbot)  # the default offers nothing: only a live reply has actions
    plain.add_assistant_message("half a reply", status="partial", key="r1")
    assert "Failed" in plain.toPlainText() and "Continue" not in plain.toPlainText()


def test_failure_detail_is_split_from_the_sentence(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text("partial")
    raw = "peer closed connection without sending complete message body (incomplete chunked read)"
    message = f"The connection to h:1 broke during the reply ({raw}); the partial reply was kept."
    reply.finish("error", failure_title="Connection cut", failure_text=message)
    lines = view.toPlainText().splitlines()
    first = next(ln for ln in lines if ln.startswith("Connection cut"))
    kept = "The connection to h:1 broke during the reply; the partial reply was kept."
    assert first == f"Connection cut: {kept}"
    assert raw not in view.toPlainText()  # the library's words: behind "Details" only
    detail = view.document().find("Details")
    assert not detail.isNull() and shown_text(detail.charFormat().toolTip()) == raw


def test_messages_are_spaced_by_frame_margins_only(qtbot: QtBot) -> None:
    """Gap blocks around frames have no height: You->Assistant and code->You gaps are equal."""
    view = make_view(qtbot)
    view.add_user_message("Q1", key=1)
    view.add_assistant_message("Text\n\n```python\nx = 1\n```\n", key=2)
    view.add_user_message("Q2", key=3)
    view.add_assistant_message("Text only", key=4)
    view.add_user_message("Q3", key=5)
    layout = view.document().documentLayout()
    frames = [  # the headers (prompt blocks, reply captions)
        f
        for f in view.document().rootFrame().childFrames()
        if chrome_kind(f.frameFormat()) == "header"
    ]
    assert len(frames) == view.message_count() == 5
    tops = [layout.frameBoundingRect(f).top() for f in frames]
    bottoms = [layout.frameBoundingRect(f).bottom() for f in frames]
    after_user = tops[1] - bottoms[0]
    assert after_user < 24  # no empty line between a prompt and its reply's header
    doc = view.document()
    code_end = layout.blockBoundingRect(doc.findBlock(doc.find("x = 1").position())).bottom()
    text_end = layout.blockBoundingRect(doc.findBlock(doc.find("Text only").position())).bottom()
    assert tops[2] - code_end >= 12  # the next prompt does not touch the code block
    assert abs((tops[2] - code_end) - (tops[4] - text_end)) <= 14
    assert view.document().rootFrame().frameFormat().bottomMargin() >= 16


def table_cells(view: TranscriptView) -> list[list[tuple[str, int]]]:
    """The text and alignment of each cell of the document's first Markdown table."""
    for frame in view.document().rootFrame().childFrames():
        table = QTextCursor(frame.firstCursorPosition()).currentTable()
        if table is not None and not chrome_kind(table.format()):
            return [
                [
                    (
                        cell.firstCursorPosition().block().text(),
                        int(cell.firstCursorPosition().blockFormat().alignment()),
                    )
                    for cell in (table.cellAt(r, c) for c in range(table.columns()))
                ]
                for r in range(table.rows())
            ]
    return []


def raw_rows(view: TranscriptView) -> list[str]:
    """Lines shown as Markdown source of a table row."""
    return [ln for ln in view.toPlainText().splitlines() if ln.lstrip().startswith("|")]


def test_a_streaming_table_grows_row_by_row_as_the_whole_markdown_draws_it(
    qtbot: QtBot,
) -> None:
    rows = ["| **SSE** | `feeds` | one \\| two |", "| WebSocket | chat | [docs](https://x.org) |"]
    head = "| Technique | Good for | Note |\n|:---|:---:|---:|\n"
    view = make_view(qtbot)
    reply = view.begin_assistant()
    text = "Before.\n\n"
    reply.append_text(text)
    for line in [head, *(r + "\n" for r in rows)]:
        text += line
        reply.append_text(line[:-9])  # half a row first: never shown as raw pipes
        before = reply.render_count
        qtbot.waitUntil(lambda b=before: reply.render_count > b, timeout=2000)
        assert not raw_rows(view)
        reply.append_text(line[-9:])
        before = reply.render_count
        qtbot.waitUntil(lambda b=before: reply.render_count > b, timeout=2000)
        if line == head:  # a table shows from its first row (its alignment is known then)
            assert table_cells(view) == [] and not raw_rows(view)
            continue
        whole_so_far = make_view(qtbot)
        whole_so_far.add_assistant_message(text)
        assert table_cells(view) == table_cells(whole_so_far), "as if drawn whole"
    assert len(table_cells(view)) == 3 and table_cells(view)[2][0][0] == "WebSocket"
    reply.append_text("\nAfter.")
    reply.finish("complete")
    assert content_lines(view.toPlainText()) == whole(text + "\nAfter.")


def list_items(view: TranscriptView) -> list[tuple[str, str]]:
    """(text, marker) of each list item in the document, top to bottom."""
    items, block = [], view.document().begin()
    while block.isValid():
        found = block.textList()
        if found is not None:
            items.append((block.text(), found.itemText(block)))
        block = block.next()
    return items


def test_a_streaming_list_draws_only_its_last_item_again(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    text = ""
    for part in ["Steps:\n\n1. one\n", "2. two\n   - nested\n", "3", ". thr", "ee is long", "\n4."]:
        text += part
        reply.append_text(part)
        before = reply.render_count
        qtbot.waitUntil(lambda b=before: reply.render_count > b, timeout=2000)
        if part == ". thr":  # a third item began: the first two are drawn for the last time
            first = view.document().find("one")  # a cursor on an item drawn again collapses
        if part == "ee is long":
            assert first.selectedText() == "one", "the earlier items stayed as drawn"
        whole_so_far = make_view(qtbot)
        whole_so_far.add_assistant_message(text.removesuffix("\n4."))  # a bare marker waits
        assert list_items(view) == list_items(whole_so_far), "as if drawn whole"
        assert view.document().size().height() == whole_so_far.document().size().height()
    assert list_items(view)[-1] == ("three is long", "3."), "no empty item for a bare marker"
    reply.append_text(" four\n\nAfter.")
    reply.finish("complete")
    assert content_lines(view.toPlainText()) == whole(text + " four\n\nAfter.")


def test_a_transcript_without_a_parent_goes_with_its_last_reference(qtbot: QtBot) -> None:
    """No reference cycle keeps it for Python's collector, which may run on any thread: a
    widget it destroyed off the GUI thread crashed the self-test ("Timers cannot be stopped
    from another thread", then SIGSEGV)."""
    import gc
    import weakref

    gc.disable()
    try:
        view = TranscriptView()
        view.add_assistant_message("Some **text** and\n\n```python\nx = 1\n```\n")
        gone = weakref.ref(view)
        del view
        assert gone() is None
    finally:
        gc.enable()
