"""`streamdesk compare`: one prompt to several targets at once; the table's tokens and cost are
what the history stores, a failed target is said and sets the exit code, bad targets are usage
errors."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from streamdesk.cli import main
from streamdesk.cli.compare import EXIT_SOME_FAILED, EXIT_USAGE, TargetSpec, parse_target
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.wording import money
from streamdesk.mock import MockServer

PROMPT = "Compare these, please"
TARGETS = ("priced:gpt-4.1@sse", "priced:deepseek-v3.2@ws", "priced/responses:claude-sonnet-4.5")


@pytest.fixture
def priced(streamdesk_home: Path, mock: MockServer) -> None:
    """A user profile on the instant mock with prices, so every row has a cost."""
    path = streamdesk_home / "config" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""
[[providers]]
id = "priced"
name = "Priced loopback"
base_url = "{mock.sse_base_url}"
ws_url = "{mock.ws_url}"
needs_key = false
default_model = "gpt-4.1"
models = [
  {{ id = "gpt-4.1", input_price = 2.0, output_price = 8.0 }},
  {{ id = "deepseek-v3.2", input_price = 0.28, output_price = 0.42 }},
  {{ id = "claude-sonnet-4.5", input_price = 3.0, output_price = 15.0 }},
]
""",
        encoding="utf-8",
    )


def compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["compare", *args])
    out, err = capsys.readouterr()
    return code, out, err


def targets(*specs: str) -> list[str]:
    return [arg for spec in specs for arg in ("--target", spec)]


