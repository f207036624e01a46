"""MCP server configuration: the shapes other clients write, secrets kept out of files, and
tool names made unique and acceptable to every API."""

from __future__ import annotations

import pytest

from streamdesk.core.errors import KeychainUnavailable, SettingsError
from streamdesk.core.tools import (
    McpServerConfig,
    MissingSecret,
    ServerTool,
    expand,
    offered_names,
    parse_mcp_json,
    server_table,
)
from streamdesk.core.tools.config import keychain_id, literal_secrets, secrets_to_keychain


def test_the_mcp_servers_shape_of_other_clients_is_read() -> None:
    servers = parse_mcp_json(
        {
            "mcpServers": {
                "files": {"command": "npx", "args": ["-y", "server-fs", "/tmp"], "env": {"A": "1"}},
                "remote": {"type": "streamableHttp", "baseUrl": "https://mcp.example.com/mcp"},
                "vscode": {"type": "http", "url": "https://x.example/mcp", "headers": {"X": "y"}},
                "off": {"command": "x", "disabled": True, "timeout": 5},
            }
        }
    )
    by_name = {s.name: s for s in servers}
    assert by_name["files"].transport == "stdio" and by_name["files"].args == (
        "-y",
        "server-fs",
        "/tmp",
    )
    assert by_name["remote"].url == "https://mcp.example.com/mcp"
    assert by_name["vscode"].headers == {"X": "y"} and by_name["vscode"].transport == "http"
    assert by_name["off"].disabled and by_name["off"].call_timeout == 5


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        ({"command": "x", "url": "https://a"}, "mcpServers.s", "either `command`"),
        ({}, "mcpServers.s", "either `command`"),
        ({"type": "sse", "url": "https://a"}, "mcpServers.s.type", "old HTTP+SSE"),
        ({"url": "ftp://a"}, "mcpServers.s.url", "scheme"),
        ({"command": "x", "args": "a b"}, "mcpServers.s.args", "list of strings"),
        ({"command": "x", "timeout": 0}, "mcpServers.s.timeout", "above 0"),
        ({"command": "x", "env": {"A": 1}}, "mcpServers.s.env", "table of strings"),
    ],
)
def test_a_bad_server_names_the_field(entry: dict[str, object], field: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_mcp_json({"mcpServers": {"s": entry}})
    assert caught.value.field == field and says in str(caught.value)


def test_references_are_expanded_only_when_used() -> None:
    environ = {"WEB_TOKEN": "t0k"}
    assert expand("Bearer ${env:WEB_TOKEN}", None, environ) == "Bearer t0k"
    assert expand("${keychain:mcp.web}", {"mcp.web": "s3"}.get, environ) == "s3"
    with pytest.raises(MissingSecret, match="environment variable NOPE"):
        expand("${env:NOPE}", None, environ)
    with pytest.raises(MissingSecret, match="streamdesk keys set gone"):
        expand("${keychain:gone}", lambda entry: None, environ)


def test_secrets_written_out_are_found_and_references_are_not() -> None:
    server = McpServerConfig(
        "web",
        url="https://x.example/mcp",
        headers={"Authorization": "Bearer sk-123", "X-Api-Key": "${keychain:k}", "Accept": "*/*"},
    )
    assert literal_secrets(server) == [("headers", "Authorization")]
    stdio = McpServerConfig("gh", "npx", env={"GITHUB_TOKEN": "ghp_x", "LANG": "C"})
    assert literal_secrets(stdio) == [("env", "GITHUB_TOKEN")]
    assert keychain_id("gh", "GITHUB TOKEN") == "mcp.gh.GITHUB_TOKEN"


class Keys:
    """A keychain in a dict; `broken` refuses every write, as a machine without one does."""

    def __init__(self, *, broken: bool = False) -> None:
        self.broken = broken
        self.saved: dict[str, str] = {}
        self.held: dict[str, str] = {}

    def set(self, provider_id: str, key: str) -> None:
        if self.broken:
            raise KeychainUnavailable("no keychain")
        self.saved[provider_id] = key

    def hold_in_memory(self, provider_id: str, key: str) -> None:
        self.held[provider_id] = key


def test_written_out_secrets_move_to_the_keychain_and_the_scheme_stays() -> None:
    server = McpServerConfig(
        "web",
        url="https://x.example/mcp",
        headers={"Authorization": "Bearer sk-123", "X-Api-Key": "${keychain:k}", "Accept": "*/*"},
    )
    keys = Keys()
    kept = secrets_to_keychain(server, keys)
    assert kept.moved == ("Authorization",) and kept.in_memory == ()
    assert kept.server.headers == {
        "Authorization": "Bearer ${keychain:mcp.web.Authorization}",
        "X-Api-Key": "${keychain:k}",
        "Accept": "*/*",
    }
    assert keys.saved == {"mcp.web.Authorization": "sk-123"}
    plain = McpServerConfig("gh", "npx", env={"LANG": "C"})
    assert secrets_to_keychain(plain, keys).server is plain


def test_without_a_keychain_secrets_are_held_in_memory_or_refused() -> None:
    server = McpServerConfig("gh", "npx", env={"GITHUB_TOKEN": "ghp_x"})
    keys = Keys(broken=True)
    with pytest.raises(KeychainUnavailable):
        secrets_to_keychain(server, keys)
    kept = secrets_to_keychain(server, keys, memory_fallback=True)
    assert kept.in_memory == ("GITHUB_TOKEN",)
    assert kept.server.env == {"GITHUB_TOKEN": "${keychain:mcp.gh.GITHUB_TOKEN}"}
    assert keys.held == {"mcp.gh.GITHUB_TOKEN": "ghp_x"}


def test_a_server_table_holds_only_what_differs_from_the_defaults() -> None:
    assert server_table(McpServerConfig("a", "uvx", ("tool",))) == {
        "command": "uvx",
        "args": ["tool"],
    }
    table = server_table(McpServerConfig("b", url="https://h/mcp", call_timeout=5, disabled=True))
    assert table == {"url": "https://h/mcp", "timeout": 5, "disabled": True}


def test_tool_names_are_unique_across_servers_and_valid_for_every_api() -> None:
    tools = [
        ServerTool("files", "read"),
        ServerTool("notes", "read"),
        ServerTool("notes", "list.all/items"),
        ServerTool("web", "x" * 80),
    ]
    names = offered_names(tools)
    assert list(names) == ["files__read", "notes__read", "list_all_items", "x" * 64]
    assert (
        names["notes__read"].server == "notes" and names["list_all_items"].name == "list.all/items"
    )


def test_the_keychain_entries_a_server_names_are_found() -> None:
    from streamdesk.core.tools.config import keychain_references

    server = McpServerConfig(
        "s", url="https://h/mcp", headers={"A": "Bearer ${keychain:mcp.s.A}", "B": "${env:B}"}
    )
    assert keychain_references(server) == ["mcp.s.A"]
