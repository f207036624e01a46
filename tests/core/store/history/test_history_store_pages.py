"""Reading a conversation a page at a time: whole turns, newest first, each message once."""

from __future__ import annotations

from streamdesk.core.store.history import HistoryStore


def _chat(store: HistoryStore, turns: int) -> int:
    cid = store.create_conversation(title="long")
    for n in range(turns):
        store.add_message(cid, "user", f"q{n}")
        store.add_message(cid, "assistant", f"a{n}")
    return cid


def test_the_newest_page_starts_at_a_prompt(store: HistoryStore) -> None:
    cid = _chat(store, 10)
    page = store.turn_page(cid, limit=5)  # the 5th newest is a reply: its prompt comes too
    assert [m.content for m in page] == ["q7", "a7", "q8", "a8", "q9", "a9"]
    assert store.count_before(cid, page[0].group_id) == 14


def test_pages_cover_the_conversation_once_in_order(store: HistoryStore) -> None:
    cid = _chat(store, 23)
    seen: list[str] = []
    before = None
    while True:
        page = store.turn_page(cid, limit=6, before_group=before)
        if not page:
            break
        assert page[0].role == "user"
        seen[:0] = [m.content for m in page]
        before = page[0].group_id
    assert seen == [m.content for m in store.messages(cid)]
    assert store.count_before(cid, before or 0) == 0


def test_a_page_shows_the_active_versions_and_keeps_a_retry_with_its_prompt(
    store: HistoryStore,
) -> None:
    cid = _chat(store, 3)
    last = store.messages(cid)[-1]
    store.add_message(cid, "assistant", "a2 again", alternative_of=last.id)
    store.add_message(cid, "assistant", "a2 retried")  # a retry: a reply with no prompt
    page = store.turn_page(cid, limit=2)
    assert [m.content for m in page] == ["q2", "a2 again", "a2 retried"]


def test_a_page_larger_than_the_conversation_is_all_of_it(store: HistoryStore) -> None:
    cid = _chat(store, 2)
    assert [m.content for m in store.turn_page(cid, limit=50)] == ["q0", "a0", "q1", "a1"]
    assert store.turn_page(store.create_conversation(), limit=50) == []


def test_down_to_a_message_reads_from_its_turn_to_the_page_and_none_above(
    store: HistoryStore,
) -> None:
    cid = _chat(store, 20)
    page = store.turn_page(cid, limit=6)  # q17 … a19
    hit = next(m for m in store.messages(cid) if m.content == "a8")
    down = store.messages_down_to(cid, hit.id, page[0].group_id)
    assert [m.content for m in down] == [f"{r}{n}" for n in range(8, 17) for r in "qa"]
    with_context = store.messages_down_to(cid, hit.id, page[0].group_id, above=3)
    assert [m.content for m in with_context][:4] == ["q7", "a7", "q8", "a8"]  # from a prompt
    assert store.count_before(cid, with_context[0].group_id) == 14
    top = next(m for m in store.messages(cid) if m.content == "q0")
    assert [m.content for m in store.messages_down_to(cid, top.id, hit.group_id, above=5)] == [
        "q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3", "q4", "a4", "q5", "a5", "q6", "a6",
        "q7", "a7", "q8",
    ]  # fmt: skip


def test_down_to_a_message_not_above_the_page_reads_nothing(store: HistoryStore) -> None:
    cid = _chat(store, 5)
    page = store.turn_page(cid, limit=4)
    below = store.messages(cid)[-1]
    assert store.messages_down_to(cid, below.id, page[0].group_id) == []
    other = _chat(store, 2)
    foreign = store.messages(other)[0]
    assert store.messages_down_to(cid, foreign.id, page[0].group_id) == []


def test_down_to_an_older_version_reads_its_group_with_the_shown_version(
    store: HistoryStore,
) -> None:
    cid = _chat(store, 6)
    old = next(m for m in store.messages(cid) if m.content == "a1")
    store.add_message(cid, "assistant", "a1 again", alternative_of=old.id)
    page = store.turn_page(cid, limit=4)
    down = store.messages_down_to(cid, old.id, page[0].group_id)
    assert [m.content for m in down][:3] == ["q1", "a1 again", "q2"]  # the prompt, the shown one
