"""Persistent state: history (SQLite), secrets (keyring), settings."""
