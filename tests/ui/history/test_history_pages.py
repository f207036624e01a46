"""A long stored conversation in the window: it opens at its newest message having read one
page, earlier messages are drawn above without drawing the shown ones again, and the whole
conversation is read only when a request needs it. Real SQLite file, real mock, qasync loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, open_window, until, wait_reply

from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.store.history import HistoryStore
from streamdesk.ui.history.bridge import (
    KEPT_MESSAGES,
    MAX_DRAWN,
    PAGE_MESSAGES,
    SHOWN_MESSAGES,
)
from streamdesk.ui.session.session import ChatSession, key_of
from streamdesk.ui.transcript.layout import DocumentLayout
from streamdesk.ui.window.main_window import MainWindow


def _seed(messages: int, zebra: int = 3) -> None:
    """One conversation held with the offline demo: "message 0" … "message n-1", message
    `zebra` with " zebra" after it."""
    with HistoryStore() as store:
        cid = store.create_conversation(title="long one", provider=MOCK_PROVIDER_ID)
        data = store.export_json(cid)
        data["messages"] = [
            {
                "role": "user" if i % 2 == 0 else "assistant",
                "content": f"message {i}." + (" zebra" if i == zebra else ""),
            }
            for i in range(messages)
        ]
        store.delete_conversation(cid)
        store.import_json(data)


def _open(window: MainWindow) -> ChatSession:
    listed = window.conversations.keys()  # a list, not a dict
    key = next(k for k in listed if window.conversations.title(k) == "long one")
    window.conversations.select(key)
    return window.sessions[key]


def _text_of(session: ChatSession, key: object) -> str:
    span = session.view.message_span(key)
    assert span is not None
    c = QTextCursor(session.view.document())
    c.setPosition(span[0])
    c.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
    return c.selectedText()


def _screen_y(session: ChatSession, key: object) -> int:
    """Where message `key` starts on screen (document y minus the scroll position)."""
    view = session.view
    span = view.message_span(key)
    assert span is not None
    block = view.document().findBlock(span[0])
    top = view.document().documentLayout().blockBoundingRect(block).top()
    return int(top) - int(view.verticalScrollBar().value())


def _read_apart(
    monkeypatch: pytest.MonkeyPatch, release: threading.Event | None = None
) -> asyncio.Future[threading.Thread]:
    """Resolves with the thread that reads the turns not loaded yet, once it starts (the read
    then waits for `release`, when given)."""
    loop = asyncio.get_running_loop()
    started: asyncio.Future[threading.Thread] = loop.create_future()
    messages_before = HistoryStore.messages_before

    def recording(store: HistoryStore, cid: int, group: int) -> list[Any]:
        here = threading.current_thread()
        loop.call_soon_threadsafe(lambda: started.done() or started.set_result(here))
        if release is not None:
            release.wait(10)
        return messages_before(store, cid, group)

    monkeypatch.setattr(HistoryStore, "messages_before", recording)
    return started


def _drawn(session: ChatSession) -> list[object]:
    return [key_of(t) for t in session.turns[session.shown_from : session.shown_to]]


@pytest.mark.asyncio
async def test_a_long_conversation_opens_at_its_newest_message_reading_only_what_it_shows(
    qtbot: QtBot,
) -> None:
    _seed(2000)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        view = session.view
        # what is drawn (the newest, then more while they leave room) and the page it came from
        assert len(session.turns) <= PAGE_MESSAGES + 1  # not 1,000 turns
        assert SHOWN_MESSAGES <= view.message_count() <= 2 * PAGE_MESSAGES
        assert session.earlier is not None and session.earlier.left >= 1900
        text = view.toPlainText()
        assert "message 1999." in text and "message 1899." not in text
        assert f"Load earlier messages ({session.earlier_count()} more)" in text
        view.document().documentLayout().documentSize()  # laid out to the end
        bar = view.verticalScrollBar()
        assert bar.maximum() > 0 and bar.value() == bar.maximum()  # the newest is on screen


@pytest.mark.asyncio
async def test_earlier_messages_go_above_and_the_shown_ones_stay_untouched_and_in_place(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(400)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        view = session.view
        view.document().documentLayout().documentSize()
        count = view.message_count()
        shown = _drawn(session)
        texts = {k: _text_of(session, k) for k in shown}
        anchor = shown[2]  # the reader is reading the third message shown
        block = view.document().findBlock(view.message_span(anchor)[0])
        view.scroll_to(int(view.document().documentLayout().blockBoundingRect(block).top()) - 5)
        before_y = _screen_y(session, anchor)
        drawn: list[object] = []
        render = DocumentLayout.render_static

        def counting(layout: DocumentLayout, m: Any) -> None:
            drawn.append(m.key)
            render(layout, m)

        monkeypatch.setattr(DocumentLayout, "render_static", counting)
        window.history.load_earlier(session)
        kept = [k for k in shown if view.has_key(k)]  # the far bottom may go (MAX_DRAWN)
        new = _drawn(session)[: len(_drawn(session)) - len(kept)]
        assert new and kept == shown[: len(kept)] and _drawn(session)[len(new) :] == kept
        assert not set(drawn) & set(texts)  # no shown message was drawn again
        assert {k: _text_of(session, k) for k in kept} == {k: texts[k] for k in kept}
        assert abs(_screen_y(session, anchor) - before_y) <= 1  # the reader's place is kept
        assert view.message_count() <= max(count, MAX_DRAWN) + len(drawn)
        assert f"({session.earlier_count()} more)" in view.toPlainText()


@pytest.mark.asyncio
async def test_scrolling_up_reaches_the_first_message_and_back_at_the_newest_far_pages_go(
    qtbot: QtBot,
) -> None:
    _seed(400)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        view = session.view
        while view.earlier():
            assert session.show_earlier(50)
        text = view.toPlainText()
        assert "message 0." in text and "Load earlier" not in text
        assert view.message_count() == 400 > MAX_DRAWN
        assert session.earlier is not None and session.earlier.left == 0
        bar = view.verticalScrollBar()
        view.document().documentLayout().documentSize()
        with qtbot.assertNotEmitted(view.earlierRequested):
            bar.setValue(0)  # the reader is at the first message ...
            bar.setValue(bar.maximum())  # ... and scrolls back down to the newest
        assert view.message_count() <= KEPT_MESSAGES + 1
        assert "message 399." in view.toPlainText() and "message 0." not in view.toPlainText()
        assert f"({view.earlier()} more)" in view.toPlainText()
        assert session.show_earlier(10)  # the dropped ones come back from the loaded turns
        assert "message 340." in view.toPlainText()


@pytest.mark.asyncio
async def test_scrolling_far_up_keeps_a_bounded_window_and_the_newest_come_back(
    qtbot: QtBot,
) -> None:
    _seed(600)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        view = session.view
        while view.earlier():
            view.scroll_to(0)  # the reader keeps scrolling up ...
            window.history.load_earlier(session)  # ... and near the top asks for more
            assert view.message_count() <= 3 * MAX_DRAWN  # of 600: bounded, whatever the length
        text = view.toPlainText()
        assert "message 0." in text and "message 599." not in text  # the far bottom went
        assert view.later() == session.later_count() > 0
        newest = session.turns[-1]
        while view.later():
            window.history.load_later(session)  # the reader scrolls back down
            assert view.message_count() <= 3 * MAX_DRAWN  # of 600, whatever the length
        assert view.has_key(newest.key) and "message 0." not in view.toPlainText()
        while view.earlier() > 300:
            window.history.load_earlier(session)
        assert view.later()
        view.jump_to_latest()  # "Jump to latest" draws the newest again at once
        assert view.later() == 0 and view.has_key(newest.key)
        bar = view.verticalScrollBar()
        assert bar.value() == bar.maximum()


@pytest.mark.asyncio
async def test_a_send_carries_the_whole_conversation_read_off_the_loop(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(400)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        drawn = view_count = session.view.message_count()
        threads: list[threading.Thread] = []
        read = HistoryStore.messages_before

        def recording(store: HistoryStore, cid: int, group: int) -> list[Any]:
            threads.append(threading.current_thread())
            return read(store, cid, group)

        monkeypatch.setattr(HistoryStore, "messages_before", recording)
        loaded = len(session.turns)
        session.send("and now?")
        assert len(session.turns) == loaded + 1  # the send did not wait for the whole read
        turn = await wait_reply(session)
        assert threads and threading.main_thread() not in threads  # read on a worker thread
        assert len(session.turns) == 201 and turn.reply.text
        assert window.mock is not None
        body = window.mock.requests[-1].body
        assert b"message 0." in body and b"message 399." in body
        assert turn.reply.prompt_chars > 400 * len("message 0.")
        assert session.view.message_count() == drawn + 2 == view_count + 2  # nothing redrawn
        assert session.earlier is not None and session.earlier.left == 0
        session.send("and again?")  # everything is read: the next request goes at once
        await wait_reply(session)
        assert len(threads) == 1 and b"message 0." in window.mock.requests[-1].body


@pytest.mark.asyncio
async def test_writing_a_prompt_reads_the_earlier_messages_off_the_loop_before_the_send(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(400)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        read = _read_apart(monkeypatch)
        loaded = len(session.turns)
        window.prompt.insertPlainText("and n")  # the user starts writing
        window.prompt.insertPlainText("ow?")
        assert len(session.turns) == loaded  # the keystroke did not wait for the read
        assert await asyncio.wait_for(read, 10) is not threading.main_thread()
        reading = session.read_earlier()  # the read the typing started
        assert reading is not None
        await asyncio.wait_for(reading, 10)
        assert session.earlier is not None and not session.earlier.left
        assert len(session.turns) == 200 and session.view.message_count() < 100  # not drawn
        monkeypatch.setattr(HistoryStore, "messages_before", None)  # nothing is read again
        window.prompt.submit()
        turn = await wait_reply(session)
        assert turn.reply.text and len(session.turns) == 201
        assert window.mock is not None and b"message 0." in window.mock.requests[-1].body


@pytest.mark.asyncio
async def test_stop_while_the_earlier_messages_are_read_keeps_the_prompt_and_stops_the_reply(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(400)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        release = threading.Event()
        reading = _read_apart(monkeypatch, release)
        requests = len(window.mock.requests) if window.mock is not None else 0
        key = session.send("stop me while you read")
        await asyncio.wait_for(reading, 10)
        assert session.busy  # the window is free while the read runs; Stop still works
        session.stop()
        release.set()
        turn = await wait_reply(session)
        assert turn.key == key and turn.reply.status.value == "stopped"
        assert window.mock is not None and len(window.mock.requests) == requests  # none sent
        assert not session.busy
        with HistoryStore() as store:
            cid = session.conversation.conversation_id
            assert cid is not None
            last = store.messages(cid)[-2:]
        assert [(m.role, m.status) for m in last] == [
            ("user", "complete"),
            ("assistant", "stopped"),
        ]
        session.send("and now?")  # the next send reads them and goes out whole
        await wait_reply(session)
        assert b"message 0." in window.mock.requests[-1].body


@pytest.mark.asyncio
async def test_a_search_hit_above_the_page_read_opens_at_that_message(qtbot: QtBot) -> None:
    _seed(400)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        (hit,) = window.history.actions.search("zebra")
        assert await window.history.actions.open_hit(hit)
        (mark,) = session.view.extraSelections()
        assert "message 3. zebra" in mark.cursor.selectedText()
        assert session.turns[0].prompt == "message 0."
        view = session.view  # a page from the hit is drawn, not everything down to the newest
        assert view.message_count() <= MAX_DRAWN and view.later() > 300


def _hit_mark(session: ChatSession, message_id: int) -> str:
    """The highlighted text, checked to lie in the message with stored id `message_id`."""
    index = session.position_of(message_id)
    assert index is not None
    turn = session.turns[index]
    span = session.view.message_span(("user", turn.key) if turn.user_id == message_id else turn.key)
    (mark,) = session.view.extraSelections()
    assert span is not None and span[0] <= mark.cursor.selectionStart() <= span[1]
    return str(mark.cursor.selectedText())


@pytest.mark.asyncio
async def test_a_search_hit_far_above_reads_only_the_turns_down_to_it_off_the_loop(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(2000, zebra=1001)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        threads: list[threading.Thread] = []
        read = HistoryStore.messages_down_to

        def recording(store: HistoryStore, *args: Any, **kwargs: Any) -> list[Any]:
            threads.append(threading.current_thread())
            return read(store, *args, **kwargs)

        monkeypatch.setattr(HistoryStore, "messages_down_to", recording)
        window.conversations.search.setText("zebra")
        (hit,) = window.history.actions.search("zebra")
        opening = window.history.actions.open_hit(hit)
        assert not opening.done()  # the loop is free while the turns are read
        assert await asyncio.wait_for(opening, 10)
        assert threads and threading.main_thread() not in threads
        assert _hit_mark(session, hit.message_id) == "zebra"
        assert "message 1001. zebra" in session.view.toPlainText()
        # Read: from just above the hit down to the newest; the 990-odd above it are not.
        earlier = session.earlier
        assert earlier is not None and 950 <= earlier.left <= 1000
        prompts = [t.prompt for t in session.turns]
        first = int(prompts[0].split()[1].rstrip("."))
        assert prompts == [f"message {n}." for n in range(first, 2000, 2)]
        assert first == earlier.left and session.position_of(hit.message_id) is not None
        view = session.view  # a page from the hit is drawn, the newer ones come on scrolling
        assert view.message_count() <= MAX_DRAWN and view.later() > 900
        later = view.later()
        window.history.load_later(session)
        assert view.later() < later
        for _step in range(100):  # scrolling up: the turns read, then the pages above them
            if earlier.left < first:
                break
            window.history.load_earlier(session)
        assert earlier.left < first and session.turns[0].prompt == f"message {earlier.left}."
        assert f"message {first - 2}." in view.toPlainText()
        session.send("and now?")  # the request still carries the whole conversation
        turn = await wait_reply(session)
        assert turn.reply.text and len(session.turns) == 1001
        assert window.mock is not None
        body = window.mock.requests[-1].body
        assert b"message 0." in body and b"message 1999." in body and b"zebra" in body


@pytest.mark.asyncio
async def test_a_clicked_hit_opens_whole_while_the_rest_is_being_read(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typing started reading every turn, then a result is clicked: the hit comes with that
    read (nothing is read twice, no turn twice), and is highlighted once it is drawn."""
    _seed(600, zebra=101)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        release = threading.Event()
        reading = _read_apart(monkeypatch, release)
        window.prompt.insertPlainText("and n")  # the user starts writing: the rest is read
        await asyncio.wait_for(reading, 10)
        monkeypatch.setattr(HistoryStore, "messages_down_to", None)  # not read apart again
        lst = window.conversations
        clicked: list[object] = []
        lst.hitActivated.connect(clicked.append)
        lst.search.setText("zebra")
        (hit,) = window.history.actions.search("zebra")
        lst.results.activate(0)  # the click
        assert clicked == [hit]
        assert not session.view.extraSelections()  # waiting for the read: the loop is free
        release.set()
        await until(lambda: session.view.extraSelections())
        assert _hit_mark(session, hit.message_id) == "zebra"
        assert [t.prompt for t in session.turns] == [f"message {n}." for n in range(0, 600, 2)]
        assert session.earlier is not None and session.earlier.left == 0


