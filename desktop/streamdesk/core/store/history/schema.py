"""The history database's schema, its forward migrations and how a connection is opened.

`PRAGMA user_version` is the schema version: version N means the first N steps of `MIGRATIONS`
have run. Steps are only ever appended, never edited, so any older file can be brought forward.
Each step is a tuple of statements run inside one `BEGIN IMMEDIATE` transaction (Python's
`executescript` would commit first, so a crash mid-migration could leave half a step).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

BUSY_TIMEOUT = 5.0  # seconds a write waits for another connection's transaction
STATUSES = ("complete", "partial", "stopped", "error", "streaming")

_V1 = (
    """CREATE TABLE conversations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        provider TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        system_prompt TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        pinned INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX conversations_order ON conversations (pinned DESC, updated DESC)",
    # group_id: the id of the first message of its alternative group (a regenerated reply joins
    # the group of the reply it replaces); the group's position in the transcript is group_id.
    # writer_pid: the process streaming into a 'streaming' row, so opening the store elsewhere
    # only recovers rows whose writer is gone (the window keeps streaming while the CLI runs).
    f"""CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        group_id INTEGER NOT NULL DEFAULT 0,
        alt_index INTEGER NOT NULL DEFAULT 0,
        active INTEGER NOT NULL DEFAULT 1,
        role TEXT NOT NULL,
        content TEXT NOT NULL DEFAULT '',
        reasoning TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'complete' CHECK (status IN {STATUSES!r}),
        failure_kind TEXT,
        failure_message TEXT,
        protocol TEXT,
        model TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        timings TEXT,
        cost REAL,
        created REAL NOT NULL,
        writer_pid INTEGER
    )""",
    "CREATE INDEX messages_page ON messages (conversation_id, active, group_id, alt_index)",
    "CREATE INDEX messages_group ON messages (group_id, alt_index)",
    "CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming'",
)

# v2: full-text search. External content (the text is stored once, in `messages`). Rows are
# indexed only once they stop streaming, so a flush during a reply costs one small UPDATE and no
# FTS work; the indexed set is exactly `status != 'streaming'`, which keeps the index consistent.
_V2 = (
    """CREATE VIRTUAL TABLE messages_fts USING fts5 (
        content, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN new.status != 'streaming' BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
        WHEN old.status != 'streaming' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
    END""",
    # One trigger, delete before insert: two triggers would fire in an unspecified order.
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages
        WHEN old.status != 'streaming' OR new.status != 'streaming' BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
            SELECT 'delete', old.id, old.content WHERE old.status != 'streaming';
        INSERT INTO messages_fts (rowid, content)
            SELECT new.id, new.content WHERE new.status != 'streaming';
    END""",
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
)

# v3: streamed text goes to small chunk rows while a reply streams, so a flush is one INSERT of
# the batch whatever the reply's length (`content = content || ?` would rewrite the whole reply on
# every flush). Chunks are folded into `messages` when the reply ends.
_V3 = (
    """CREATE TABLE message_chunks (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        content TEXT NOT NULL DEFAULT '',
        reasoning TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX message_chunks_message ON message_chunks (message_id, id)",
)

# v4: edit-and-resend keeps what it replaces. Editing a prompt adds the new text as an alternative
# of the old prompt; the messages that followed the old one (its reply, later turns) are hidden
# (active = 0) and tagged `superseded_by` = the old prompt's id. Flipping the prompt back to that
# alternative restores exactly them and hides the new branch the same way. Nothing is deleted.
_V4 = (
    "ALTER TABLE messages ADD COLUMN superseded_by INTEGER",
    "CREATE INDEX messages_superseded ON messages (superseded_by) WHERE superseded_by IS NOT NULL",
)

# v5: a conversation keeps its target (the host and protocol it is held with, beside `provider`
# and `model`), so continuing it never sends it elsewhere; a reply's cost says whether it was
# estimated (the server sent no usage).
_V5 = (
    "ALTER TABLE conversations ADD COLUMN base_url TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE conversations ADD COLUMN ws_url TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE conversations ADD COLUMN protocol TEXT NOT NULL DEFAULT 'sse'",
    "ALTER TABLE messages ADD COLUMN cost_estimated INTEGER NOT NULL DEFAULT 0",
)

# v6: a reply that called tools keeps its rounds (where in its text each came, the calls, their
# results) as JSON beside its text, so it shows, exports and is sent again as it happened.
_V6 = ("ALTER TABLE messages ADD COLUMN tool_rounds TEXT",)

# v7: images sent with a prompt. Each is stored once, by the SHA-256 of its bytes, however many
# messages link to it; a link names the image as it was attached there. The last link to go
# takes the image with it.
_V7 = (
    """CREATE TABLE attachments (
        hash TEXT PRIMARY KEY,
        mime TEXT NOT NULL,
        data BLOB NOT NULL,
        width INTEGER NOT NULL DEFAULT 0,
        height INTEGER NOT NULL DEFAULT 0,
        name TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE message_attachments (
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        hash TEXT NOT NULL REFERENCES attachments (hash),
        name TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (message_id, position)
    )""",
    "CREATE INDEX message_attachments_hash ON message_attachments (hash)",
    """CREATE TRIGGER attachments_unlinked AFTER DELETE ON message_attachments
        WHEN NOT EXISTS (SELECT 1 FROM message_attachments WHERE hash = old.hash) BEGIN
        DELETE FROM attachments WHERE hash = old.hash;
    END""",
)

MIGRATIONS: list[tuple[str, ...]] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7]
LATEST_VERSION = len(MIGRATIONS)


def _private_file(path: Path) -> None:
    """Conversations are private: on POSIX the directory is 0700 and the database 0600.

    SQLite creates the -wal and -shm files with the database file's permissions, so creating
    the (empty) database file first with 0600 covers them; an older, wider file is tightened.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists() and extra.stat().st_mode & 0o077:
            extra.chmod(0o600)


def connect(
    path: Path, *, busy_timeout: float = BUSY_TIMEOUT, page_size: int | None = None
) -> sqlite3.Connection:
    """Open in autocommit mode; writers use explicit short `BEGIN IMMEDIATE` transactions.

    WAL lets readers run while one process writes; synchronous=NORMAL in WAL mode keeps every
    committed transaction across a crash or kill -9 of the process (only a power cut can lose the
    last ones), which is the guarantee streaming needs at a fraction of FULL's fsync cost.
    `page_size` applies to a new file only.
    """
    _private_file(path)
    conn = sqlite3.connect(
        str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
        if page_size is not None:
            conn.execute(f"PRAGMA page_size = {int(page_size)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open for reading only, creating nothing next to the file (for a full disk).

    A WAL database needs its -shm file; when that cannot be made, the file is read as it is
    (`immutable`), which is complete once every writer has closed it.
    """
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(conn: sqlite3.Connection, target: int = LATEST_VERSION) -> int:
    """Run the missing steps up to `target`, one transaction each; safe if two processes race.
    A file already at `target` takes no write lock: opening it never waits for a writer."""
    current = schema_version(conn)
    if current == target:
        return current
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)  # read again under the write lock
            if version > LATEST_VERSION:
                raise RuntimeError(
                    f"the history database has schema version {version}, newer than this "
                    f"Streamdesk knows ({LATEST_VERSION}); update Streamdesk"
                )
            if version >= target:
                conn.execute("COMMIT")
                return version
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
