"""Deleting, undoing, exporting and importing whole conversations from the window: the work
runs on a worker thread (a long conversation's rows and search index take a while), the window
says what happened, and a failure keeps what there was. Real SQLite files, the real mock."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, open_window

from streamdesk.core.store.history import HistoryError, HistoryStore

TURNS = 40


def _seed_long() -> int:
    with HistoryStore() as store:
        cid = store.create_conversation(title="A long chat", model="m")
        for n in range(TURNS):
            store.add_message(cid, "user", f"question {n} about zebras")
            store.add_message(cid, "assistant", f"answer {n}: **zebras** have stripes")
        return cid


def _exported(folder: Path) -> tuple[int, Path]:
    """The long chat, and its JSON export written in `folder`."""
    cid = _seed_long()
    export = folder / "chat.json"
    with HistoryStore() as store:
        export.write_text(json.dumps(store.export_json(cid)), encoding="utf-8")
    return cid, export


def _threads_of(monkeypatch: pytest.MonkeyPatch, *names: str) -> list[str]:
    """Record the thread each named `HistoryStore` method runs on (then runs it)."""
    seen: list[str] = []
    for name in names:
        method = getattr(HistoryStore, name)

        def spy(self: HistoryStore, *args: object, _method: object = method) -> object:
            seen.append(threading.current_thread().name)
            return _method(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(HistoryStore, name, spy)
    return seen


@pytest.mark.asyncio
async def test_a_deleted_conversation_leaves_at_once_and_undo_waits_for_the_deletion(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = _seed_long()
    threads = _threads_of(monkeypatch, "delete_conversation", "restore_conversation")
    async with open_window(qtbot, **FAST) as window:
        history, lst = window.history, window.conversations
        key = history.key_of(cid)
        assert key is not None
        deleting = history.actions.delete_conversation(key)
        listed = lst.keys()  # a list
        assert deleting is not None and key not in listed
        restoring = history.actions.undo_delete()  # pressed before the deletion has ended
        assert restoring is not None
        restored = await restoring
        assert threads and all(name != "MainThread" for name in threads)
        assert restored is not None and lst.title(lst.current_key()) == "A long chat"
        with HistoryStore() as store:
            assert len(store.messages(restored)) == 2 * TURNS
        assert history.actions.undo_delete() is None  # once


def _failing(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Each named `HistoryStore` method raises as a history that cannot be written does."""
    for name in names:

        def fail(self: HistoryStore, *args: object, _name: str = name) -> object:
            raise HistoryError(f"the disk is full ({_name})")

        monkeypatch.setattr(HistoryStore, name, fail)


@pytest.mark.asyncio
@pytest.mark.parametrize("readable", [True, False])
async def test_a_delete_the_history_refuses_is_said_and_the_chat_stays_stored(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, readable: bool
) -> None:
    """Listed again when the history can be read back; else at the next start: never an
    error escaping the deletion's task, and Undo has nothing to undo."""
    cid = _seed_long()
    async with open_window(qtbot, **FAST) as window:
        history = window.history
        key = history.key_of(cid)
        assert key is not None
        _failing(monkeypatch, "delete_conversation", *(() if readable else ("get_conversation",)))
        deleting = history.actions.delete_conversation(key)
        assert deleting is not None and await deleting is None
        assert (
            "Could not delete “A long chat”: the disk is full"
            in window.statusBar().currentMessage()
        )
        assert (history.key_of(cid) is not None) is readable
        restoring = history.actions.undo_delete()
        assert restoring is not None and await restoring is None
    with HistoryStore() as store:
        assert len(store.messages(cid)) == 2 * TURNS


@pytest.mark.asyncio
async def test_deleting_the_conversation_shown_shows_another(qtbot: QtBot, tmp_path: Path) -> None:
    _cid, export = _exported(tmp_path)
    async with open_window(qtbot, **FAST) as window:
        history, lst = window.history, window.conversations
        assert await history.actions.import_from(export)  # shown once imported
        key = window.current_key()
        deleting = history.actions.delete_conversation(key)
        assert deleting is not None and await deleting is not None
        listed = lst.keys()  # a list
        assert key not in listed and window.current_key() in window.sessions


@pytest.mark.asyncio
async def test_export_writes_markdown_and_json_off_the_loop_and_says_so(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = _seed_long()
    threads = _threads_of(monkeypatch, "export_markdown", "export_json")
    async with open_window(qtbot, **FAST) as window:
        actions = window.history.actions
        markdown, data = tmp_path / "chat.md", tmp_path / "chat.json"
        assert await actions.export_to(cid, "md", markdown)
        assert window.statusBar().currentMessage() == f"Exported to {markdown}"
        assert await actions.export_to(cid, "json", data)
        assert len(threads) == 2 and "MainThread" not in threads
        assert "answer 39: **zebras** have stripes" in markdown.read_text(encoding="utf-8")
        exported = json.loads(data.read_text(encoding="utf-8"))
        assert len(exported["messages"]) == 2 * TURNS
        nowhere = tmp_path / "missing folder" / "chat.md"
        assert not await actions.export_to(cid, "md", nowhere)
        assert window.statusBar().currentMessage().startswith("Could not export: ")
        assert not nowhere.parent.exists()


@pytest.mark.asyncio
async def test_import_lists_and_opens_the_conversation_or_says_why_not(
    qtbot: QtBot, tmp_path: Path
) -> None:
    cid, export = _exported(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    async with open_window(qtbot, **FAST) as window:
        actions, lst = window.history.actions, window.conversations
        before = len(lst.keys())
        imported = await actions.import_from(export)
        assert imported is not None and imported != cid
        assert len(lst.keys()) == before + 1
        assert window.current_session().title == "A long chat"
        assert (
            window.statusBar().currentMessage() == f"Imported “A long chat” ({2 * TURNS} messages)"
        )
        assert await actions.import_from(broken) is None
        assert window.statusBar().currentMessage().startswith("Could not import broken.json: ")
        assert len(lst.keys()) == before + 1


@pytest.mark.asyncio
async def test_an_import_or_undo_stored_but_not_read_back_is_said_to_be_listed_later(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, export = _exported(tmp_path)
    async with open_window(qtbot, **FAST) as window:
        actions, bar = window.history.actions, window.statusBar()
        with monkeypatch.context() as unreadable:
            _failing(unreadable, "get_conversation")
            assert await actions.import_from(export) is not None
        assert bar.currentMessage() == "Imported chat.json; it is listed at the next start."
        key = window.history.key_of(cid)
        deleting = actions.delete_conversation(key) if key is not None else None
        assert deleting is not None and await deleting is not None
        with monkeypatch.context() as unreadable:
            _failing(unreadable, "get_conversation")
            restoring = actions.undo_delete()
            assert restoring is not None and await restoring is not None
        assert bar.currentMessage() == "The conversation is back; it is listed at the next start."


@pytest.mark.asyncio
async def test_closing_the_window_waits_for_an_import_to_be_stored(
    qtbot: QtBot, tmp_path: Path
) -> None:
    _cid, export = _exported(tmp_path)
    async with open_window(qtbot, **FAST) as window:
        window.history.actions.import_from(export)
        window.close()
        await window.shutdown()
    with HistoryStore() as store:
        assert [c.title for c in store.list_conversations()] == ["A long chat", "A long chat"]
