"""Deleting messages and undoing it, on real SQLite files: the rows come back exactly (ids,
text, status, costs, timings, tool rounds, images, alternatives and the one shown), in their
place, searchable again; an undo after the conversation changed or went does the right thing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_history_start_check import WAIT, HeldCheck
from tests.core.attachment_files import png

from streamdesk.core.attachments import image_attachment
from streamdesk.core.events import Usage
from streamdesk.core.store.history import ConversationNotFound, HistoryStore, MessageNotFound

CAT = image_attachment("cat.png", png(64, 64))
DOG = image_attachment("dog.png", png(32, 16, (200, 10, 10)))
ROUNDS = ({"at": 3, "calls": [{"name": "clock", "arguments": {}}], "results": []},)


def _table(store: HistoryStore, sql: str) -> list[tuple[Any, ...]]:
    """Every row a second connection sees (what is committed)."""
    conn = sqlite3.connect(store.path)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def _everything(store: HistoryStore) -> tuple[list[tuple[Any, ...]], ...]:
    return (
        _table(store, "SELECT * FROM messages ORDER BY id"),
        _table(store, "SELECT * FROM message_attachments ORDER BY message_id, position"),
        _table(store, "SELECT * FROM attachments ORDER BY hash"),
        _table(store, "SELECT * FROM conversations ORDER BY id"),
    )


def _chat(store: HistoryStore) -> dict[str, int]:
    """Three turns; the middle prompt has two images and its reply two alternatives, the
    second (shown) one with usage, cost, timings and a tool round."""
    ids = {"cid": store.create_conversation(title="zoo", model="m")}
    store.add_message(ids["cid"], "user", "first question")
    ids["first_reply"] = store.add_message(ids["cid"], "assistant", "first answer")
    ids["prompt"] = store.add_message(ids["cid"], "user", "which pet? walrus")
    store.attach_images(ids["prompt"], (DOG, CAT))
    ids["old_reply"] = store.add_message(
        ids["cid"], "assistant", "a cut answer", status="partial",
        failure_kind="cut_mid_stream", failure_message="The connection closed.",
    )  # fmt: skip
    ids["reply"] = store.add_message(
        ids["cid"], "assistant", "the cat, says the clock", alternative_of=ids["old_reply"],
        usage=Usage(40, 12), cost=0.0123, cost_estimated=True, tool_rounds=ROUNDS,
        timings={"ttft": 0.25, "total": 1.5}, model="m", protocol="sse",
    )  # fmt: skip
    ids["last"] = store.add_message(ids["cid"], "user", "and then?")
    store.add_message(ids["cid"], "assistant", "the end")
    return ids


def test_a_prompt_and_every_reply_of_it_come_back_exactly(store: HistoryStore) -> None:
    ids = _chat(store)
    before = _everything(store)
    turn = (ids["prompt"], ids["old_reply"], ids["reply"])
    snapshot = store.delete_messages(turn)
    assert set(snapshot.message_ids) == set(turn)
    shown = [m.content for m in store.messages(ids["cid"])]
    assert shown == ["first question", "first answer", "and then?", "the end"]
    assert store.search("walrus") == [] and store.search("clock") == []
    assert _table(store, "SELECT COUNT(*) FROM attachments") == [(0,)]  # gone with the link
    assert store.restore_messages(snapshot) == {i: i for i in turn}  # the same ids
    assert _everything(store) == before
    assert [h.message_id for h in store.search("walrus")] == [ids["prompt"]]
    middle = store.messages(ids["cid"])[2:4]
    assert [m.content for m in middle] == ["which pet? walrus", "the cat, says the clock"]
    assert [a.name for a in middle[0].attachments] == ["dog.png", "cat.png"]
    assert store.images_of(middle)[CAT.digest].data == CAT.data
    reply = middle[1]
    assert (reply.alt_index, reply.alt_count, reply.cost, reply.estimated) == (1, 2, 0.0123, True)
    assert reply.usage == Usage(40, 12) and reply.timings == {"ttft": 0.25, "total": 1.5}
    assert reply.tool_rounds == ROUNDS


def test_a_shown_alternative_deleted_alone_is_shown_again_by_undo(store: HistoryStore) -> None:
    ids = _chat(store)
    before = _everything(store)
    snapshot = store.delete_messages([ids["reply"]])
    shown = store.messages(ids["cid"])
    assert shown[3].id == ids["old_reply"] and shown[3].alt_count == 1  # the other one shows
    store.restore_messages(snapshot)
    assert _everything(store) == before
    assert store.alternative_position(ids["reply"]) == (1, 2)


def test_an_alternative_added_since_the_delete_comes_after_the_one_put_back(
    store: HistoryStore,
) -> None:
    ids = _chat(store)
    snapshot = store.delete_messages([ids["reply"]])
    newer = store.add_message(
        ids["cid"], "assistant", "a newer take", alternative_of=ids["old_reply"]
    )
    store.restore_messages(snapshot)
    alternatives = store.alternatives(ids["old_reply"])
    assert [a.id for a in alternatives] == [ids["old_reply"], ids["reply"], newer]
    assert [a.active for a in alternatives] == [False, True, False]  # the one put back shows
    assert store.messages(ids["cid"])[3].id == ids["reply"]
    assert len({a.alt_index for a in alternatives}) == 3


def test_turns_sent_since_the_delete_stay_after_the_turn_put_back(store: HistoryStore) -> None:
    ids = _chat(store)
    snapshot = store.delete_messages([ids["last"], ids["last"] + 1])
    store.add_message(ids["cid"], "user", "a new question")
    store.restore_messages(snapshot)
    shown = [m.content for m in store.messages(ids["cid"])]
    assert shown[-3:] == ["and then?", "the end", "a new question"]


def test_undo_after_the_conversation_was_deleted_says_so_and_adds_nothing(
    store: HistoryStore,
) -> None:
    ids = _chat(store)
    other = store.create_conversation(title="other")
    snapshot = store.delete_messages([ids["prompt"], ids["reply"]])
    store.delete_conversation(ids["cid"])
    with pytest.raises(ConversationNotFound):
        store.restore_messages(snapshot)
    assert _table(store, "SELECT COUNT(*) FROM messages") == [(0,)]
    assert _table(store, "SELECT COUNT(*) FROM attachments") == [(0,)]
    assert [c.id for c in store.list_conversations()] == [other]


def test_a_delete_naming_a_message_not_stored_deletes_none(store: HistoryStore) -> None:
    ids = _chat(store)
    before = _everything(store)
    with pytest.raises(MessageNotFound):
        store.delete_messages([ids["prompt"], 99_999])
    assert _everything(store) == before


def test_a_streaming_reply_deleted_keeps_its_text_so_far_for_undo(store: HistoryStore) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", "q")
    mid = store.add_message(cid, "assistant", "", status="streaming")
    store.append_to_message(mid, "half of ")
    store.append_to_message(mid, "it")
    snapshot = store.delete_messages([mid])
    assert _table(store, "SELECT COUNT(*) FROM message_chunks") == [(0,)]
    store.restore_messages(snapshot)
    assert store.get_message(mid).content == "half of it"


def test_undo_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        ids = _chat(store)
        before = _everything(store)
        snapshot = store.delete_messages([ids["prompt"], ids["old_reply"], ids["reply"]])
    with HistoryStore(path) as store:
        store.restore_messages(snapshot)
        assert _everything(store) == before
        assert store.check().ok


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldCheck]:
    held = HeldCheck(monkeypatch)
    yield held
    held.release()


def test_delete_and_undo_during_the_start_up_check_wait_for_nothing_and_are_committed(
    tmp_path: Path, check: HeldCheck
) -> None:
    """Both are made in the kept transaction at once (a write that waited for the check would
    stop this test until the check gives up waiting) and committed when it passes."""
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        ids = _chat(store)
    before = _everything(store)  # committed by the close
    check.hold()
    store = HistoryStore(path)
    try:
        turn = [ids["prompt"], ids["old_reply"], ids["reply"]]
        assert check.started.wait(WAIT)
        snapshot = store.delete_messages(turn)
        assert len(store.messages(ids["cid"])) == 4
        assert store.restore_messages(snapshot) == {i: i for i in turn}
        assert len(store.messages(ids["cid"])) == 6 and store.unsaved_writes == 2
        check.finish()
        assert store.unsaved_writes == 0
        assert _everything(store) == before
    finally:
        check.release()
        store.close()
