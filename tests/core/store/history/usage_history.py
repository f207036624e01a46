"""A seeded history for the usage tests: replies over several days, providers and models, with
exact, estimated, unpriced, errored, hidden and demo replies, and what their sums must be."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from streamdesk.core.store.history import HistoryStore
from streamdesk.core.store.history.usage import day_start


@dataclass(frozen=True)
class SeedReply:
    provider: str
    model: str
    days_ago: int
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    estimated: bool = False
    status: str = "complete"


REPLIES = (
    SeedReply("openai", "gpt-4.1", 0, 1200, 300, 0.0048),
    SeedReply("openai", "gpt-4.1", 0, 800, 150, 0.0028, estimated=True, status="partial"),
    SeedReply("openai", "gpt-4.1-mini", 1, 500, 900, 0.00164),
    SeedReply("anthropic", "claude-sonnet-4", 1, 2000, 700, 0.0165),
    SeedReply("anthropic", "claude-sonnet-4", 3, 100, 40, 0.0009, estimated=True, status="stopped"),
    SeedReply("openrouter", "some/new-model", 3, 400, 200, None),  # no known price
    SeedReply("openai", "gpt-4.1", 10, None, None, None, status="error"),  # nothing arrived
    SeedReply("ollama", "llama3.2", 40, 3000, 1000, 0.0),  # a free local server
)
DEMO = (
    SeedReply("mock", "mock-fast", 0, 50, 30, 0.00001),
    SeedReply("mock", "mock-fast", 2, 60, 20, None, estimated=True),
)


def local_noon(day: dt.date) -> float:
    return day_start(day) + 12 * 3600


def seed(path: Path, today: dt.date | None = None) -> None:
    """Write REPLIES and DEMO (and prompts, a hidden alternative, a streaming reply) to `path`."""
    today = today or dt.date.today()
    created: dict[int, float] = {}
    with HistoryStore(path) as store:
        conversations: dict[tuple[str, str], int] = {}
        for reply in (*REPLIES, *DEMO):
            key = (reply.provider, reply.model)
            if key not in conversations:
                conversations[key] = store.create_conversation(
                    title=f"{reply.model} chat", provider=reply.provider, model=reply.model
                )
            cid = conversations[key]
            when = local_noon(today - dt.timedelta(days=reply.days_ago))
            prompt = store.add_message(cid, "user", "a question", usage={"prompt_tokens": 9})
            created[prompt] = when
            usage = None
            if reply.prompt_tokens is not None:
                usage = {
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": reply.completion_tokens,
                }
            answer = store.add_message(
                cid, "assistant", "an answer", status=reply.status, model=reply.model,
                usage=usage, cost=reply.cost, cost_estimated=reply.estimated,
            )  # fmt: skip
            created[answer] = when
        # The first reply regenerated: the hidden first answer was paid for too (it is in
        # REPLIES as the first entry; this alternative is counted by `hidden_alternative`).
        cid = conversations[("openai", "gpt-4.1")]
        first = min(m for m in created if store.get_message(m).role == "assistant")
        alt = store.add_message(
            cid, "assistant", "another answer", alternative_of=first, model="gpt-4.1",
            usage={"prompt_tokens": 1200, "completion_tokens": 280}, cost=0.00464,
        )  # fmt: skip
        created[alt] = local_noon(today)
        streaming = store.add_message(cid, "assistant", "still strea", status="streaming")
        created[streaming] = local_noon(today)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.executemany("UPDATE messages SET created = ? WHERE id = ?", [
            (when, mid) for mid, when in created.items()
        ])  # fmt: skip
    finally:
        db.close()


HIDDEN_ALTERNATIVE = SeedReply("openai", "gpt-4.1", 0, 1200, 280, 0.00464)
COUNTED = (*REPLIES, HIDDEN_ALTERNATIVE)  # every real reply the report must count
