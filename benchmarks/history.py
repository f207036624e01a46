"""History store: what the window reads to open a 10-, 1,000- and 10,000-message conversation
(against the 10-message one, same run), FTS5 search over 100,000 messages against a LIKE scan,
and the cost per streamed token of ReplyWriter against a list.

Everything runs on a real SQLite file in a temporary folder (WAL, synchronous=NORMAL, as the app
uses it). Bulk data is inserted in one transaction (setup, not measured).

Run: .venv/bin/python benchmarks/history.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from streamdesk.core.store.history import HistoryStore, ReplyWriter
from streamdesk.core.store.history.schema import connect

if TYPE_CHECKING:
    from streamdesk.ui.history.bridge import StoredPages

rng = np.random.default_rng(7)
VOCAB = np.array([f"w{n:04d}" for n in range(5000)])
# Zipf-like: a few very common words (drawn with numpy: random.choices took ~5 s for 100,000
# messages of 30 words).
CUM_WEIGHTS = np.cumsum([1 / (rank + 1) for rank in range(len(VOCAB))])


def texts(count: int, words: int) -> list[str]:
    picks = np.searchsorted(CUM_WEIGHTS, rng.random(count * words) * CUM_WEIGHTS[-1])
    return [" ".join(ws) for ws in VOCAB[picks].reshape(count, words).tolist()]


def bulk(path: Path, cids: list[int], n: int, rare: str = "") -> None:
    """n messages of random words in each conversation (`insert_rows`)."""
    body = iter(texts(len(cids) * n, 30))
    insert_rows(
        path,
        [
            (cid, "user" if i % 2 == 0 else "assistant",
             next(body) + (f" {rare}" if rare and i % 997 == 0 else ""))
            for cid in cids for i in range(n)
        ],
    )  # fmt: skip


def insert_rows(path: Path, rows: Iterable[tuple[int, str, str]]) -> None:
    """(conversation id, role, content) rows, in one transaction, ids given (group_id = id).

    Written through a connection of its own (a store open on the same file sees the rows once
    the transaction commits). The FTS insert trigger is dropped for the load and the index
    rebuilt once at the end (then the trigger is put back), which gives the same index as
    row-by-row indexing in ~1/6 of the time (setup, not measured).
    """
    now = time.time()
    with closing(connect(path)) as db:  # closing without COMMIT rolls the load back
        db.execute("BEGIN IMMEDIATE")
        first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM messages").fetchone()[0]
        trigger = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'messages_fts_insert'"
        ).fetchone()[0]
        db.execute("DROP TRIGGER messages_fts_insert")
        db.executemany(
            "INSERT INTO messages (id, group_id, conversation_id, role, content, created)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ((first + k, first + k, cid, role, text, now + k * 1e-6)
             for k, (cid, role, text) in enumerate(rows)),
        )  # fmt: skip
        db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
        db.execute(trigger)
        # The index must match what the app's triggers build (raises SQLITE_CORRUPT if not).
        db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
        db.execute("COMMIT")


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def row(name: str, values: list[float], unit: float = 1e3, label: str = "ms") -> None:
    print(
        f"  {name:<44} p50 {pct(values, 0.5) * unit:9.3f} {label}"
        f"   p95 {pct(values, 0.95) * unit:9.3f} {label}"
    )


def rest_read(open_path: Callable[[int], StoredPages], cid: int, repeats: int = 5) -> list[float]:
    """Wall time of reading every turn not loaded yet after an open (a fresh open each time)."""
    out = []
    for _ in range(repeats):
        pages = open_path(cid)
        t0 = time.perf_counter()
        asyncio.run(pages.read_rest())
        out.append(time.perf_counter() - t0)
    return out


def first_paint(folder: Path) -> Path:
    """What the window reads when a stored conversation is clicked, at 10, 1,000 and 10,000
    messages: `HistoryBridge.open_stored`'s reads (the conversation row, then `StoredPages`:
    the newest page of turns and the count above it) and one earlier page as the reader
    scrolls up; and the rest of the turns a request needs (`StoredPages.read_rest`, on a worker
    thread with its own connection: wall time, none of it on the window's loop)."""
    from streamdesk.core.chat import Target
    from streamdesk.core.providers import mock_provider
    from streamdesk.ui.history.bridge import PAGE_MESSAGES, StoredPages

    path = folder / "h.sqlite3"
    sizes = (10, 1_000, 10_000)
    with HistoryStore(path) as store:
        cids = {n: store.create_conversation(title=f"{n}") for n in sizes}
    for n, cid in cids.items():
        bulk(path, [cid], n)
    target = Target(mock_provider("http://127.0.0.1:1/v1", "ws://127.0.0.1:1/v1/ws"), "m")
    print("(a) open a stored conversation: what the window reads (p50 ratio vs 10 messages)")
    with HistoryStore(path) as store:

        def open_path(cid: int) -> StoredPages:
            store.get_conversation(cid)
            pages = StoredPages(store, cid, target)
            pages.newest(PAGE_MESSAGES)
            return pages

        base = pct(timed(lambda: open_path(cids[10]), 50), 0.5)
        for n in sizes:
            runs = timed(lambda n=n: open_path(cids[n]), 50)  # type: ignore[misc]
            row(f"open {n:>6,} messages ({pct(runs, 0.5) / base:4.1f}x)", runs)
        pages = open_path(cids[10_000])
        row("one earlier page (scroll up), 10,000", timed(pages.page, 50))
        for n in sizes[1:]:
            row(f"the rest for a request, {n:,} (worker thread)", rest_read(open_path, cids[n]))
    print("  the reads only: the window's goal (newest painted within 150 ms and 1.5x of 10)")
    print("  counts the drawing too and is held by benchmarks/long_chat.py")
    return path


def search(path: Path) -> None:
    with HistoryStore(path) as store, closing(connect(path)) as db:
        cids = [store.create_conversation() for _ in range(90)]
        bulk(path, cids, 1000, rare="zanzibar")
        total = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        print(f"(b) search {total:,} messages: FTS5 (newest 100) vs LIKE '%x%' (first 100)")
        queries = {"rare word": "zanzibar", "common word": "w0003", "two words": "w0010 w0042",
                   "prefix": "w012"}  # fmt: skip
        ratios = []
        for name, q in queries.items():
            fts = timed(lambda q=q: store.search(q, limit=100), 15)  # type: ignore[misc]
            words = q.split()
            where = " AND ".join("content LIKE ?" for _ in words)
            like = timed(
                lambda where=where, words=words: db.execute(  # type: ignore[misc]
                    f"SELECT id FROM messages WHERE {where} LIMIT 100",
                    [f"%{w}%" for w in words],
                ).fetchall(),
                5,
            )
            hits = len(store.search(q, limit=100))
            row(f"FTS5  {name} ({q!r}, {hits} hits)", fts)
            row(f"LIKE  {name}", like)
            ratios.append(pct(like, 0.5) / pct(fts, 0.5))
        print(f"  LIKE/FTS5 p50 ratio per query: {', '.join(f'{r:.1f}x' for r in ratios)}")


def per_token(folder: Path) -> None:
    tokens = [f" tok{i % 1000}" for i in range(50_000)]
    print("(c) cost per streamed token (50,000 tokens of ~7 chars)")

    def baseline() -> None:
        sink: list[str] = []
        for t in tokens:
            sink.append(t)

    def writer_run(every: int | None, tokens: list[str]) -> Callable[[], None]:
        def go() -> None:
            with HistoryStore(folder / "w.sqlite3") as store:
                cid = store.create_conversation()
                mid = store.add_message(cid, "assistant", "", status="streaming")
                w = ReplyWriter(store, mid)  # no running loop: flushes are explicit here
                t0 = time.perf_counter()
                for i, t in enumerate(tokens, 1):
                    w.append_text(t)
                    if every and i % every == 0:
                        w.flush()
                w.flush()
                go.elapsed = time.perf_counter() - t0  # type: ignore[attr-defined]

        return go

    base = min(timed(baseline, 5)) / len(tokens) * 1e9
    print(f"  {'list.append (baseline)':<58} {base:8.0f} ns/token   1.0x")
    for label, every in (("ReplyWriter append only", None),
                         ("ReplyWriter + flush every 25 tokens (100 tok/s, 250 ms)", 25),
                         ("ReplyWriter + flush every token (worst case, 5,000)", 1)):  # fmt: skip
        n = 5_000 if every == 1 else len(tokens)
        fn = writer_run(every, tokens[:n])
        best = min((fn(), fn.elapsed)[1] for _ in range(1 if every else 3))  # type: ignore[attr-defined]
        ns = best / n * 1e9
        print(f"  {label:<58} {ns:8.0f} ns/token {ns / base:6.1f}x")
    with HistoryStore(folder / "f.sqlite3") as store:
        cid = store.create_conversation()
        for size in (0, 200_000):
            mid = store.add_message(cid, "assistant", "x" * size, status="streaming")
            batch = "".join(tokens[:25])
            row(f"one flush ({len(batch)} B) into a {size:,}-char reply",
                timed(lambda mid=mid, b=batch: store.append_to_message(mid, b), 200),  # type: ignore[misc]
                1e6, "us")  # fmt: skip


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = first_paint(folder)
        search(path)
        per_token(folder)
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
