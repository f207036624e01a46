"""The transcript part of the window."""
