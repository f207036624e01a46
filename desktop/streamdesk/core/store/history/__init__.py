"""Conversation history in SQLite: conversations, messages with alternatives, search, export.

`HistoryStore` (store.py) is one open database; `ReplyWriter` (writer.py) persists a streaming
reply into it in batches. `HistoryDatabase` (database.py) is the file behind the store, kept
usable through damage (salvage.py saves what a damaged file still holds) and a full disk. The
records the store hands out and its errors are in models.py, the schema and its migrations in
schema.py, the export and import formats in export.py.
"""

from __future__ import annotations

from streamdesk.core.store.history.database import (
    DISK_FULL_NOTICE,
    HistoryBusy,
    HistoryDiskFull,
    HistoryRepaired,
    IntegrityReport,
)
from streamdesk.core.store.history.export import status_note
from streamdesk.core.store.history.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Conversation,
    ConversationNotFound,
    ConversationSnapshot,
    ConversationSummary,
    HistoryError,
    HistoryImportError,
    MessageNotFound,
    SearchHit,
    StoredMessage,
    plain_snippet,
)
from streamdesk.core.store.history.store import HistoryStore, default_path, last_used_provider
from streamdesk.core.store.history.writer import ReplyWriter

__all__ = [
    "DISK_FULL_NOTICE",
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "Conversation",
    "ConversationNotFound",
    "ConversationSnapshot",
    "ConversationSummary",
    "HistoryBusy",
    "HistoryDiskFull",
    "HistoryError",
    "HistoryImportError",
    "HistoryRepaired",
    "HistoryStore",
    "IntegrityReport",
    "MessageNotFound",
    "ReplyWriter",
    "SearchHit",
    "StoredMessage",
    "default_path",
    "last_used_provider",
    "plain_snippet",
    "status_note",
]