@pytest.mark.asyncio
async def test_a_newer_hit_opened_while_one_is_read_wins(qtbot: QtBot) -> None:
    _seed(600, zebra=101)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        actions = window.history.actions
        window.conversations.search.setText("message 597.")
        (far,) = actions.search("zebra")
        newest = next(h for h in actions.search("message 597.") if h.role == "assistant")
        reading = actions.open_hit(far)
        assert await actions.open_hit(newest)  # loaded: drawn and highlighted at once
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert _hit_mark(session, newest.message_id) == "message"  # the first search word
        assert session.earlier is not None and session.earlier.left > 0  # the far one left


@pytest.mark.asyncio
async def test_a_hit_in_a_branch_set_aside_above_the_turns_read_opens_that_branch(
    qtbot: QtBot,
) -> None:
    with HistoryStore() as store:
        cid = store.create_conversation(title="long one", provider=MOCK_PROVIDER_ID)
        prompt = store.add_message(cid, "user", "message 0.")
        store.add_message(cid, "assistant", "message 1.")
        store.add_message(cid, "user", "message 2. okapi")  # set aside by the edit below
        store.add_message(cid, "assistant", "message 3.")
        store.add_message(cid, "user", "message 0, edited.", alternative_of=prompt)
        for n in range(400):
            store.add_message(cid, "assistant" if n % 2 == 0 else "user", f"branch {n}.")
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        assert session.earlier is not None and session.earlier.left > 300
        window.conversations.search.setText("okapi")
        (hit,) = window.history.actions.search("okapi")
        assert await window.history.actions.open_hit(hit)
        assert _hit_mark(session, hit.message_id) == "okapi"
        assert [t.prompt for t in session.turns][:2] == ["message 0.", "message 2. okapi"]


