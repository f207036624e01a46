"""Persist a streaming reply as it arrives, in batches, without blocking the event loop.

The hot path (`append_text`) only appends to a list. The first append after a flush arms a
`call_later` timer on the running loop (any asyncio loop, qasync's included); when it fires, the
batch goes to SQLite as one small INSERT into `message_chunks` (folded into the message when it
ends). That INSERT costs the same whatever the reply's length (benchmarks/history.py measures
it), so it runs on the loop thread: a thread hop would cost more.
A crash or kill -9 loses at most the batch not yet flushed. While the disk is full the store
keeps the batches in memory (`HistoryStore.disk_full_notice`); after the reply ends, the writer
keeps asking the store to save them until space returns.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)
from streamdesk.core.store.history.database import RETRY_INTERVAL
from streamdesk.core.store.history.models import FINAL_STATUSES, HistoryError

if TYPE_CHECKING:
    from streamdesk.core.store.history.store import HistoryStore

log = logging.getLogger(__name__)


class ReplyWriter:
    """Persists one streaming reply. append() is O(1) and never touches the DB; a timer flushes.

    The message is marked 'streaming' (owned by this process) when the writer is created; for a
    continued partial reply, text is appended after what is already stored.
    """

    def __init__(self, store: HistoryStore, message_id: int, *, interval: float = 0.25) -> None:
        self.store = store
        self.message_id = message_id
        self.interval = interval
        self.flushed_chars = 0  # characters of content written by this writer so far
        self.has_text = False
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._armed = False  # a flush is due (timer set, or no loop to set one)
        self._usage: Usage | None = None
        self._warned = False
        self.finished = False
        store.update_message(message_id, status="streaming")

    def append_text(self, text: str) -> None:
        self._text.append(text)
        self.has_text = True
        if not self._armed:
            self._arm()

    def append_reasoning(self, text: str) -> None:
        self._reasoning.append(text)
        if not self._armed:
            self._arm()

    def _arm(self) -> None:
        self._armed = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the caller flushes
        self._timer = loop.call_later(self.interval, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        """Write pending text now. A busy or failing database keeps the batch for the next try."""
        self._armed = self._timer is not None
        if not self._text and not self._reasoning:
            return
        text, reasoning = "".join(self._text), "".join(self._reasoning)
        self._text.clear()
        self._reasoning.clear()
        try:
            self.store.append_to_message(self.message_id, text, reasoning)
        except (sqlite3.Error, HistoryError) as exc:
            if not self._warned:
                log.warning("could not save the reply (%s); will retry", exc)
                self._warned = True
            self._text.insert(0, text)
            self._reasoning.insert(0, reasoning)
            if not self._armed:
                self._arm()
            return
        self.flushed_chars += len(text)

    def finish(
        self,
        status: str,
        *,
        failure_kind: str | FailureKind | None = None,
        failure_message: str | None = None,
        usage: Usage | dict[str, int] | None = None,
        timings: Any = None,
        cost: float | None = None,
        protocol: str | None = None,
    ) -> None:
        """Flush the rest and record how the reply ended: complete, partial, stopped or error."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"finish() needs one of {FINAL_STATUSES}, not {status!r}")
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()
        fields: dict[str, Any] = {"status": status}
        extra = {
            "failure_kind": failure_kind, "failure_message": failure_message,
            "usage": usage if usage is not None else self._usage, "timings": timings,
            "cost": cost, "protocol": protocol,
        }  # fmt: skip
        fields.update({k: v for k, v in extra.items() if v is not None})
        self.store.update_message(self.message_id, **fields)
        self.finished = True
        if self.store.unsaved_writes:
            self._save_later()

    def _save_later(self) -> None:
        """Retry the writes the store keeps in memory (disk full) until they are saved."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the store saves them with its next write or on close
        loop.call_later(RETRY_INTERVAL, self._retry_unsaved)

    def _retry_unsaved(self) -> None:
        if not self.store.save_unsaved():
            self._save_later()

    def feed(self, event: StreamEvent, **finish_meta: Any) -> bool:
        """Consume one core stream event; returns True once the reply has ended.

        A failure after some text is 'partial' (continuable), before any text 'error'; a user
        cancel is 'stopped'. `finish_meta` (timings, cost, protocol) goes to `finish()`.
        """
        if isinstance(event, TextDelta):
            self.append_text(event.text)
        elif isinstance(event, ReasoningDelta):
            self.append_reasoning(event.text)
        elif isinstance(event, Usage):
            self._usage = event
        elif isinstance(event, Done):
            self.finish("complete", **finish_meta)
            return True
        elif isinstance(event, Failure):
            if event.kind is FailureKind.CANCELLED:
                status = "stopped"
            else:
                status = "partial" if self.has_text else "error"
            self.finish(
                status, failure_kind=event.kind, failure_message=event.message, **finish_meta
            )
            return True
        return False
