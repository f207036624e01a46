"""Deleting messages in the window and undoing it: they leave the transcript at once, the
sidebar offers Undo (Ctrl+Z in the transcript too), and Undo puts them back exactly, in the
history and in the transcript, also after switching chats; a deleted chat takes the offer with
it. Real SQLite files, the real mock on the qasync loop."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from tests.core.attachment_files import png
from ui_helpers import FAST, open_window, until, wait_reply, wait_text

from streamdesk.core.attachments import image_attachment
from streamdesk.core.events import Usage
from streamdesk.core.store.history import (
    HistoryError,
    HistoryStore,
    MessageNotFound,
    default_path,
)
from streamdesk.ui.window.main_window import MainWindow

CAT = image_attachment("cat.png", png(64, 64))
DOG = image_attachment("dog.png", png(32, 16, (200, 10, 10)))


def _seed() -> dict[str, int]:
    """A chat of three turns (the middle prompt with two images, its reply with two
    alternatives, the second shown) and another chat."""
    with HistoryStore() as store:
        ids = {"other": store.create_conversation(title="other chat", model="m")}
        store.add_message(ids["other"], "user", "unrelated")
        store.add_message(ids["other"], "assistant", "unrelated answer")
        cid = ids["cid"] = store.create_conversation(title="zoo", model="m")
        store.add_message(cid, "user", "first question")
        store.add_message(cid, "assistant", "first answer")
        ids["prompt"] = store.add_message(cid, "user", "which pet?")
        store.attach_images(ids["prompt"], (DOG, CAT))
        ids["old_reply"] = store.add_message(cid, "assistant", "an older take")
        ids["reply"] = store.add_message(
            cid, "assistant", "the cat", alternative_of=ids["old_reply"], usage=Usage(40, 12),
            cost=0.0123, timings={"ttft": 0.25, "total": 1.5}, model="m", protocol="sse",
        )  # fmt: skip
        store.add_message(cid, "user", "and then?")
        ids["last_reply"] = store.add_message(
            cid, "assistant", "the end", status="stopped", usage=Usage(50, 3)
        )
    return ids


def _stored() -> tuple[list[tuple[Any, ...]], ...]:
    """Every message and image link as committed in the history file."""
    conn = sqlite3.connect(default_path())
    try:
        return tuple(
            [tuple(r) for r in conn.execute(sql)]
            for sql in (
                "SELECT * FROM messages ORDER BY id",
                "SELECT * FROM message_attachments ORDER BY message_id, position",
                "SELECT hash, data FROM attachments ORDER BY hash",
            )
        )
    finally:
        conn.close()


async def _answered(window: MainWindow) -> tuple[Any, int]:
    """The window's chat once a first prompt has its reply; the turn's key."""
    session = window.current_session()
    key = session.send("first question")
    assert key is not None
    await wait_reply(session)
    return session, key


def _open(window: MainWindow, cid: int) -> Any:
    key = window.history.key_of(cid)
    assert key is not None
    window.conversations.select(key)
    return window.current_session()


@pytest.mark.asyncio
async def test_a_deleted_prompt_and_its_replies_come_back_exactly_with_undo(
    qtbot: QtBot,
) -> None:
    ids = _seed()
    before = _stored()
    async with open_window(qtbot, **FAST) as window:
        session, lst = _open(window, ids["cid"]), window.conversations
        view = session.view
        shown, turns = view.toPlainText(), list(session.turns)
        middle = turns[1]
        assert "‹  2/2  ›" in shown and middle.attachments == (DOG, CAT)
        deletion = window.history.actions.delete_message(session, ("user", middle.key))
        assert deletion is not None and deletion.stored is not None
        assert "which pet?" not in view.toPlainText() and middle not in session.turns  # at once
        assert lst.undo_bar.isVisibleTo(window)
        assert "Deleted a prompt" in lst.undo_label.toolTip()  # the label may be cut
        assert await deletion.stored is not None
        with HistoryStore() as store:
            assert [m.content for m in store.messages(ids["cid"], active_only=False)] == [
                "first question", "first answer", "and then?", "the end",
            ]  # fmt: skip
            assert store.search("older take") == []
        lst.undo_button.click()
        await window.history.actions.finish()
        assert _stored() == before
        assert session.turns == turns and view.toPlainText() == shown
        assert middle.attachments == (DOG, CAT) and middle.reply.cost == 0.0123
        assert not lst.undo_bar.isVisibleTo(window)
        assert window.history.actions.undo_delete() is None  # once


@pytest.mark.asyncio
async def test_a_reply_with_alternatives_deleted_alone_and_put_back(qtbot: QtBot) -> None:
    ids = _seed()
    before = _stored()
    async with open_window(qtbot, **FAST) as window:
        session = _open(window, ids["cid"])
        view, middle = session.view, session.turns[1]
        shown = view.toPlainText()
        deletion = window.history.actions.delete_message(session, middle.key)
        assert deletion is not None and deletion.stored is not None
        now = view.toPlainText()
        assert "an older take" in now and "the cat" not in now
        assert "‹" not in now and "/2" not in now, "one alternative is left"
        assert "Deleted a reply" in window.conversations.undo_label.toolTip()
        assert (middle.reply_id, middle.alt_index, middle.alt_count) == (ids["old_reply"], 0, 1)
        await deletion.stored
        restoring = window.history.actions.undo_delete()
        assert restoring is not None and await restoring
        assert _stored() == before and view.toPlainText() == shown
        assert (middle.reply_id, middle.alt_index, middle.alt_count) == (ids["reply"], 1, 2)
        session.view.alternativeRequested.emit(middle.key, -1)  # flips as before
        assert middle.reply.text == "an older take"


@pytest.mark.asyncio
async def test_ctrl_z_in_the_transcript_puts_the_last_reply_back(qtbot: QtBot) -> None:
    """The prompt left without its reply gets it back, marks and figures included."""
    ids = _seed()
    before = _stored()
    async with open_window(qtbot, **FAST) as window:
        session = _open(window, ids["cid"])
        view, last = session.view, session.turns[-1]
        shown = view.toPlainText()
        assert "Stopped after 3 tokens" in shown and session.stats.tokens_out == 3
        deletion = window.history.actions.delete_message(session, last.key)
        assert deletion is not None and deletion.stored is not None
        assert "the end" not in view.toPlainText() and last.reply_id is None
        await deletion.stored
        window.activateWindow()
        view.setFocus()
        await until(lambda: QApplication.focusWidget() is view)
        QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        await window.history.actions.finish()
        assert _stored() == before and view.toPlainText() == shown
        assert last.reply_id == ids["last_reply"] and session.stats.tokens_out == 3


@pytest.mark.asyncio
async def test_undo_after_switching_chats_goes_back_to_the_chat_with_them_in_sight(
    qtbot: QtBot,
) -> None:
    ids = _seed()
    before = _stored()
    async with open_window(qtbot, **FAST) as window:
        session = _open(window, ids["cid"])
        key = window.current_key()
        shown = session.view.toPlainText()
        deletion = window.history.actions.delete_message(session, ("user", session.turns[0].key))
        assert deletion is not None
        other = _open(window, ids["other"])
        assert other is not session
        ctrl_z_elsewhere = window.history.actions.messages.undo(other)
        assert ctrl_z_elsewhere is None, "Ctrl+Z in another chat undoes nothing there"
        restoring = window.history.actions.undo_delete()
        assert restoring is not None and await restoring
        assert window.current_key() == key and window.current_session() is session
        assert session.view.toPlainText() == shown and _stored() == before
        assert session.view.message_span(("user", session.turns[0].key)) is not None


@pytest.mark.asyncio
async def test_deleting_the_chat_takes_the_offer_with_it(qtbot: QtBot) -> None:
    """The sidebar then offers the chat back, as the history holds it: without the messages."""
    ids = _seed()
    async with open_window(qtbot, **FAST) as window:
        actions = window.history.actions
        session = _open(window, ids["cid"])
        deletion = actions.delete_message(session, ("user", session.turns[1].key))
        assert deletion is not None and deletion.stored is not None
        await deletion.stored
        chat = actions.delete_conversation(window.current_key())
        assert chat is not None and await chat is not None
        assert actions.messages.undo(session) is None  # Ctrl+Z: the chat is gone
        restoring = actions.undo_delete()  # the chat's Undo
        assert restoring is not None and await restoring == ids["cid"]
        assert actions.undo_delete() is None
        with HistoryStore() as store:
            shown = [m.content for m in store.messages(ids["cid"])]
        assert shown == ["first question", "first answer", "and then?", "the end"]


@pytest.mark.asyncio
async def test_a_deleted_chats_undo_is_replaced_by_a_message_deletions(qtbot: QtBot) -> None:
    ids = _seed()
    async with open_window(qtbot, **FAST) as window:
        actions = window.history.actions
        deleted = actions.delete_conversation(window.history.key_of(ids["other"]) or -1)
        assert deleted is not None
        session = _open(window, ids["cid"])
        deletion = actions.delete_message(session, session.turns[-1].key)
        assert deletion is not None
        restoring = actions.undo_delete()
        assert restoring is not None and await restoring is True
        assert session.turns[-1].reply_id == ids["last_reply"]
        await deleted
        with HistoryStore() as store:
            assert [c.id for c in store.list_conversations()] == [ids["cid"]]


@pytest.mark.asyncio
async def test_delete_and_undo_write_the_history_off_the_loop(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _seed()
    threads: list[str] = []
    for name in ("delete_messages", "restore_messages"):
        method = getattr(HistoryStore, name)

        def spy(self: HistoryStore, *args: object, _method: Any = method) -> Any:
            threads.append(threading.current_thread().name)
            return _method(self, *args)

        monkeypatch.setattr(HistoryStore, name, spy)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window, ids["cid"])
        window.history.actions.delete_message(session, ("user", session.turns[1].key))
        restoring = window.history.actions.undo_delete()  # before the deletion has ended
        assert restoring is not None and await restoring
    assert len(threads) == 2 and "MainThread" not in threads


@pytest.mark.asyncio
async def test_a_delete_the_history_refuses_puts_the_messages_back_and_says_why(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _seed()
    before = _stored()

    def refuse(self: HistoryStore, *args: object) -> Any:
        raise HistoryError("the disk is full")

    monkeypatch.setattr(HistoryStore, "delete_messages", refuse)
    async with open_window(qtbot, **FAST) as window:
        session = _open(window, ids["cid"])
        shown = session.view.toPlainText()
        deletion = window.history.actions.delete_message(session, ("user", session.turns[1].key))
        assert deletion is not None and deletion.stored is not None
        assert await deletion.stored is None
        assert "Could not delete the message: the disk is full" in (
            window.statusBar().currentMessage()
        )
        assert session.view.toPlainText() == shown
        assert window.history.actions.undo_delete() is None
    assert _stored() == before


@pytest.mark.asyncio
async def test_nothing_is_deleted_or_put_back_while_a_reply_streams_in_the_chat(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot, **FAST) as window:
        session, first = await _answered(window)
        actions = window.history.actions
        deletion = actions.delete_message(session, first)
        assert deletion is not None
        window.set_next_scenario("stall")  # streams until stopped
        session.send("tell me a long story")
        await wait_text(session)
        assert actions.delete_message(session, ("user", session.turns[0].key)) is None
        assert "streaming" in window.statusBar().currentMessage()
        assert actions.undo_delete() is None, "put back once the reply has ended"
        assert window.conversations.undo_bar.isVisibleTo(window)  # offered again
        session.stop()
        await wait_reply(session)
        restoring = actions.undo_delete()
        assert restoring is not None and await restoring
        assert session.turns[0].reply.text and session.turns[0].reply_id is not None
        assert len(session.turns) == 2


def _top(view: Any, key: object) -> int:
    span = view.message_span(key)
    assert span is not None
    cursor = QTextCursor(view.document())
    cursor.setPosition(span[0])
    return int(view.cursorRect(cursor).top())


@pytest.mark.asyncio
async def test_the_reader_keeps_their_place_through_delete_and_undo(qtbot: QtBot) -> None:
    """What came after a deleted turn starts where it started; Undo brings it back in sight."""
    with HistoryStore() as store:
        cid = store.create_conversation(title="long answers", model="m")
        for n in range(6):
            store.add_message(cid, "user", f"question {n}")
            store.add_message(cid, "assistant", "\n\n".join(f"line {i} of {n}" for i in range(30)))
    async with open_window(qtbot, **FAST) as window:
        session = _open(window, cid)
        view = session.view
        turn, below = session.turns[3], session.turns[4]
        view.scroll_to(view.verticalScrollBar().value() + _top(view, ("user", turn.key)) - 120)
        assert _top(view, ("user", turn.key)) == 120
        deletion = window.history.actions.delete_message(session, ("user", turn.key))
        assert deletion is not None
        assert _top(view, ("user", below.key)) == 120
        view.scroll_to(view.verticalScrollBar().maximum())
        restoring = window.history.actions.undo_delete()
        assert restoring is not None and await restoring
        assert 0 <= _top(view, ("user", turn.key)) < view.viewport().height() // 2


@pytest.mark.asyncio
async def test_an_undo_that_lands_while_a_reply_streams_redraws_once_it_has_ended(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot, **FAST) as window:
        session, first = await _answered(window)
        actions = window.history.actions
        assert actions.delete_message(session, ("user", first)) is not None
        restoring = actions.undo_delete()
        assert restoring is not None
        window.set_next_scenario("stall")
        session.send("tell me a long story")  # before the history has put them back
        await wait_text(session)
        assert not restoring.done() and session.busy
        session.stop()
        assert await restoring
        story = session.turns[-1]
        assert [t.prompt for t in session.turns] == ["first question", "tell me a long story"]
        assert story.reply.status.value == "stopped" and story.reply.text
        for turn in session.turns:  # both drawn, prompt and reply
            assert session.view.message_span(("user", turn.key)) is not None
            assert session.view.message_span(turn.key) is not None


@pytest.mark.asyncio
async def test_messages_whose_chat_went_first_are_not_said_to_have_failed(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat deleted right after (its deletion may reach the history first)."""
    ids = _seed()

    def gone(self: HistoryStore, message_ids: list[int]) -> Any:
        raise MessageNotFound(message_ids[0])

    monkeypatch.setattr(HistoryStore, "delete_messages", gone)
    async with open_window(qtbot, **FAST) as window:
        actions = window.history.actions
        session = _open(window, ids["cid"])
        deletion = actions.delete_message(session, session.turns[0].key)
        assert deletion is not None and deletion.stored is not None
        chat = actions.delete_conversation(window.current_key())
        assert await deletion.stored is None and chat is not None and await chat is not None
        assert "Could not delete" not in window.statusBar().currentMessage()
        assert actions.messages.undo() is None
