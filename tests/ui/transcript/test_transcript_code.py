"""Large code blocks: shown at once as plain text, coloured in slices, aligned with their text."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtGui import QColor, QTextCursor, QTextTable
from pytestqt.qtbot import QtBot

from streamdesk.ui.transcript.layout import CODE_PADDING, TABLE_PADDING, chrome_kind
from streamdesk.ui.transcript.view import SYNC_HIGHLIGHT, TranscriptView

KEYWORD = {False: QColor("#008000"), True: QColor("#ff7b72")}  # "def": default / github-dark
UNIT = "# 😀 wide char before code\ndef f(x):\n    return x + 1\n"
BIG = UNIT * (SYNC_HIGHLIGHT // len(UNIT) + 40)


def make_view(qtbot: QtBot) -> TranscriptView:
    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    return view


def colours_of(view: TranscriptView, word: str, at: int = 0) -> list[QColor]:
    """Foreground of character `at` of each occurrence of `word` in the document."""
    out: list[QColor] = []
    doc = view.document()
    found = doc.find(word)
    while not found.isNull():
        c = QTextCursor(doc)
        c.setPosition(found.selectionStart() + at + 1)  # format of the char before
        out.append(c.charFormat().foreground().color())
        found = doc.find(word, found)
    return out


def all_keywords(view: TranscriptView, dark: bool) -> bool:
    got = colours_of(view, "def ")
    after = colours_of(view, "def ", at=3)  # the space after "def" is not part of the keyword
    return (
        len(got) == BIG.count("def ")
        and all(c == KEYWORD[dark] for c in got)
        and all(c != KEYWORD[dark] for c in after)
    )


def test_a_large_block_is_shown_plain_then_coloured_in_place(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text(f"Intro\n\n```python\n{BIG}```\n")
    reply.finish("complete")
    assert BIG.strip() in view.toPlainText().replace("\u2029", "\n")
    assert not all_keywords(view, False)  # not yet: colouring is spread over later turns
    qtbot.waitUntil(lambda: all_keywords(view, False), timeout=10_000)


def test_colouring_stays_aligned_while_text_is_added_before_and_after(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text(f"```python\n{BIG}```\n\nAfter the code ")
    qtbot.waitUntil(lambda: "After the code" in view.toPlainText(), timeout=2000)
    reply.append_reasoning("Reasoning arrives late and goes above the body.")
    reply.append_text("and more.")
    reply.finish("complete")
    qtbot.waitUntil(lambda: all_keywords(view, False), timeout=10_000)
    assert "After the code and more." in view.toPlainText()


def test_a_theme_switch_recolours_a_large_block(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.add_assistant_message(f"```python\n{BIG}```\n")
    view.set_dark(True)  # the light job is cancelled before it finishes
    qtbot.waitUntil(lambda: all_keywords(view, True), timeout=10_000)


INDENT_MD = (
    "Para one\n\n- item\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "```python\ndef g():\n    pass\n```\n\nDone."
)


def left_of(view: TranscriptView, text: str) -> int:
    found = view.document().find(text)
    assert not found.isNull(), text
    c = QTextCursor(view.document())
    c.setPosition(found.selectionStart())
    return view.cursorRect(c).left()


def test_the_reply_body_lines_up_with_its_caption(qtbot: QtBot) -> None:
    """Text and tables start at the caption's left edge; code sits inside its frame's padding;
    the failure box's text is inside the box, right of its stripe."""
    view = make_view(qtbot)
    reply = view.begin_assistant(label="m")
    for i in range(0, len(INDENT_MD), 5):
        reply.append_text(INDENT_MD[i : i + 5])
    reply.finish("stopped")
    view.add_assistant_message(INDENT_MD.replace("Para one", "Static"))
    caption = left_of(view, "Assistant")
    for text in ("Para one", "Static", "Done."):
        assert abs(left_of(view, text) - caption) <= 1, text
    for text in ("python", "def g"):
        assert left_of(view, text) - caption >= CODE_PADDING, text
    frames = view.document().rootFrame().childFrames()
    tables = [
        f for f in frames if f.frameFormat().isTableFormat() and not chrome_kind(f.frameFormat())
    ]
    assert len(tables) == 2
    for table in tables:  # the rule on the caption's edge, then the cell's padding
        assert isinstance(table, QTextTable)
        cell = view.cursorRect(table.cellAt(0, 0).firstCursorPosition()).left()
        assert 1 <= cell - caption - TABLE_PADDING <= 3
    assert left_of(view, "Stopped") > caption


