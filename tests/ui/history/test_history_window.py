"""History in the window, against real SQLite files and the real mock on the qasync loop."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, open_window, until, wait_reply

from streamdesk.core.events import Usage
from streamdesk.core.store.history import HistoryStore
from streamdesk.mock.replies import reply_for


def _seed(n_convs: int = 3) -> list[int]:
    with HistoryStore() as store:
        ids = []
        for i in range(n_convs):
            cid = store.create_conversation(title=f"conv {i}", model="m")
            store.add_message(cid, "user", f"question {i}")
            store.add_message(cid, "assistant", f"answer {i} about zebra{i}")
            ids.append(cid)
        store.set_pinned(ids[0], True)
    return ids


@pytest.mark.asyncio
async def test_stored_conversations_are_listed_pinned_first_then_newest(qtbot: QtBot) -> None:
    _seed()
    async with open_window(qtbot, **FAST) as window:
        lst = window.conversations
        keys = lst.keys()  # a list, not a dict
        titles = [lst.title(k) for k in keys]
        assert titles == ["conv 0", "conv 2", "conv 1"]  # the last chat reopens: no new one
        assert lst.is_pinned(lst.keys()[0])


@pytest.mark.asyncio
async def test_a_send_is_stored_with_status_model_usage_and_timings(qtbot: QtBot) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        session.send("Explain backpressure please")
        turn = await wait_reply(session)
        with HistoryStore() as store:
            (conv,) = store.list_conversations()
            assert conv.title == "Explain backpressure please"
            user, reply = store.messages(conv.id)
        assert (user.role, user.content) == ("user", "Explain backpressure please")
        assert reply.content == "".join(reply_for("Explain backpressure please")) == turn.reply.text
        assert reply.status == "complete" and reply.protocol == "sse" and reply.model
        assert reply.completion_tokens and reply.timings and reply.timings["ttft"] >= 0
        assert reply.cost is not None


@pytest.mark.asyncio
async def test_search_finds_a_message_and_jumps_to_it_highlighted(qtbot: QtBot) -> None:
    _seed()
    async with open_window(qtbot, **FAST) as window:
        lst = window.conversations
        lst.search.setText("zebra1")
        await until(lambda: lst.results.hits())
        hits = lst.results.hits()
        assert [h.conversation_title for h in hits] == ["conv 1"]
        assert lst.results.isVisibleTo(window) and not lst.list.isVisibleTo(window)
        lst.results.activate(0)
        assert lst.title(lst.current_key()) == "conv 1"
        view = window.current_session().view
        (mark,) = view.extraSelections()
        assert mark.cursor.selectedText() == "zebra1"
        assert view.textCursor().position() == mark.cursor.selectionStart()


@pytest.mark.asyncio
async def test_regenerate_keeps_alternatives_and_flips_between_them(qtbot: QtBot) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        window.set_next_scenario("cut")
        key = session.send("alt test")
        first = (await wait_reply(session)).reply.text
        assert session.regenerate(key) == key
        turn = await wait_reply(session)
        assert turn.reply.text == "".join(reply_for("alt test")) != first
        with HistoryStore() as store:
            alts = store.alternatives(turn.reply_id)
            assert [a.content for a in alts] == [first, turn.reply.text]
            assert len(store.messages(alts[0].conversation_id)) == 2
        assert "‹" in session.view.toPlainText() and "2/2" in session.view.toPlainText()
        session.view.alternativeRequested.emit(key, -1)
        assert turn.reply.text == first and turn.reply.status.value == "partial"
        with HistoryStore() as store:
            assert store.messages(alts[0].conversation_id)[-1].id == alts[0].id


@pytest.mark.asyncio
async def test_continue_appends_to_the_same_stored_message(qtbot: QtBot) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        window.set_next_scenario("cut")
        key = session.send("continue test")
        turn = await wait_reply(session)
        partial = turn.reply.text
        with HistoryStore() as store:
            cut = store.get_message(turn.reply_id)
        assert cut.status == "partial" and cut.failure_kind and cut.cost is not None
        session.view.continueRequested.emit(key)
        await wait_reply(session)
        with HistoryStore() as store:
            (conv,) = store.list_conversations()
            msgs = store.messages(conv.id)
        whole = "".join(reply_for("continue test"))  # the mock continues the assistant prefix
        assert len(msgs) == 2 and msgs[1].content == turn.reply.text == whole != partial
        assert msgs[1].status == "complete"
        assert msgs[1].failure_kind is None and msgs[1].failure_message is None
        assert msgs[1].cost == pytest.approx(turn.reply.cost) and turn.reply.cost > cut.cost


@pytest.mark.asyncio
async def test_a_partial_reply_reopens_marked_with_continue(qtbot: QtBot) -> None:
    with HistoryStore() as store:
        cid = store.create_conversation(title="cut one")
        store.add_message(cid, "user", "q")
        store.add_message(
            cid, "assistant", "half an ans", status="partial",
            failure_kind="cut_mid_stream", failure_message="The connection closed.",
        )  # fmt: skip
    async with open_window(qtbot, **FAST) as window:
        window.conversations.select(window.conversations.keys()[-1])
        text = window.current_session().view.toPlainText()
        assert "half an ans" in text and "Continue" in text and "connection closed" in text


@pytest.mark.asyncio
@pytest.mark.parametrize("failure_kind", [None, "cancelled"])  # stopped in the window, by `ask`
async def test_a_stopped_reply_reopens_saying_how_many_tokens_arrived(
    qtbot: QtBot, failure_kind: str | None
) -> None:
    """As when it was stopped live; reopening, importing an export and undoing a delete all
    draw the reply from its stored row."""
    with HistoryStore() as store:
        cid = store.create_conversation(title="stopped one")
        store.add_message(cid, "user", "q")
        store.add_message(
            cid, "assistant", "the first part", status="stopped", failure_kind=failure_kind,
            usage=Usage(40, 1058),
        )  # fmt: skip
    async with open_window(qtbot, **FAST) as window:
        window.conversations.select(window.conversations.keys()[-1])
        text = window.current_session().view.toPlainText()
        assert "Stopped after 1058 tokens" in text and "Continue" in text, text[-300:]


@pytest.mark.asyncio
async def test_rename_pin_delete_and_undo(qtbot: QtBot) -> None:
    ids = _seed()
    async with open_window(qtbot, **FAST) as window:
        lst, history = window.conversations, window.history
        key = history.key_of(ids[2])
        assert key is not None
        history.actions.rename(key, "  renamed   title ")
        history.actions.pin(key, True)
        assert lst.title(key) == "renamed title" and lst.keys()[0] == key
        with HistoryStore() as store:
            conv = store.get_conversation(ids[2])
        assert conv.title == "renamed title" and conv.pinned
        deleted = history.actions.delete_conversation(key)
        remaining = lst.keys()
        assert key not in remaining and lst.undo_bar.isVisibleTo(window)  # at once
        assert deleted is not None and await deleted is not None
        with HistoryStore() as store:
            assert ids[2] not in [c.id for c in store.list_conversations()]
        lst.undo_button.click()
        await history.actions.finish()
        restored = lst.current_key()
        assert lst.title(restored) == "renamed title" and lst.keys()[0] == restored
        with HistoryStore() as store:
            assert len(store.messages(ids[2])) == 2


@pytest.mark.asyncio
async def test_editing_a_prompt_resends_it_and_keeps_what_followed(qtbot: QtBot) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        session.send("first prompt")
        first = await wait_reply(session)
        session.send("second prompt")
        second = await wait_reply(session)
        old_texts = [first.reply.text, second.reply.text]
        session.view.editRequested.emit(("user", first.key))
        assert window.prompt.toPlainText() == "first prompt"
        window.prompt.setPlainText("edited prompt")
        window.prompt.submit()
        assert "‹  2/2  ›" in session.view.toPlainText()  # shown as soon as it is resent
        turn = await wait_reply(session)
        assert [t.prompt for t in session.turns] == ["edited prompt"]
        with HistoryStore() as store:
            (conv,) = store.list_conversations()
            msgs = store.messages(conv.id)
            assert [m.content for m in msgs] == ["edited prompt", turn.reply.text]
            assert len(store.alternatives(msgs[0].id)) == 2
            hidden = store.hidden_messages(conv.id)
            assert [m.content for m in hidden] == [
                first.reply.text,
                "second prompt",
                second.reply.text,
            ]
        session.view.alternativeRequested.emit(("user", session.turns[0].key), -1)
        assert [t.prompt for t in session.turns] == ["first prompt", "second prompt"]
        assert [t.reply.text for t in session.turns] == old_texts
        assert "1/2" in session.view.toPlainText()
        session.view.alternativeRequested.emit(("user", session.turns[0].key), 1)
        assert [(t.prompt, t.reply.text) for t in session.turns] == [
            ("edited prompt", turn.reply.text)
        ]
        # A search hit in the set-aside branch opens that branch.
        (hit,) = [h for h in window.history.actions.search("second prompt") if h.role == "user"]
        assert await window.history.actions.open_hit(hit)
        assert [t.prompt for t in session.turns] == ["first prompt", "second prompt"]


@pytest.mark.asyncio
async def test_system_prompt_and_parameters_are_stored_and_sent(qtbot: QtBot) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        session.send("hello")
        await wait_reply(session)
        key = window.current_key()
        dialog = window.history.actions.settings_dialog(key)
        dialog.system.setPlainText("Be terse.")
        dialog.temperature.setValue(0.3)
        dialog.max_tokens.setValue(64)
        dialog.accept()
        session.send("again")
        await wait_reply(session)
        body = window.mock.requests[-1].body
        assert b"Be terse." in body and b'"max_tokens": 64' in body.replace(b":64", b": 64")
        with HistoryStore() as store:
            conv = store.get_conversation(store.list_conversations()[0].id)
        assert conv.system_prompt == "Be terse." and conv.params["temperature"] == 0.3


@pytest.mark.asyncio
async def test_a_demo_chat_reopened_at_start_goes_on_with_the_demo(qtbot: QtBot) -> None:
    """The chat reopened at start is opened before the offline demo's mock runs: once the
    demo runs, it goes on with it, as every other chat held with the demo does."""
    from streamdesk.core.providers import MOCK_PROVIDER_ID

    with HistoryStore() as store:
        cid = store.create_conversation(title="demo chat", provider=MOCK_PROVIDER_ID)
        store.add_message(cid, "user", "question")
        store.add_message(cid, "assistant", "answer")
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        assert session.conversation.conversation_id == cid
        target = session.conversation.target
        assert target is not None and target.provider.id == MOCK_PROVIDER_ID
        window.show_conversation(window.current_key())  # brought forward again
        assert window.header.provider_id() == MOCK_PROVIDER_ID
        session.send("and now?")
        turn = await wait_reply(session)
        assert turn.reply.failure is None and turn.reply.text


@pytest.mark.asyncio
async def test_regenerate_on_an_older_reply_goes_on_from_there_keeping_what_followed(
    qtbot: QtBot,
) -> None:
    """Regenerate on a reply with later turns below it asks its prompt again, as an edit of
    that prompt does: the chat goes on from there, and the turns that followed are the
    prompt's other version (‹ 1/2 ›); Continue on an older cut reply says why it cannot."""
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        window.set_next_scenario("cut")
        first = session.send("zebra question")
        await wait_reply(session)
        session.send("walrus question")
        await wait_reply(session)
        said: list[str] = []
        session.declined.connect(said.append)
        session.view.continueRequested.emit(first)
        assert said and "newest reply" in said[0] and not session.busy
        assert "newest reply" in window.statusBar().currentMessage()
        assert session.regenerate(first) is not None
        turn = await wait_reply(session)
        assert turn.prompt == "zebra question" and turn.reply.text == "".join(
            reply_for("zebra question")
        )
        assert [t.prompt for t in session.turns] == ["zebra question"]
        shown = " ".join(session.view.toPlainText().split())
        assert "walrus question" not in shown and "‹ 2/2 ›" in shown
        session.view.alternativeRequested.emit(("user", turn.key), -1)  # the version before
        await until(lambda: "walrus question" in session.view.toPlainText(), 10.0)


