"""Code blocks of earlier pages: drawn plain in their frame at once, coloured after they are
shown (a page step never waits for Pygments), and a block that leaves before its turn is
skipped. Real SQLite file, real mock, qasync loop."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, open_window

from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.store.history import HistoryStore
from streamdesk.ui.session.session import ChatSession
from streamdesk.ui.transcript import highlight
from streamdesk.ui.transcript.code_job import HighlightQueue, TokenPainter
from streamdesk.ui.window.main_window import MainWindow

CODE = "def answer_{n}(items: list[int]) -> int:\n    return sum(items) + {n}  # why"


def _seed(messages: int) -> None:
    with HistoryStore() as store:
        cid = store.create_conversation(title="code one", provider=MOCK_PROVIDER_ID)
        data = store.export_json(cid)
        data["messages"] = [
            {
                "role": "user" if i % 2 == 0 else "assistant",
                "content": f"question {i}."
                if i % 2 == 0
                else f"answer {i}:\n\n```python\n{CODE.format(n=i)}\n```\n",
            }
            for i in range(messages)
        ]
        store.delete_conversation(cid)
        store.import_json(data)


def _open(window: MainWindow) -> ChatSession:
    """The seeded conversation opened, once Python's lexer is built (the window builds the
    common ones on a worker thread as it starts: code whose lexer is not ready yet waits)."""
    highlight.warm("python")
    assert highlight.wait_warm(30)
    listed = window.conversations.keys()  # a list, not a dict
    key = next(k for k in listed if window.conversations.title(k) == "code one")
    window.conversations.select(key)
    return window.sessions[key]


def _colours_of(session: ChatSession, n: int) -> set[str]:
    """The text colours used in answer `n`'s code."""
    doc = session.view.document()
    start = doc.find(CODE.format(n=n).splitlines()[0]).selectionStart()
    assert start >= 0
    c = QTextCursor(doc)
    out = set()
    for pos in range(start + 1, start + 40):
        c.setPosition(pos)
        out.add(c.charFormat().foreground().color().name())
    return out


def _queue(session: ChatSession) -> HighlightQueue:
    (queue,) = session.view.document().findChildren(HighlightQueue)
    return queue


@pytest.mark.asyncio
async def test_an_earlier_page_shows_its_code_plain_at_once_and_coloured_after(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(200)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        assert len(_colours_of(session, 199)) > 1  # the newest, drawn on opening: coloured
        painted: list[int] = []
        paint = TokenPainter.paint

        def counting(painter: TokenPainter, deadline: float | None = None) -> bool:
            painted.append(1)
            return paint(painter, deadline)

        monkeypatch.setattr(TokenPainter, "paint", counting)
        first = session.shown_from
        window.history.load_earlier(session)
        assert session.shown_from < first
        added = session.turns[first - 1].reply.text  # the answer of the last turn added
        newest_added = int(added.split(":")[0].split()[-1])
        assert not painted  # the step did not colour anything
        assert len(_colours_of(session, newest_added)) == 1  # plain: the text colour only
        queue = _queue(session)
        assert queue.waiting()
        drained = asyncio.get_running_loop().create_future()
        queue.drained.connect(lambda: drained.done() or drained.set_result(None))
        await asyncio.wait_for(drained, 10)
        assert painted and len(_colours_of(session, newest_added)) > 1


@pytest.mark.asyncio
async def test_code_waiting_for_its_colours_is_skipped_once_its_message_leaves(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(200)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        drawn = session.view.message_count()
        queue = _queue(session)
        if queue.waiting():  # the opened page's code above the screen: coloured first
            opened = asyncio.get_running_loop().create_future()
            queue.drained.connect(lambda: opened.done() or opened.set_result(None))
            await asyncio.wait_for(opened, 10)
        window.history.load_earlier(session)
        assert queue.waiting() and session.view.message_count() > drawn
        painted: list[int] = []
        monkeypatch.setattr(TokenPainter, "paint", lambda *_a, **_k: painted.append(1) or True)
        session.drop_earlier(drawn)  # the page goes before its code is coloured
        assert session.view.message_count() == drawn
        drained = asyncio.get_running_loop().create_future()
        queue.drained.connect(lambda: drained.done() or drained.set_result(None))
        await asyncio.wait_for(drained, 10)
        assert not painted  # nothing else was coloured in their place
