"""The block splitter: any chunking of a reply gives the same blocks, and blocks end where
Markdown says they end."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from streamdesk.core.markdown_blocks import Block, BlockSplitter

REPLY = (
    "# Title\n\nSome *para*\nline two\n\n- a\n- b\n\n  more\n- c\n\n1. x\n2. y\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\ndef f():\n    return 1\n```\n"
    "after\n\n~~~\ncode ``` x\n~~~\nend"
)


def split(chunks: list[str], max_block: int = 16_384) -> list[Block]:
    sp = BlockSplitter(max_block)
    out: list[Block] = []
    for chunk in chunks:
        out += sp.feed(chunk)
    return out + sp.finish()


def test_blocks_of_a_reply() -> None:
    assert split([REPLY]) == [
        Block("markdown", "# Title\n"),
        Block("markdown", "Some *para*\nline two\n\n"),
        Block("markdown", "- a\n- b\n\n  more\n- c\n\n1. x\n2. y\n\n"),
        Block("markdown", "| a | b |\n|---|---|\n| 1 | 2 |\n\n"),
        Block("code", "def f():\n    return 1", "python"),
        Block("markdown", "after\n\n"),
        Block("code", "code ``` x", ""),
        Block("markdown", "end"),
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(REPLY)), max_size=40))
def test_any_chunking_gives_the_same_blocks(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(REPLY)]
    chunks = [REPLY[a:b] for a, b in itertools.pairwise(points)]
    assert split(chunks) == split([REPLY])


def test_blocks_are_handed_out_when_finished_not_before() -> None:
    sp = BlockSplitter()
    assert sp.feed("para one\n") == []
    assert sp.tail == "para one\n"
    assert sp.feed("\n") == []  # a blank line alone does not end it: a list might continue
    assert sp.feed("next") == []  # a line is judged when it is complete
    assert sp.feed("\n") == [Block("markdown", "para one\n\n")]
    assert sp.tail == "next\n"


def test_open_fence_streams_code_parts_and_hides_a_possible_closer() -> None:
    sp = BlockSplitter()
    sp.feed("```js\nlet a = 1;\nlet b")
    assert sp.in_code and sp.code_lang == "js" and sp.tail == ""
    assert "".join(sp.code_parts) == "let a = 1;\nlet b"
    sp.feed(" = 2;\n``")
    assert "".join(sp.code_parts) == "let a = 1;\nlet b = 2;\n"  # "``" may become the closer
    assert sp.feed("`\n") == [Block("code", "let a = 1;\nlet b = 2;", "js")]
    assert not sp.in_code


def test_unclosed_fence_is_a_code_block_at_finish() -> None:
    assert split(["text\n```py\nx = 1\n"]) == [
        Block("markdown", "text\n"),
        Block("code", "x = 1", "py"),
    ]


def test_a_huge_line_is_cut_so_the_tail_stays_small() -> None:
    sp = BlockSplitter(max_block=1000)
    blocks = []
    for _ in range(1000):
        blocks += sp.feed("word " * 20)
        assert len(sp.tail) <= 1000
    blocks += sp.finish()
    assert "".join(b.text for b in blocks) == "word " * 20_000


def test_a_huge_code_line_streams_without_holding_it_back() -> None:
    sp = BlockSplitter()
    sp.feed("```\n")
    for _ in range(1000):
        sp.feed("x" * 1000)
    assert sum(len(p) for p in sp.code_parts) == 1_000_000
    assert sp.feed("\n```\n") == [Block("code", "x" * 1_000_000, "")]


def tokens(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


TABLE = "| n | square |\n|--:|:--|\n" + "".join(f"| {i} | {i * i} |\n" for i in range(400))


def test_a_table_is_one_block_however_long() -> None:
    """Its rows are appended once each as they come: cut, the rows after the cut would lose
    their header and show as raw pipes."""
    text = f"Intro\n\n{TABLE}\nAfter."
    assert split(tokens(text), max_block=1000) == [
        Block("markdown", "Intro\n\n"),
        Block("markdown", TABLE + "\n"),
        Block("markdown", "After."),
    ]
    quoted = "".join(f"> {line}\n" for line in TABLE.splitlines())
    assert split(tokens(quoted), max_block=1000) == [Block("markdown", quoted)]


def test_a_list_is_one_block_however_long() -> None:
    """A cut would restart its numbering or leave an item's continuation line outside it."""
    items = "".join(f"{i}. item {i}\n   more of item {i}\n\n" for i in range(1, 601))
    assert split(tokens(items), max_block=1000) == [Block("markdown", items)]
    bullets = "".join(f"- item {i}\n  - nested {i}\n" for i in range(600))
    assert split(tokens(bullets), max_block=1000) == [Block("markdown", bullets)]


def test_a_huge_row_or_last_item_or_paragraph_is_still_cut() -> None:
    """What the view draws again as it grows stays under `max_block`: a table row, a list's
    last item, a paragraph of many lines."""
    for start in ("| a | b |\n|---|---|\n| 1 |", "- one\n- two ", "Para\n"):
        sp = BlockSplitter(max_block=1000)
        blocks = sp.feed(start)
        for _ in range(1000):
            blocks += sp.feed("word " * 5 + ("\n  " if start.startswith("-") else "\n"))
            assert len(sp.tail) <= 1000
        sp.feed("word " * 400)
        assert len(sp.tail) <= 1000
        assert "".join(b.text for b in blocks + sp.finish()).startswith(start)


def test_a_table_that_goes_on_in_lines_without_pipes_is_cut_again() -> None:
    sp = BlockSplitter(max_block=1000)
    blocks = sp.feed(TABLE)
    assert blocks == []
    for _ in range(200):
        blocks += sp.feed("words without a pipe\n")
        assert len(sp.tail) <= 1000
    assert blocks[0].text.startswith(TABLE)


def test_a_list_right_under_a_paragraph_is_a_block_of_its_own() -> None:
    """As when a blank line came first: a long list is then one block too."""
    items = "".join(f"{i}. item {i}\n   more of item {i}\n" for i in range(1, 601))
    assert split(tokens("Steps:\n" + items), max_block=1000) == [
        Block("markdown", "Steps:\n"),
        Block("markdown", items),
    ]
    assert split(["| a |\n|---|\n| 1 |\n- x\n- y\n"]) == [
        Block("markdown", "| a |\n|---|\n| 1 |\n"),
        Block("markdown", "- x\n- y\n"),
    ]
    for goes_on in ("2. not a list", "* * *", "-", "- "):  # no list may start here
        assert split([f"Para\n{goes_on}\n"]) == [Block("markdown", f"Para\n{goes_on}\n")]


def test_a_table_without_a_leading_pipe_is_cut_as_a_paragraph() -> None:
    """The view grows only a table whose header starts with a pipe; any other it draws whole
    every frame, so that block stays under `max_block`."""
    sp = BlockSplitter(max_block=1000)
    sp.feed("n | square\n--|--\n")
    for i in range(400):
        sp.feed(f"{i} | {i * i}\n")
        assert len(sp.tail) <= 1000