@pytest.mark.asyncio
async def test_a_send_from_a_hit_far_up_draws_only_the_newest_few_again(qtbot: QtBot) -> None:
    """Enter drawn at the bottom at once: as many newest messages as opening draws (each
    costs milliseconds to draw), the earlier ones as the reader scrolls up."""
    _seed(400)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        (hit,) = window.history.actions.search("zebra")
        assert await window.history.actions.open_hit(hit)
        session.send("asked from up there")
        view = session.view
        assert view.message_count() <= SHOWN_MESSAGES + 2  # and the new prompt and reply
        assert view.later() == 0 and "message 399." in view.toPlainText()
        turn = await wait_reply(session)
        assert turn.reply.failure is None and turn.prompt == "asked from up there"


@pytest.mark.asyncio
async def test_ctrl_home_goes_to_the_first_message_and_ctrl_end_back_to_the_newest(
    qtbot: QtBot,
) -> None:
    """The scroll bar spans only the drawn messages: the keys reach the conversation's ends."""
    _seed(400)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        view = session.view
        assert "message 0." not in view.toPlainText()
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: "message 0." in view.toPlainText(), 10.0)
        assert len(session.turns) == 200 and view.verticalScrollBar().value() == 0
        assert "message 399." not in view.toPlainText() and view.later() > 300
        qtbot.keyClick(view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: "message 399." in view.toPlainText(), 10.0)
        assert view.later() == 0 and view.is_following()


@pytest.mark.asyncio
async def test_a_chat_deleted_while_ctrl_home_reads_it_draws_nothing_and_raises_nothing(
    qtbot: QtBot,
) -> None:
    """Ctrl+Home reads every stored turn off the loop first; the chat deleted meanwhile: the
    read is dropped and nothing is drawn into its view, which is gone."""
    _seed(4000)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window)
        key = next(k for k, s in window.sessions.items() if s is session)
        actions = window.history.actions
        reading = session.read_earlier()  # as writing a prompt starts it
        assert reading is not None
        going_first = actions.show_first(session)  # waits for that read
        actions.delete_conversation(key)
        ended = await asyncio.gather(going_first, return_exceptions=True)
        assert not isinstance(ended[0], Exception), ended[0]
        assert session.discarded and key not in window.sessions
