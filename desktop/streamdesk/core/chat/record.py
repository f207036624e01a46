"""A conversation in the history: its rows are created as it is sent, its replies written as
they stream, and how each reply ended recorded once, the same for the window and `ask`.

The prompt is stored when the request starts and the reply row exists from that moment
('streaming'); a `ReplyWriter` flushes the text at most every 250 ms, so a kill -9 loses at most
the last batch and the row reopens as partial.
"""

from __future__ import annotations

import logging

from streamdesk.core.chat.conversation import Conversation, Turn
from streamdesk.core.chat.reply import Reply, ReplyStatus
from streamdesk.core.chat.target import StoredTarget
from streamdesk.core.events import ReasoningDelta, StreamEvent, TextDelta
from streamdesk.core.store.history import HistoryStore, ReplyWriter

log = logging.getLogger(__name__)


class ReplyRecord:
    """Writes one streaming reply to its row; `finish` records how it ended.

    A reply restarted after a cut keeps the broken attempt as an earlier version of the reply
    (an alternative, ‹1/2›) and streams the new one into a new row; `turn` follows it.
    """

    def __init__(
        self, store: HistoryStore, message_id: int, *, resume: bool, turn: Turn | None = None
    ) -> None:
        self.store = store
        self.message_id = message_id
        self.resume = resume  # appended to a stored partial reply
        self.turn = turn
        self.writer = ReplyWriter(store, message_id)

    def apply(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self.writer.append_text(event.text)
        elif isinstance(event, ReasoningDelta):
            self.writer.append_reasoning(event.text)

    def tools_changed(self, reply: Reply) -> None:
        """Store the reply's tool rounds now (after its text so far), so a crash mid-tool
        keeps the calls that were made."""
        self.writer.flush()
        try:
            self.store.update_message(self.message_id, tool_rounds=_rounds(reply))
        except Exception:
            log.exception("the tool calls could not be recorded in the history")

    def restart(self, reply: Reply) -> None:
        self.finish(reply)
        old = self.store.get_message(self.message_id)
        self.message_id = self.store.add_message(
            old.conversation_id,
            "assistant",
            "",
            status="streaming",
            alternative_of=old.id,
            model=reply.target.model,
            protocol=reply.target.protocol,
        )
        self.resume = False
        self.writer = ReplyWriter(self.store, self.message_id)
        if self.turn is not None:
            self.turn.reply_id = self.message_id
            self.turn.alt_index, self.turn.alt_count = self.turn.alt_count, self.turn.alt_count + 1

    def finish(self, reply: Reply) -> None:
        if self.writer.finished:
            return
        failure = reply.failure
        status = reply.status if reply.status.finished else ReplyStatus.STOPPED
        usage = None
        if reply.usage is not None or reply.deltas or reply.earlier.completion_tokens:
            usage = {
                "prompt_tokens": reply.prompt_tokens or 0,
                "completion_tokens": reply.completion_tokens,
            }
        timings: dict[str, object] = dict(reply.timings() or {})
        if reply.attempts:
            timings["attempts"] = [a.as_dict() for a in reply.attempts]
        if reply.finish_reason:  # kept with the figures: a reply cut by max tokens says so again
            timings["finish_reason"] = reply.finish_reason
        self.writer.finish(
            status.value,
            failure_kind=failure.kind if failure is not None else None,
            failure_message=failure.message if failure is not None else None,
            usage=usage,
            timings=timings or None,
            cost=reply.cost,
            protocol=reply.target.protocol,
        )
        fields: dict[str, object] = {"cost_estimated": reply.estimated}
        if reply.tool_rounds:
            fields["tool_rounds"] = _rounds(reply)
        if self.resume and failure is None:  # the failure that was continued is over
            fields.update(failure_kind=None, failure_message=None)
        self.store.update_message(self.message_id, **fields)


def _rounds(reply: Reply) -> list[dict[str, object]]:
    return [r.as_dict() for r in reply.tool_rounds]


class ConversationRecord:
    """The rows of one conversation: created (and titled) by its first send."""

    def __init__(self, store: HistoryStore, conversation: Conversation) -> None:
        self.store = store
        self.conversation = conversation
        self.title: str | None = None  # set when the first send stores the conversation
        self.chosen_title = ""  # the user's, given before the first send: kept by it

    @property
    def conversation_id(self) -> int | None:
        return self.conversation.conversation_id

    def ensure_stored(self, first_prompt: str) -> int:
        """The conversation's id; the first call stores it, titled as the user chose or
        from its first prompt (`title`)."""
        conv = self.conversation
        if conv.conversation_id is not None:
            return conv.conversation_id
        stored = StoredTarget.of(conv.require_target)
        cid = self.store.create_conversation(
            title=self.chosen_title,
            provider=stored.provider_id,
            model=stored.model,
            system_prompt=conv.system_prompt,
            params=conv.params,
            base_url=stored.base_url,
            ws_url=stored.ws_url,
            protocol=stored.protocol,
        )
        conv.conversation_id = cid
        self.title = self.store.auto_title(cid, first_prompt)
        return cid

    def save_target(self) -> None:
        """The user switched the conversation's provider, host, model or protocol on purpose."""
        conv = self.conversation
        if conv.conversation_id is None or conv.target is None:
            return
        stored = StoredTarget.of(conv.target)
        self.store.update_conversation(
            conv.conversation_id,
            provider=stored.provider_id,
            model=stored.model,
            base_url=stored.base_url,
            ws_url=stored.ws_url or "",
            protocol=stored.protocol,
        )

    def open_reply(self, turn: Turn) -> ReplyRecord:
        """The record of `turn`'s reply: its user message and reply rows exist from now on."""
        cid = self.ensure_stored(turn.prompt)
        store = self.store
        if turn.resume and turn.reply_id is not None:
            return ReplyRecord(store, turn.reply_id, resume=True, turn=turn)
        if turn.user_id is None and not turn.is_retry:
            turn.user_id = store.add_message(cid, "user", turn.prompt, alternative_of=turn.edit_of)
            store.attach_images(turn.user_id, turn.attachments)
        target = turn.reply.target
        turn.reply_id = store.add_message(
            cid,
            "assistant",
            "",
            status="streaming",
            alternative_of=turn.regen_of,
            model=target.model,
            protocol=target.protocol,
        )
        return ReplyRecord(store, turn.reply_id, resume=False, turn=turn)

    def reply_finished(self, turn: Turn) -> None:
        """Refresh the alternative count of `turn` (a regenerate added one)."""
        turn.resume, turn.regen_of, turn.edit_of = False, None, None
        if turn.reply_id is None:
            return
        try:
            turn.alt_count = max(1, len(self.store.alternatives(turn.reply_id)))
        except Exception:
            log.exception("could not count the alternatives")