def test_three_targets_print_three_rows_whose_tokens_and_cost_the_history_stores(
    priced: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = compare(capsys, PROMPT, "--json", *targets(*TARGETS))
    assert code == 0, err
    result = json.loads(out)
    rows = result["rows"]
    assert [r["target"] for r in rows] == [*TARGETS[:2], TARGETS[2] + "@sse"]
    assert [(r["model"], r["protocol"], r["api"]) for r in rows] == [
        ("gpt-4.1", "sse", "chat"),
        ("deepseek-v3.2", "ws", "chat"),
        ("claude-sonnet-4.5", "sse", "responses"),
    ]
    assert all(r["status"] == "complete" and r["completion_tokens"] > 0 for r in rows)
    assert len({r["conversation_id"] for r in rows}) == 3, "one conversation per target"
    with HistoryStore() as store:
        for row in rows:
            stored = store.get_conversation(row["conversation_id"])
            assert (stored.provider, stored.model, stored.protocol) == (
                "priced",
                row["model"],
                row["protocol"],
            )
            user, reply = store.messages(row["conversation_id"])
            assert user.content == PROMPT and reply.id == row["message_id"]
            assert reply.content == row["text"]
            assert reply.prompt_tokens == row["prompt_tokens"]
            assert reply.completion_tokens == row["completion_tokens"]
            assert reply.cost == row["cost"] and reply.cost is not None and reply.cost > 0
            assert reply.estimated is row["cost_estimated"] is False
    costs = {r["target"]: r["cost"] for r in rows}
    assert result["summary"]["cheapest"] == min(costs, key=lambda t: costs[t])
    assert result["summary"]["completed"] == 3 and result["summary"]["failed"] == 0
    # the table prints the cost the way `history show` does
    code, out, err = compare(capsys, PROMPT, *targets(*TARGETS))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["TARGET", "STATUS", "TTFT"]
    table_rows = lines[1:4]
    ids = [int(i) for i in re.findall(r"\d+", lines[5].split(":")[0])]
    assert len(ids) == 3
    for line, cid in zip(table_rows, ids, strict=True):
        code = main(["history", "show", str(cid)])
        shown, _ = capsys.readouterr()
        (stored_cost,) = re.findall(r"\(cost (\$[0-9.]+)\)", shown)
        assert stored_cost in line.split()
        with HistoryStore() as store:
            reply = store.messages(cid)[-1]
        assert money(reply.cost) == stored_cost
        cells = line.split()
        assert cells[4:6] == [str(reply.prompt_tokens), str(reply.completion_tokens)], line
    assert lines[4].startswith("3 of 3 completed; first token soonest: ")


def test_a_target_that_fails_is_said_and_the_others_still_complete(
    priced: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = compare(capsys, PROMPT, *targets("priced:gpt-4.1", "openai:gpt-4.1"))
    assert code == EXIT_SOME_FAILED
    first, second = out.splitlines()[1:3]
    assert "complete" in first
    assert "error: authentication" in second
    (line,) = [s for s in err.splitlines() if s.startswith("streamdesk: openai:gpt-4.1@sse:")]
    assert "No API key is set for OpenAI" in line and "streamdesk keys set openai" in line
    assert "1 of 2 completed" in out


def test_a_bare_base_url_target_needs_no_key_and_has_no_price(
    mock: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{mock.sse_base_url}|gpt-4.1"
    code, out, err = compare(capsys, PROMPT, "--json", "--no-save", *targets(url, url + "@ws"))
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [(r["provider"], r["protocol"], r["cost"]) for r in rows] == [
        ("custom", "sse", None),
        ("custom", "ws", None),
    ]
    assert all(r["conversation_id"] is None for r in rows), "--no-save stores nothing"
    with HistoryStore() as store:
        assert store.list_conversations() == []


def test_show_prints_every_reply_in_full(priced: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = compare(capsys, PROMPT, "--show", "--no-save", *targets(*TARGETS[:2]))
    assert code == 0
    assert "=== priced:gpt-4.1@sse ===" in out and "=== priced:deepseek-v3.2@ws ===" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (targets("priced:gpt-4.1"), "at least two"),
        (targets("priced:gpt-4.1", "nobody:gpt-4.1"), "unknown provider 'nobody'"),
        (targets("priced:gpt-4.1", "priced/anthropic:x@ws"), "streams over SSE only"),
    ],
)
def test_bad_targets_are_usage_errors(
    priced: None, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    code, out, err = compare(capsys, PROMPT, *args)
    assert code == EXIT_USAGE
    assert said in err and out == ""


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("mock:gpt-4.1", TargetSpec("mock", "", "", "gpt-4.1", "sse")),
        ("mock:gpt-4.1@ws", TargetSpec("mock", "", "", "gpt-4.1", "ws")),
        ("openai", TargetSpec("openai", "", "", "", "sse")),
        ("ollama:llama3.2:3b", TargetSpec("ollama", "", "", "llama3.2:3b", "sse")),
        ("mock/anthropic:claude@sse", TargetSpec("mock", "", "anthropic", "claude", "sse")),
        ("mock:me@example", TargetSpec("mock", "", "", "me@example", "sse")),
        ("http://h:1/v1|m@ws", TargetSpec("", "http://h:1/v1", "", "m", "ws")),
    ],
)
def test_target_specs(text: str, spec: TargetSpec) -> None:
    assert parse_target(text) == spec


@pytest.mark.parametrize("text", ["", ":gpt-4.1", "mock/soap:gpt", "ftp://h|m", "http://h|"])
def test_bad_target_specs_say_the_form(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_target(text)


def test_two_targets_with_the_same_price_and_reply_tie_for_cheapest(
    priced: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = compare(
        capsys, PROMPT, "--no-save", *targets("priced:gpt-4.1@sse", "priced:gpt-4.1@ws")
    )
    assert code == 0, out
    (line,) = [line for line in out.splitlines() if " completed; " in line]
    cheapest = line.split("cheapest: ", 1)[1]
    assert cheapest.startswith("tie, priced:gpt-4.1@sse and priced:gpt-4.1@ws ("), line


def test_the_offline_demo_costs_demo_and_is_never_the_cheapest(
    priced: None, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = targets("mock:gpt-4.1", "priced:gpt-4.1")
    code, out, err = compare(capsys, PROMPT, "--no-save", "--json", *specs)
    assert code == 0, err
    demo, paid = json.loads(out)["rows"]
    assert demo["demo"] is True and paid["demo"] is False
    assert json.loads(out)["summary"]["cheapest"] == "priced:gpt-4.1@sse"
    code, out, err = compare(capsys, PROMPT, "--no-save", *specs)
    assert code == 0, err
    demo_row, paid_row = out.splitlines()[1:3]
    assert "demo" in demo_row.split() and "$" not in demo_row
    assert money(paid["cost"]) in paid_row.split()
    (line,) = [line for line in out.splitlines() if " completed; " in line]
    assert line.endswith(f"cheapest: priced:gpt-4.1@sse ({money(paid['cost'])})"), line


def test_a_mock_scenario_goes_in_the_request_but_the_stored_model_is_the_model(
    streamdesk_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = compare(capsys, PROMPT, "--json", *targets("mock:gpt-4.1#cut", "mock"))
    assert code == EXIT_SOME_FAILED, err
    cut, whole = json.loads(out)["rows"]
    assert cut["failure"]["kind"] == "cut_mid_stream" and whole["failure"] is None
    with HistoryStore() as store:
        cid = store.get_message(cut["message_id"]).conversation_id
        conversation = store.get_conversation(cid)
        reply = store.messages(cid)[-1]
    assert conversation.model == reply.model == "gpt-4.1"  # `ask --continue` will not cut again
    assert f"streamdesk ask --continue {cid}" in cut["failure"]["message"]
