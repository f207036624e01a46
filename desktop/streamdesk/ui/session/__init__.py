"""The session part of the window."""
