"""The inspector part of the window."""