@pytest.mark.asyncio
async def test_deleting_the_newest_reply_takes_its_figures_off_the_status_bar(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        session.send("first question")
        first = await wait_reply(session)
        key = session.send("second question")
        second = await wait_reply(session)
        assert second.reply.completion_tokens != first.reply.completion_tokens
        assert session.stats.tokens_out == second.reply.completion_tokens
        session.view.deleteRequested.emit(key)  # the reply alone: its prompt stays
        assert session.stats.tokens_out == 0, "the figures of a reply that is gone"
        session.view.deleteRequested.emit(("user", key))  # the prompt too
        assert session.stats.tokens_out == first.reply.completion_tokens
        shown = " ".join(label.text() for label in window.status.findChildren(QLabel))
        assert f"out {first.reply.completion_tokens:,} tokens" in shown


@pytest.mark.asyncio
async def test_a_new_chat_named_before_its_first_prompt_keeps_its_name(qtbot: QtBot) -> None:
    async with open_window(qtbot, **FAST) as window:
        session = window.current_session()
        key = window.current_key()
        window.history.actions.rename(key, "Project X")
        window.prompt.setPlainText("Write a poem")
        window.prompt.submitted.emit("Write a poem")
        await wait_reply(session)
        assert window.conversations.title(key) == "Project X" == session.title
        cid = window.history.cid_of_key[key]
        with HistoryStore() as store:
            assert store.get_conversation(cid).title == "Project X"


@pytest.mark.asyncio
async def test_a_title_being_typed_survives_its_chat_s_reply_ending(qtbot: QtBot) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLineEdit

    async with open_window(qtbot, tokens_per_second=100.0, reply_tokens=30) as window:
        session = window.current_session()
        key = window.current_key()
        session.send("a question to rename")
        lst = window.conversations
        lst.rename_inline(key)
        editor = lst.list.viewport().findChild(QLineEdit)
        assert editor is not None
        editor.setText("Second name")
        await wait_reply(session)  # the streaming mark goes: the item's text changes
        assert editor.text() == "Second name", "what the user typed is kept"
        qtbot.keyClick(editor, Qt.Key.Key_Return)
        await until(lambda: lst.title(key) == "Second name")
        assert "●" not in lst.list.currentItem().text()
