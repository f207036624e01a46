"""Tools through the Model Context Protocol: server configuration, and the hub that starts
servers on demand, lists their tools and runs calls with a timeout. Qt-free."""

from streamdesk.core.tools.config import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_START_TIMEOUT,
    McpServerConfig,
    MissingSecret,
    expand,
    keychain_lookup,
    parse_mcp_json,
    parse_server,
    parse_servers,
    server_table,
)
from streamdesk.core.tools.hub import (
    CallOutcome,
    Catalog,
    ServerConnection,
    ServerTool,
    ToolHub,
    ToolServerError,
    ToolTimeout,
    offered_names,
)

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_START_TIMEOUT",
    "CallOutcome",
    "Catalog",
    "McpServerConfig",
    "MissingSecret",
    "ServerConnection",
    "ServerTool",
    "ToolHub",
    "ToolServerError",
    "ToolTimeout",
    "expand",
    "keychain_lookup",
    "offered_names",
    "parse_mcp_json",
    "parse_server",
    "parse_servers",
    "server_table",
]
