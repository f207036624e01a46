"""`ask --mcp`: the tool loop from the command line against the mock and the real MCP test
server (tests/tools_server.py), with --allow-tools, --json, the non-terminal case, bad servers,
`--continue` of a conversation with tool calls, the terminal prompt, and `streamdesk mcp`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamdesk.cli.ask_tools import TerminalApproval
from streamdesk.cli.sinks import EXIT_NOT_APPROVED, EXIT_TOOL_SERVER
from streamdesk.core.chat import Approval, ToolRequest
from streamdesk.core.events import ToolCall
from streamdesk.core.store.history import HistoryStore
from streamdesk.mock import MockServer

SERVER = str(Path(__file__).resolve().parents[1] / "tools_server.py")
ADD = "Use the add tool to add 2 and 3"


@pytest.fixture
def servers_file(tmp_path: Path) -> Path:
    path = tmp_path / "servers.json"
    entry = {"command": sys.executable, "args": [SERVER]}
    path.write_text(json.dumps({"mcpServers": {"notes": entry}}), encoding="utf-8")
    return path


def streamdesk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"},
        timeout=90,
        check=False,
    )


def ask(mock: MockServer, *args: str) -> subprocess.CompletedProcess[str]:
    return streamdesk("ask", "--base-url", mock.sse_base_url, "--model", "gpt-4.1", *args)


def test_allow_tools_runs_the_call_and_prints_the_answer(
    mock: MockServer, servers_file: Path
) -> None:
    done = ask(mock, ADD, "--mcp", str(servers_file), "--allow-tools")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("The add tool returned: 5.\n")
    assert 'streamdesk: tool call add on notes {"a": 2, "b": 3}' in done.stderr
    assert "streamdesk: tool result add: ok in" in done.stderr and ": 5\n" in done.stderr
    with HistoryStore() as store:
        (summary,) = store.list_conversations()
        reply = store.messages(summary.id)[1]
    assert reply.content.endswith("The add tool returned: 5.")
    assert reply.tool_rounds[0]["results"][0]["content"] == "5"


@pytest.mark.parametrize("protocol", ["sse", "ws"])
def test_json_prints_tool_call_and_tool_result_records(
    mock: MockServer, servers_file: Path, protocol: str
) -> None:
    done = ask(
        mock, ADD, "--mcp", str(servers_file), "--allow-tools", "--json", "--protocol", protocol
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    call = next(r for r in records if r["type"] == "tool_call")
    result = next(r for r in records if r["type"] == "tool_result")
    assert (call["name"], call["server"], call["arguments"]) == ("add", "notes", {"a": 2, "b": 3})
    assert (result["id"], result["outcome"], result["content"]) == (call["id"], "ok", "5")
    assert records.index(call) < records.index(result) < len(records) - 1
    assert records[-1]["type"] == "done" and records[-1]["finish_reason"] == "stop"


def test_without_a_terminal_or_allow_tools_a_tool_call_ends_the_reply(
    mock: MockServer, servers_file: Path
) -> None:
    done = ask(mock, ADD, "--mcp", str(servers_file), "--json")
    assert done.returncode == EXIT_NOT_APPROVED == 22
    records = [json.loads(line) for line in done.stdout.splitlines()]
    result = next(r for r in records if r["type"] == "tool_result")
    assert result["outcome"] == "denied"
    assert records[-1]["tool_stop"] == "not_approved"
    assert "nobody could approve it" in done.stderr and "--allow-tools" in done.stderr


def test_an_unknown_server_name_is_a_usage_error(mock: MockServer) -> None:
    done = ask(mock, ADD, "--mcp", "nosuch", "--allow-tools")
    assert done.returncode == 2
    assert "--mcp nosuch: no MCP server of that name is configured" in done.stderr


def test_a_server_that_cannot_start_ends_before_anything_is_sent(
    mock: MockServer, tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    broken = {"command": sys.executable, "args": [SERVER, "--exit-at-start"]}
    path.write_text(json.dumps({"mcpServers": {"broken": broken}}), encoding="utf-8")
    before = len(mock.requests)
    done = ask(mock, ADD, "--mcp", str(path), "--allow-tools")
    assert done.returncode == EXIT_TOOL_SERVER == 24
    assert 'The tool server "broken" could not start' in done.stderr
    assert "missing configuration" in done.stderr and "mcp-broken.log" in done.stderr
    assert len(mock.requests) == before


def test_continuing_a_conversation_sends_its_calls_and_results_back(
    mock: MockServer, servers_file: Path
) -> None:
    first = ask(mock, ADD, "--mcp", str(servers_file), "--allow-tools")
    assert first.returncode == 0, first.stderr
    with HistoryStore() as store:
        (summary,) = store.list_conversations()
    again = ask(mock, "Thanks, and now?", "--continue", str(summary.id))
    assert again.returncode == 0, again.stderr
    sent = json.loads(mock.requests[-1].body)["messages"]
    roles = [m["role"] for m in sent]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "add"
    assert sent[2] == {
        "role": "tool",
        "tool_call_id": sent[1]["tool_calls"][0]["id"],
        "content": "5",
    }


def test_continue_offers_the_conversations_configured_servers_again(
    mock: MockServer, servers_file: Path
) -> None:
    assert streamdesk("mcp", "import", str(servers_file)).returncode == 0
    first = ask(mock, ADD, "--mcp", "notes", "--allow-tools")
    assert first.returncode == 0, first.stderr
    with HistoryStore() as store:
        (summary,) = store.list_conversations()
        assert store.get_conversation(summary.id).params["mcp_servers"] == ["notes"]
    cid = str(summary.id)
    again = ask(mock, "Use the add tool to add 4 and 5", "--continue", cid, "--allow-tools")
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith("The add tool returned: 9.\n")
    assert "add" in {t["function"]["name"] for t in json.loads(mock.requests[-1].body)["tools"]}
    unasked = ask(mock, "Use the add tool to add 1 and 1", "--continue", cid, "--json")
    assert unasked.returncode == EXIT_NOT_APPROVED, "no terminal, no --allow-tools: not run"


def test_continue_names_a_stored_server_that_is_no_longer_configured(mock: MockServer) -> None:
    with HistoryStore() as store:
        cid = store.create_conversation(
            provider="custom",
            model="gpt-4.1",
            params={"mcp_servers": ["gone"]},
            base_url=mock.sse_base_url,
            protocol="sse",
        )
        store.add_message(cid, "user", "Hello")
        store.add_message(cid, "assistant", "Hi.", status="complete")
    done = ask(mock, "Use the add tool to add 2 and 3", "--continue", str(cid))
    assert done.returncode == 0, done.stderr
    assert f"conversation {cid} used the MCP server 'gone', which is no longer configured" in (
        done.stderr
    )
    assert "tools" not in json.loads(mock.requests[-1].body)


def test_mcp_import_list_and_tools(servers_file: Path) -> None:
    imported = streamdesk("mcp", "import", str(servers_file))
    assert imported.returncode == 0, imported.stderr
    assert "imported notes  stdio" in imported.stdout
    listed = streamdesk("mcp", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("notes  stdio")
    assert "mcp-notes.log" in listed.stdout
    tools = streamdesk("mcp", "tools", "notes", "--json")
    assert tools.returncode == 0, tools.stderr
    names = {json.loads(line)["name"] for line in tools.stdout.splitlines()}
    assert {"add", "read_note", "slow"} <= names
    again = streamdesk("mcp", "import", str(servers_file))
    assert again.returncode == 1 and "already configured: notes" in again.stderr


def test_the_terminal_prompt_shows_the_call_and_reads_the_answer(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    err = tmp_path / "err.txt"
    call = ToolCall(0, "c1", "add", {"a": 2, "b": "\x1b[31mred"})
    with os.fdopen(read_fd) as stdin, err.open("w") as stderr:
        approval = TerminalApproval(stdin, stderr)

        async def answer(text: str) -> Approval:
            os.write(write_fd, text.encode())
            return await approval.ask(ToolRequest(call, "notes", "add"))

        answers = [asyncio.run(answer(text)) for text in ("y\n", "a\n", "\n", "nope\n")]
    os.close(write_fd)
    assert answers == [Approval.ONCE, Approval.CHAT, Approval.DENY, Approval.DENY]
    shown = err.read_text()
    assert "the model wants to run add on notes with" in shown
    assert '{"a": 2, "b": "\\u001b[31mred"}' in shown and "\x1b" not in shown


def test_mcp_import_moves_written_out_secrets_to_the_keychain(tmp_path: Path) -> None:
    from streamdesk.core.store.secrets import KeyStore
    from streamdesk.core.store.settings import settings_path

    path = tmp_path / "remote.json"
    remote = {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer sk-xyz9"}}
    path.write_text(json.dumps({"mcpServers": {"web": remote}}), encoding="utf-8")
    done = streamdesk("mcp", "import", str(path))
    if done.returncode == 1 and "keychain cannot keep them" in done.stderr:
        pytest.skip("no keychain here (run under tests/with-keyring.sh)")
    assert done.returncode == 0, done.stderr
    text = settings_path().read_text(encoding="utf-8")
    assert "sk-xyz9" not in text and "Bearer ${keychain:mcp.web.Authorization}" in text
    assert KeyStore().get("mcp.web.Authorization", environment=False) == "sk-xyz9"
