"""The settings part of the window."""