def test_a_lexer_is_built_off_the_window_s_thread_and_its_block_coloured_then(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small block in a language no block used yet shows plain at once; its lexer's
    regexes compile on a worker thread (5-50 ms: a frozen frame on the window's), and the block
    is coloured when it is ready."""
    from streamdesk.ui.transcript import highlight

    builders: list[str] = []
    real = highlight.get_lexer_by_name

    def record(name: str) -> object:
        builders.append(threading.current_thread().name)
        return real(name)

    monkeypatch.setattr(highlight, "get_lexer_by_name", record)
    lang = "haskell"  # nothing here builds it: the common lexers are warmed by the window
    assert not highlight.built(lang)
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text(f'```{lang}\nmain = putStrLn "hi"\n```\n')
    reply.finish("complete")
    assert 'main = putStrLn "hi"' in view.toPlainText()
    qtbot.waitUntil(lambda: highlight.built(lang), timeout=10_000)
    assert builders and "MainThread" not in builders
    plain = colours_of(view, "main")[0]  # a name: the default colour
    qtbot.waitUntil(lambda: colours_of(view, '"hi"')[0] != plain, timeout=10_000)  # a string


def test_a_chat_drawn_to_open_colours_the_code_near_its_end_first(qtbot: QtBot) -> None:
    """Opening a chat draws its newest messages at once and shows the end: the small blocks
    there are coloured before the first paint; those far above, out of sight, a moment later
    (nearest first), so the click does not wait for code nobody sees yet."""
    from streamdesk.ui.transcript import highlight

    highlight.warm("python")
    qtbot.waitUntil(lambda: highlight.built("python"), timeout=10_000)
    view = make_view(qtbot)
    body = "".join(f"    x += {k}\n" for k in range(80))  # each block taller than the view
    with view.opening():
        for n in range(8):
            view.add_assistant_message(f"Step {n}:\n\n```python\ndef f{n}(x):\n{body}```\n")

    def keyword_coloured(n: int) -> bool:
        return colours_of(view, f"def f{n}(")[0] == KEYWORD[False]

    assert keyword_coloured(7)  # the newest: its end is on screen at the first paint
    assert not keyword_coloured(0)  # far above: not yet
    qtbot.waitUntil(lambda: all(keyword_coloured(n) for n in range(8)), timeout=10_000)


def test_a_fence_language_with_a_comma_is_coloured_by_its_first_name_and_holds_up_nothing(
    qtbot: QtBot,
) -> None:
    """ "```python,linenos" asks for Python; a language no lexer has ("text,x") stays plain and
    the blocks waiting with it are coloured all the same."""
    view = make_view(qtbot)
    with view.opening():  # every block but the newest waits in the queue
        view.add_assistant_message("```go\nfunc main() {}\n```\n")
        view.add_assistant_message("```text,x\nplain words\n```\n")
        view.add_assistant_message("```python,linenos\ndef g(x):\n    return x\n```\n")
        view.add_assistant_message("Step\n\n```text\n" + "filler line\n" * 120 + "```\n")
    plain = colours_of(view, "plain words")[0]
    qtbot.waitUntil(lambda: colours_of(view, "func")[0] != plain, timeout=10_000)
    qtbot.waitUntil(lambda: colours_of(view, "def g")[0] == KEYWORD[False], timeout=10_000)
