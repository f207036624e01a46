"""Images in the history: stored once by content hash, linked in order, kept through export,
import, delete and undo, read back for a continued conversation, and added to old files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.core.attachment_files import png

from streamdesk.core.attachments import Attachment, image_attachment
from streamdesk.core.chat import Conversation, ConversationRecord, Target, turns_of
from streamdesk.core.events import Done, TextDelta
from streamdesk.core.providers import builtin
from streamdesk.core.store.history import HistoryStore, schema

CAT = image_attachment("cat.png", png(64, 64))
DOG = image_attachment("dog.png", png(32, 16, (200, 10, 10)))


def _rows(store: HistoryStore, table: str) -> int:
    conn = sqlite3.connect(store.path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _prompt(store: HistoryStore, *images: Attachment) -> tuple[int, int]:
    cid = store.create_conversation(title="pets")
    mid = store.add_message(cid, "user", "Which pet?")
    store.attach_images(mid, images)
    return cid, mid


def test_an_image_attached_twice_is_stored_once(store: HistoryStore) -> None:
    _, first = _prompt(store, CAT, CAT)
    again = Attachment("again.png", CAT.mime, CAT.data, 64, 64)
    _, second = _prompt(store, again)
    assert again.digest == CAT.digest
    assert _rows(store, "attachments") == 1
    assert _rows(store, "message_attachments") == 3
    links = store.get_message(first).attachments
    assert [(a.name, a.width, a.height, a.mime) for a in links] == [
        ("cat.png", 64, 64, "image/png"),
        ("cat.png", 64, 64, "image/png"),
    ]
    assert store.get_message(second).attachments[0].name == "again.png"
    assert store.images([CAT.digest])[CAT.digest].data == CAT.data


def test_images_keep_their_order_and_go_with_the_last_link(store: HistoryStore) -> None:
    cid, mid = _prompt(store, DOG, CAT)
    assert [a.name for a in store.get_message(mid).attachments] == ["dog.png", "cat.png"]
    snapshot = store.delete_conversation(cid)
    assert _rows(store, "attachments") == 0
    restored = store.restore_conversation(snapshot)
    (message,) = store.messages(restored)
    assert [a.name for a in message.attachments] == ["dog.png", "cat.png"]
    assert set(store.images_of([message])) == {DOG.digest, CAT.digest}


def test_json_export_carries_each_image_once_and_imports_back(store: HistoryStore) -> None:
    cid, _ = _prompt(store, CAT, CAT, DOG)
    data = store.export_json(cid)
    assert set(data["images"]) == {CAT.digest, DOG.digest}
    assert data["images"][CAT.digest]["data"] == CAT.base64
    assert [a["name"] for a in data["messages"][0]["attachments"]] == ["cat.png"] * 2 + ["dog.png"]
    copy = store.import_json(data)
    (message,) = store.messages(copy)
    assert [a.digest for a in message.attachments] == [CAT.digest, CAT.digest, DOG.digest]
    assert _rows(store, "attachments") == 2
    assert "*Images: cat.png (64×64), cat.png (64×64), dog.png (32×16)*" in store.export_markdown(
        cid
    )


def test_a_continued_conversation_sends_its_images_again(store: HistoryStore) -> None:
    target = Target(builtin("openai"), "gpt-4.1")
    conversation = Conversation(target)
    record = ConversationRecord(store, conversation)
    send = conversation.ask("What is this?", (CAT,))
    reply = record.open_reply(send.turn)
    for event in (TextDelta("A cat."), Done("stop")):
        send.turn.reply.apply(event)
        reply.apply(event)
    reply.finish(send.turn.reply)
    assert conversation.conversation_id is not None
    stored = store.messages(conversation.conversation_id)
    again = Conversation(target)
    again.load(turns_of(stored, target, store.images_of(stored)))
    request = again.ask("And now?").request
    assert request.messages[0].attachments == (CAT,)
    assert request.images == (CAT,)


def test_a_v6_database_opens_with_the_image_tables(tmp_path: Path) -> None:
    path = tmp_path / "v6.sqlite3"
    conn = schema.connect(path)
    assert schema.migrate(conn, target=6) == 6
    conn.execute("INSERT INTO conversations (title, created, updated) VALUES ('old', 1, 1)")
    conn.execute(
        "INSERT INTO messages (conversation_id, group_id, role, content, created)"
        " VALUES (1, 1, 'user', 'an old prompt', 1)"
    )
    conn.close()
    with HistoryStore(path) as store:
        (message,) = store.messages(1)
        assert message.content == "an old prompt" and message.attachments == ()
        store.attach_images(message.id, [CAT])
        assert store.get_message(message.id).attachments[0].digest == CAT.digest
    assert schema.schema_version(sqlite3.connect(path)) == schema.LATEST_VERSION == 7
