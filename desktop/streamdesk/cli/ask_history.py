"""`ask` in history: every exchange stored (unless `--no-save`), and `--continue ID`.

Two ways to continue conversation ID:

- `ask --continue ID` (no PROMPT) continues its partial last reply *in place*: the request ends
  with that reply's text as the assistant's prefix, what arrives is appended to the same stored
  message, and on success it becomes 'complete' with its failure fields cleared.
- `ask --continue ID PROMPT` asks something new: the conversation is sent, then a new user
  message; the reply is stored under it. A partial last reply stays as it is, marked.

The reply is streamed into the store by a `ReplyWriter` (flushed at most every 250 ms, so a
kill -9 loses at most the last batch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streamdesk.cli.ask_setup import UsageError
from streamdesk.cli.sinks import Sink
from streamdesk.core.events import Done, StreamEvent, Usage

if TYPE_CHECKING:
    import argparse

    from streamdesk.core.providers import Provider
    from streamdesk.core.request import Message
    from streamdesk.core.store.history import StoredMessage


class HistorySaver:
    """Reads the conversation to continue, and stores the prompt and the streamed reply."""

    def __init__(
        self, args: argparse.Namespace, prompt: str | None, provider: Provider, model: str
    ) -> None:
        from streamdesk.core.store.history import HistoryError, HistoryStore

        self.store = HistoryStore()
        self.args, self.prompt, self.provider, self.model = args, prompt, provider, model
        self.save = not args.no_save
        self.cid: int | None = args.continue_id
        self.resume: StoredMessage | None = None  # the partial reply continued in place
        if self.cid is None:
            return
        try:
            self.store.get_conversation(self.cid)
            if prompt is None:
                self.resume = self._partial_last_reply(self.cid)
        except (HistoryError, UsageError) as exc:
            self.store.close()
            raise UsageError(str(exc)) from None

    def _partial_last_reply(self, cid: int) -> StoredMessage:
        last = self.store.messages(cid, limit=1)
        if not last or last[0].role != "assistant" or last[0].status == "complete":
            raise UsageError(
                f"conversation {cid} has no unfinished last reply to continue; "
                f'ask something new with `streamdesk ask --continue {cid} "PROMPT"`'
            )
        if last[0].status == "streaming":
            raise UsageError(f"the last reply of conversation {cid} is still streaming")
        return last[0]

    def messages(self, system: str | None) -> list[Message]:
        """What to send: system message, the conversation so far, then the new prompt (if any).

        When continuing in place, the partial reply is the last message (the assistant's
        prefix); an empty reply (an error before any text) is left out, so the prompt is last.
        """
        from streamdesk.core.request import Message

        history: list[Message] = []
        if self.cid is not None:
            system = system or self.store.get_conversation(self.cid).system_prompt or None
            history = [
                Message(m.role, m.content)
                for m in self.store.messages(self.cid)
                if m.content or m.role != "assistant"
            ]
        head = [Message("system", system)] if system else []
        tail = [Message("user", self.prompt)] if self.prompt is not None else []
        return [*head, *history, *tail]

    @property
    def resume_hint(self) -> str:
        """What the CLI says instead of the window's "Press Continue to resume."."""
        if not self.save or self.cid is None:
            return "(not saved: --no-save)"
        return f"Run `streamdesk ask --continue {self.cid}` to resume."

    def wrap(self, sink: Sink) -> Sink:
        from streamdesk.core.store.history import ReplyWriter

        if not self.save:
            return sink
        if self.resume is not None:
            reply_id = self.resume.id
        else:
            assert self.prompt is not None  # a prompt is required unless resuming
            if self.cid is None:
                self.cid = self.store.create_conversation(
                    provider=self.provider.id,
                    model=self.model,
                    system_prompt=self.args.system or "",
                )  # the system prompt is sent again by every --continue
                self.store.auto_title(self.cid, self.prompt)
            self.store.add_message(self.cid, "user", self.prompt)
            reply_id = self.store.add_message(
                self.cid, "assistant", "", status="streaming", model=self.model,
                protocol=self.args.protocol,
            )  # fmt: skip
        writer = ReplyWriter(self.store, reply_id)
        if self.resume is not None and self.resume.content:
            writer.has_text = True  # a failure now leaves it partial (its text is kept)
        return _TeeSink(sink, writer, self)

    def cost(self, usage: Usage) -> float | None:
        """USD of this request by the provider's prices (plus what the partial had cost)."""
        cost = self.provider.cost(self.model, usage.prompt_tokens, usage.completion_tokens)
        earlier = self.resume.cost if self.resume is not None else None
        return cost if cost is None or earlier is None else cost + earlier

    def close(self) -> None:
        self.store.close()


class _TeeSink(Sink):
    """Forwards every event to the output sink and to the history writer."""

    def __init__(self, inner: Sink, writer: Any, saver: HistorySaver) -> None:
        super().__init__()
        self.inner, self.writer, self.saver = inner, writer, saver
        self.protocol: str = saver.args.protocol
        self._cost: float | None = None

    def event(self, event: StreamEvent, t: float) -> None:
        self.inner.trace = self.trace
        self.inner.event(event, t)
        if self.writer.finished:
            return
        if isinstance(event, Usage):
            self._cost = self.saver.cost(event)
        trace = self.trace
        timings = {"total": round(t, 4)}
        if trace is not None and trace.ttft is not None:
            timings["ttft"] = round(trace.ttft, 4)
        meta: dict[str, Any] = {"timings": timings, "protocol": self.protocol}
        if self._cost is not None:
            meta["cost"] = self._cost
        self.writer.feed(event, **meta)
        if isinstance(event, Done) and self.saver.resume is not None:
            # the cut that made it partial is over: the reply is whole now
            self.saver.store.update_message(
                self.writer.message_id, failure_kind=None, failure_message=None
            )

    def finish(self) -> int:
        if not self.writer.finished:  # the stream ended without Done or Failure
            self.writer.finish("partial" if self.writer.has_text else "error")
        return self.inner.finish()

    def elapsed(self) -> float:
        return self.inner.elapsed()
