"""Export to Markdown and JSON, import back, and refusal of files that are not exports."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from streamdesk.core.events import Usage
from streamdesk.core.store.history import HistoryImportError, HistoryStore, StoredMessage


def _sample(store: HistoryStore) -> int:
    cid = store.create_conversation(
        title="Sorting", provider="openai", model="gpt-x", system_prompt="Be exact.",
        params={"temperature": 0.3, "max_tokens": 512, "api_key": "sk-LEAKME123"},
    )  # fmt: skip
    store.set_pinned(cid, True)
    store.add_message(cid, "user", "How does **merge sort** work?")
    first = store.add_message(
        cid, "assistant", "It splits", status="partial", failure_kind="cut_mid_stream",
        failure_message="connection closed", protocol="sse", model="gpt-x",
        usage=Usage(12, 3), timings={"ttft": 0.2, "total": 1.5, "tokens_per_s": 40.0},
    )  # fmt: skip
    store.add_message(
        cid, "assistant", "It splits the list, sorts halves, merges.", alternative_of=first,
        reasoning="recall the algorithm", cost=0.0012, usage=Usage(12, 9),
    )  # fmt: skip
    store.add_message(cid, "user", "And quicksort?")
    store.add_message(cid, "assistant", "", status="error", failure_kind="rate_limited")
    return cid


def _without_ids(data: dict[str, Any]) -> dict[str, Any]:
    """Compare exports of two copies: ids differ, group structure must not."""
    out: dict[str, Any] = json.loads(json.dumps(data))
    first_of = {m["group_id"]: i for i, m in reversed(list(enumerate(out["messages"])))}
    for m in out["messages"]:
        m["group_id"] = first_of[m["group_id"]]
        del m["id"]
    del out["conversation"]["id"]
    return out


def test_json_round_trip_is_equal(store: HistoryStore) -> None:
    cid = _sample(store)
    exported = store.export_json(cid)
    assert exported["format"] == "streamdesk.conversation" and exported["version"] == 1
    assert len(exported["messages"]) == 5  # both alternatives
    text = json.dumps(exported)
    new_id = store.import_json(json.loads(text))
    assert new_id != cid
    assert _without_ids(store.export_json(new_id)) == _without_ids(exported)
    again = store.messages(new_id)
    assert [m.content for m in again][:2] == ["How does **merge sort** work?", again[1].content]
    assert len(store.alternatives(again[1].id)) == 2


def test_exports_never_contain_secrets(store: HistoryStore) -> None:
    cid = _sample(store)
    text = json.dumps(store.export_json(cid)) + store.export_markdown(cid)
    assert "LEAKME" not in text and "api_key" not in text
    assert store.export_json(cid)["conversation"]["params"] == {
        "temperature": 0.3,
        "max_tokens": 512,
    }


def test_markdown_has_metadata_roles_and_marks_incomplete_replies(store: HistoryStore) -> None:
    cid = _sample(store)
    store.set_active_alternative(store.messages(cid)[1].id - 1)  # show the partial one
    md = store.export_markdown(cid)
    assert md.startswith("# Sorting\n")
    assert "- Model: openai / gpt-x" in md and "temperature=0.3" in md
    assert "---\n\n**System**\n\nBe exact." in md
    assert md.count("---\n\n**User**\n") == 2 and md.count("---\n\n**Assistant**") == 2
    assert "\n## " not in md  # the export's own structure uses no headings
    assert "partial: the reply was cut off (cut_mid_stream: connection closed)" in md
    assert "failed (rate_limited)" in md
    assert "alternative 1 of 2" in md and "merges." not in md  # only the active alternative


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([1, 2], "not a JSON object"),
        ({"format": "other"}, "format"),
        ({"format": "streamdesk.conversation", "version": 99}, "unsupported export version"),
        ({"format": "streamdesk.conversation", "version": 1}, "conversation"),
        (
            {
                "format": "streamdesk.conversation",
                "version": 1,
                "conversation": {},
                "messages": [{}],
            },
            "message 1: `role`",
        ),
        (
            {
                "format": "streamdesk.conversation",
                "version": 1,
                "conversation": {},
                "messages": [{"role": "user", "content": "x", "status": "exploded"}],
            },
            "unknown status",
        ),
    ],
)
def test_import_refuses_bad_data_with_a_reason(store: HistoryStore, data: Any, reason: str) -> None:
    with pytest.raises(HistoryImportError, match=reason):
        store.import_json(data)
    assert store.list_conversations() == []  # nothing half-imported


def test_import_of_a_streaming_row_becomes_partial(store: HistoryStore) -> None:
    data = {
        "format": "streamdesk.conversation",
        "version": 1,
        "conversation": {"title": "t"},
        "messages": [{"role": "assistant", "content": "half", "status": "streaming"}],
    }
    cid = store.import_json(data)
    assert [(m.content, m.status) for m in store.messages(cid)] == [("half", "partial")]


def test_markdown_export_structure_cannot_clash_with_headings_in_replies(
    store: HistoryStore,
) -> None:
    cid = store.create_conversation(title="Headings")
    store.add_message(cid, "user", "Give steps")
    store.add_message(cid, "assistant", "## Step 1\n\nDo it.\n\n## Assistant\n\nA heading too.")
    md = store.export_markdown(cid)
    sections = md.split("\n---\n")
    assert len(sections) == 3  # title + metadata, then one section per message
    assert sections[2].lstrip().startswith("**Assistant**")
    assert "## Step 1" in sections[2] and "## Assistant" in sections[2]
    assert "## " not in sections[1]


ROUNDS = [
    {
        "at": 14,
        "calls": [
            {"id": "c1", "name": "add", "arguments": {"a": 2}, "arguments_text": "", "error": ""}
        ],
        "results": [
            {
                "call_id": "c1",
                "name": "add",
                "server": "calc",
                "content": "```\n# not a heading\n```",
                "outcome": "ok",
                "duration": 0.25,
            }
        ],
    }
]


def test_tool_rounds_round_trip_and_show_between_the_text(store: HistoryStore) -> None:
    cid = store.create_conversation(title="Tools")
    store.add_message(cid, "user", "add please")
    store.add_message(cid, "assistant", "Let me check.\nIt is 2.", tool_rounds=ROUNDS)
    data = store.export_json(cid)
    assert data["messages"][1]["tool_rounds"] == ROUNDS
    again = store.import_json(data)
    assert store.messages(again)[1].tool_rounds == tuple(ROUNDS)
    markdown = store.export_markdown(cid)
    before, after = markdown.index("Let me check."), markdown.index("It is 2.")
    block = markdown[before:after]
    assert "> **Tool call** `add` on calc" in block and "> **Result** (ok, 0.25 s)" in block
    assert "> ````" in block, "a fence longer than the tool's own keeps its output quoted"
    assert "\n# not a heading" not in markdown


def test_import_refuses_a_tool_round_that_is_not_one(store: HistoryStore) -> None:
    cid = store.create_conversation(title="Tools")
    store.add_message(cid, "assistant", "x", tool_rounds=ROUNDS)
    data = store.export_json(cid)
    data["messages"][0]["tool_rounds"] = [{"calls": "nope"}]
    with pytest.raises(HistoryImportError, match="tool round"):
        store.import_json(data)


def test_a_demo_reply_costs_demo_in_markdown(store: HistoryStore) -> None:
    """The offline demo is free: its replies read "cost: demo", as in the window, not the
    list-price figure the engine stores."""
    cid = store.create_conversation(title="Demo", provider="mock", model="gpt-4.1")
    store.add_message(cid, "user", "Hi")
    store.add_message(cid, "assistant", "Hello.", cost=0.000123, usage=Usage(5, 2))
    text = store.export_markdown(cid)
    assert "cost: demo" in text and "$" not in text


def test_a_priced_reply_says_its_cost_as_the_window_and_cli_do(store: HistoryStore) -> None:
    """One rule for money everywhere (core/wording.money): whole cents from a cent up, two
    significant digits under one, ≈ for an estimate."""
    cid = store.create_conversation(title="Priced", provider="openai", model="gpt-x")
    store.add_message(cid, "user", "Hi")
    store.add_message(cid, "assistant", "Hello.", cost=0.0012, usage=Usage(5, 2))
    store.add_message(cid, "user", "Again")
    store.add_message(cid, "assistant", "Hi.", cost=0.0345, usage=Usage(5, 2), cost_estimated=True)
    text = store.export_markdown(cid)
    assert "cost $0.0012*" in text and "cost ≈$0.03*" in text


_NOT_FACTS = ("id", "conversation_id", "group_id")  # new numbers in the imported copy


def _facts(message: StoredMessage) -> dict[str, Any]:
    """Everything the transcript and the status bar show of a message, without its ids."""
    facts = dataclasses.asdict(message)
    for name in _NOT_FACTS:
        del facts[name]
    return facts


def _stopped_and_complete(store: HistoryStore) -> int:
    cid = store.create_conversation(title="Long", provider="openai", model="gpt-x")
    store.add_message(cid, "user", "Write a lot")
    store.add_message(
        cid, "assistant", "A long start", status="stopped", failure_kind="cancelled",
        failure_message="Stopped by the user", protocol="ws", model="gpt-x",
        usage=Usage(1717, 1058), cost=0.0042, cost_estimated=True,
        timings={"ttft": 0.051, "tokens_per_s": 300.0, "total": 3.5},
    )  # fmt: skip
    store.add_message(cid, "user", "And briefly?")
    first = store.add_message(cid, "assistant", "Short.", usage=Usage(20, 2), cost=0.0001)
    store.add_message(
        cid, "assistant", "Brief.", alternative_of=first, protocol="sse", model="gpt-y",
        usage=Usage(20, 3), cost=0.0012, reasoning="keep it short",
        timings={"ttft": 0.2, "tokens_per_s": 41.5, "total": 0.3},
    )  # fmt: skip
    return cid


def _every_message(store: HistoryStore, cid: int) -> list[StoredMessage]:
    return [a for m in store.messages(cid) for a in store.alternatives(m.id)]


@pytest.mark.parametrize("via", ["export file", "delete and undo"])
def test_a_round_trip_keeps_every_fact_of_every_message(store: HistoryStore, via: str) -> None:
    """A stopped reply keeps its token count ("Stopped after 1058 tokens"), a complete one
    its usage, cost, timings, model and protocol, and each alternative its own."""
    cid = _stopped_and_complete(store)
    before = [_facts(m) for m in _every_message(store, cid)]
    if via == "export file":
        again = store.import_json(json.loads(json.dumps(store.export_json(cid))))
    else:
        again = store.restore_conversation(store.delete_conversation(cid))
    after = [_facts(m) for m in _every_message(store, again)]
    assert after == before
    stopped = store.messages(again)[1]
    assert (stopped.status, stopped.prompt_tokens, stopped.completion_tokens) == (
        "stopped", 1717, 1058,
    )  # fmt: skip
    assert stopped.estimated and stopped.cost == 0.0042 and stopped.protocol == "ws"


def test_an_export_without_the_later_fields_imports_with_them_unknown(store: HistoryStore) -> None:
    """A file written before usage, timings, cost, the target and tools were exported: what it
    does not say stays unknown (no token count, no cost), it is not made up."""
    old = {
        "format": "streamdesk.conversation",
        "version": 1,
        "conversation": {"title": "Old", "provider": "openai", "model": "gpt-x"},
        "messages": [
            {"id": 1, "group_id": 1, "role": "user", "content": "Hi"},
            {"id": 2, "group_id": 2, "role": "assistant", "content": "Hel", "status": "stopped"},
        ],
    }
    cid = store.import_json(old)
    conv = store.get_conversation(cid)
    assert (conv.title, conv.base_url, conv.ws_url, conv.protocol) == ("Old", "", "", "sse")
    prompt, reply = store.messages(cid)
    assert (prompt.content, reply.content, reply.status) == ("Hi", "Hel", "stopped")
    assert reply.usage is None and reply.prompt_tokens is None and reply.completion_tokens is None
    assert reply.cost is None and not reply.estimated and reply.timings is None
    assert reply.model is None and reply.protocol is None and reply.failure_kind is None
    assert reply.tool_rounds == () and reply.attachments == () and reply.alt_count == 1
