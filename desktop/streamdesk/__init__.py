"""Streamdesk: a desktop chat client for LLMs that streams over SSE and WebSocket."""

__version__ = "0.1.0"
