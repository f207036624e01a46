"""The window part of the window."""
