"""The history part of the window."""
