"""The hub against real MCP servers (tests/tools_server.py, written with the SDK's server API)
over stdio and streamable HTTP: tools listed, calls run and bounded, a server that cannot
start, hangs or crashes named with its log, and nothing left running after closing."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from streamdesk.core.tools import McpServerConfig, ToolHub, ToolServerError, ToolTimeout

SERVER = str(Path(__file__).resolve().parents[2] / "tools_server.py")


def stdio(name: str, *flags: str, **options: float) -> McpServerConfig:
    return McpServerConfig(name, sys.executable, (SERVER, *flags), **options)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_stdio_server_lists_its_tools_and_runs_them(tmp_path: Path) -> None:
    hub = ToolHub([stdio("notes")], log_dir=tmp_path)
    try:
        tools = {t.name: t for t in await hub.tools("notes")}
        assert {"add", "read_note", "slow", "fail", "crash"} <= set(tools)
        assert tools["add"].description == "Add two integers."
        assert tools["add"].input_schema["required"] == ["a", "b"]
        assert (await hub.call("notes", "read_note", {"name": "groceries"})).content == (
            "eggs, flour, 2 lemons"
        )
        failed = await hub.call("notes", "read_note", {"name": "nope"})
        assert failed.is_error and "no note called 'nope'" in failed.content
        with pytest.raises(ToolTimeout, match=r'slow on "notes" did not answer within 0\.2 s'):
            await hub.call("notes", "slow", {"seconds": 30}, time_limit=0.2)
        assert (await hub.call("notes", "add", {"a": 1, "b": 2})).content == "3"
        pid = int((await hub.call("notes", "pid", {})).content)
    finally:
        await hub.aclose()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "starting" in (tmp_path / "mcp-notes.log").read_text()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("config", "says"),
    [
        (McpServerConfig("gone", "/nonexistent/streamdesk-tool"), "could not start ([Errno 2]"),
        (stdio("dies", "--exit-at-start"), "cannot start: missing configuration"),
        (stdio("hangs", "--silent-start", start_timeout=1), "did not start within 1 s"),
        (
            McpServerConfig("secret", sys.executable, (SERVER,), env={"T": "${env:NOT_SET_X}"}),
            "the environment variable NOT_SET_X is not set",
        ),
        (McpServerConfig("typo", url="htps://tools.example/mcp"), "its URL 'htps://"),
    ],
    ids=["missing-command", "exits", "hangs", "missing-secret", "url-kept-as-written"],
)
async def test_a_server_that_cannot_start_is_a_clear_error(
    tmp_path: Path, config: McpServerConfig, says: str
) -> None:
    hub = ToolHub([config, stdio("fine")], log_dir=tmp_path)
    try:
        catalog = await hub.catalog([config.name, "fine"])
        assert "add" in catalog.tools, "the other server's tools are offered"
        message = catalog.unavailable[config.name]
        assert message.startswith(f'The tool server "{config.name}" ') and says in message
        with pytest.raises(ToolServerError, match=config.name):
            await hub.call(config.name, "add", {"a": 1, "b": 1})
    finally:
        await hub.aclose()


@pytest.mark.asyncio
async def test_a_url_kept_as_written_suggests_the_url_and_offers_no_log(tmp_path: Path) -> None:
    """Nothing ran, so no log was written; an older run's log (another URL) is not its log."""
    (tmp_path / "mcp-typo.log").write_text("\n--- start\nold run: refused\n", encoding="utf-8")
    hub = ToolHub([McpServerConfig("typo", url="htps://tools.example/mcp")], log_dir=tmp_path)
    with pytest.raises(ToolServerError) as caught:
        await hub.tools("typo")
    assert caught.value.log_path is None
    assert str(caught.value) == (
        "The tool server \"typo\" cannot start: its URL 'htps://tools.example/mcp' is not valid"
        " (the scheme must be http or https, not htps; use https://tools.example/mcp instead);"
        " put it right in Settings ▸ MCP servers."
    )


@pytest.mark.asyncio
async def test_an_unknown_server_is_named_with_the_configured_ones(tmp_path: Path) -> None:
    hub = ToolHub([stdio("notes")], log_dir=tmp_path)
    with pytest.raises(ToolServerError, match=r'"other" is not configured \(configured: notes\)'):
        await hub.tools("other")


@pytest.mark.asyncio
async def test_a_crash_mid_call_names_the_server_and_the_next_call_starts_it_again(
    tmp_path: Path,
) -> None:
    hub = ToolHub([stdio("notes")], log_dir=tmp_path)
    try:
        with pytest.raises(ToolServerError) as caught:
            await hub.call("notes", "crash", {})
        text = str(caught.value)
        assert "stopped while running crash" in text and "crashing on purpose" in text
        assert str(tmp_path / "mcp-notes.log") in text
        assert (await hub.call("notes", "add", {"a": 2, "b": 2})).content == "4"
    finally:
        await hub.aclose()


@pytest_asyncio.fixture
async def http_server() -> AsyncIterator[str]:
    """The test server over streamable HTTP on a free loopback port; its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, SERVER, "--http", str(port), stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            while b"Uvicorn running" not in await process.stderr.readline():
                pass
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.asyncio
async def test_a_streamable_http_server_lists_and_runs_tools(
    tmp_path: Path, http_server: str
) -> None:
    config = McpServerConfig(
        "remote", url=http_server, headers={"Authorization": "Bearer ${env:TOOLS_TOKEN}"}
    )
    hub = ToolHub([config], log_dir=tmp_path, environ={"TOOLS_TOKEN": "t0k"})
    try:
        assert "add" in {t.name for t in await hub.tools("remote")}
        assert (await hub.call("remote", "add", {"a": 20, "b": 22})).content == "42"
        with pytest.raises(ToolTimeout):
            await hub.call("remote", "slow", {"seconds": 30}, time_limit=0.3)
    finally:
        await hub.aclose()


@pytest.mark.asyncio
async def test_an_http_server_that_is_not_there_is_a_clear_error(
    tmp_path: Path, dead_port: int
) -> None:
    config = McpServerConfig("away", url=f"http://127.0.0.1:{dead_port}/mcp", start_timeout=10)
    hub = ToolHub([config], log_dir=tmp_path)
    try:
        with pytest.raises(ToolServerError, match='"away" could not start'):
            await hub.tools("away")
    finally:
        await hub.aclose()
