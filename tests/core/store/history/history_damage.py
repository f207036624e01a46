"""Real damage done to a real history file: garbage in a page, a bad header, a cut-off file."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from streamdesk.core.store.history import HistoryStore

PAGE = 4096
CONVERSATIONS = 20
PER_CONVERSATION = 30


def message_text(conversation: int, index: int) -> str:
    return f"message {conversation}/{index} " + "lorem ipsum " * 40


def populate(path: Path) -> dict[int, list[str]]:
    """20 conversations of 30 messages (about 130 pages), closed (nothing left in the WAL)."""
    texts: dict[int, list[str]] = {}
    with HistoryStore(path) as store:
        for c in range(CONVERSATIONS):
            cid = store.create_conversation(title=f"conversation {c}")
            texts[cid] = []
            for i in range(PER_CONVERSATION):
                text = message_text(c, i)
                store.add_message(cid, "user" if i % 2 == 0 else "assistant", text)
                texts[cid].append(text)
    assert not path.with_name(path.name + "-wal").exists()
    return texts


def garbage_in_a_page(path: Path, marker: str) -> int:
    """Overwrite the page holding `marker` (a message's text) with random bytes; its number."""
    data = path.read_bytes()
    page = data.index(marker.encode()) // PAGE
    assert 0 < page < len(data) // PAGE - 1, "a page in the middle of the file"
    with path.open("r+b") as f:
        f.seek(page * PAGE)
        f.write(random.Random(page).randbytes(PAGE))
    return page


def bad_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"this is not a database header!! " * 3)


def truncate_half(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2 + 100)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def damaged_copies(path: Path) -> list[Path]:
    """The dated copies next to `path` (their -wal files aside)."""
    return sorted(
        p for p in path.parent.iterdir() if ".corrupt-" in p.name and not p.name.endswith("-wal")
    )
