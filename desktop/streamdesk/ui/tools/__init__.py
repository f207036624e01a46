"""Tools in the window: MCP servers per conversation, approval of each call, tool-call blocks
in the transcript, and the MCP servers settings page."""
