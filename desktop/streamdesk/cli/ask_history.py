"""The conversation one `ask` belongs to: new, or continued from the history with `--continue`.

Two ways to continue conversation ID:

- `ask --continue ID` (no PROMPT) continues its unfinished last reply *in place*: the request
  ends with that reply's text as the assistant's prefix, what arrives is appended to the same
  stored message, and on success it becomes 'complete' with its failure fields cleared.
- `ask --continue ID PROMPT` asks something new: the conversation is sent, then a new user
  message; the reply is stored under it. An unfinished last reply stays as it is, marked.

Both go through the engine's `Conversation` rules and `ConversationRecord`, exactly as the
window does, so a reply cut here stores the same tokens and cost as one cut in the window.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from streamdesk.cli._common import warn
from streamdesk.cli.ask_setup import UsageError
from streamdesk.core.attachments import Attachment
from streamdesk.core.chat import (
    Conversation,
    ConversationRecord,
    ReplyRecord,
    ReplyStatus,
    Send,
    StoredTarget,
    Target,
    Turn,
    turns_of,
)
from streamdesk.core.store.history import (
    ConversationNotFound,
    HistoryError,
    HistoryRepaired,
    HistoryStore,
    StoredMessage,
)


@dataclass(eq=False)
class AskThread:
    """The history store (None with --no-save and no --continue), the conversation, its target."""

    prompt: str | None
    save: bool
    store: HistoryStore | None = None
    conversation: Conversation = field(default_factory=Conversation)
    stored_target: StoredTarget | None = None  # of the continued conversation
    messages: list[StoredMessage] = field(default_factory=list)  # of the continued one

    @classmethod
    def open(cls, args: argparse.Namespace, prompt: str | None) -> AskThread:
        save = not args.no_save
        cid: int | None = args.continue_id
        thread = cls(prompt, save)
        if cid is None and not save:
            return thread
        try:
            thread.store = HistoryStore()
            if thread.store.recovery_notice:
                warn(thread.store.recovery_notice)
            if cid is not None:
                try:
                    thread._load(cid)
                except HistoryRepaired as exc:  # damage found while reading: read it again
                    warn(str(exc))
                    thread._load(cid)
        except ConversationNotFound:  # the caller's exit code for an unknown ID
            thread.close()
            raise
        except HistoryError as exc:
            thread.close()
            raise UsageError(str(exc)) from None
        return thread

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def _load(self, cid: int) -> None:
        assert self.store is not None
        stored = self.store.get_conversation(cid)
        self.stored_target = StoredTarget(
            stored.provider, stored.base_url, stored.ws_url, stored.model, stored.protocol
        )
        self.conversation.conversation_id = cid
        self.conversation.system_prompt = stored.system_prompt
        self.conversation.params = dict(stored.params)
        self.messages = self.store.messages(cid)

    def plan(
        self, target: Target, args: argparse.Namespace, images: tuple[Attachment, ...] = ()
    ) -> Send:
        """The turn to stream and its request, by the engine's rules; `images` go with the
        prompt."""
        conv = self.conversation
        conv.target = target
        if args.system:
            conv.system_prompt = args.system
        if args.max_tokens is not None:
            conv.params = {**conv.params, "max_tokens": args.max_tokens}
        if args.reasoning:
            conv.params = {**conv.params, "reasoning": True}
        if conv.conversation_id is not None:
            found = self.store.images_of(self.messages) if self.store is not None else {}
            conv.load(turns_of(self.messages, target, found))
        if self.prompt is not None:
            return conv.ask(self.prompt, images)
        last = conv.latest
        cid = conv.conversation_id
        if last is None or last.reply.status is ReplyStatus.COMPLETE or not last.reply.has_content:
            raise UsageError(
                f"conversation {cid} has no unfinished last reply to continue; "
                f'ask something new with `streamdesk ask --continue {cid} "PROMPT"`'
            )
        plan = conv.continue_reply(last)
        if plan is None:
            raise UsageError(f"the last reply of conversation {cid} cannot be continued")
        return plan

    def recorder(self, turn: Turn) -> ReplyRecord | None:
        """Where the reply is stored as it streams (None: --no-save, or the history cannot
        take it now: the reply is still printed, and that is said once)."""
        if not self.save or self.store is None:
            return None
        try:
            record = ConversationRecord(self.store, self.conversation)
            target = self.conversation.target
            moved = target is not None and self.stored_target not in (None, StoredTarget.of(target))
            if moved:  # --provider, --base-url, --model or --protocol switched it on purpose
                record.save_target()
            return record.open_reply(turn)
        except HistoryError as exc:
            warn(f"{str(exc).rstrip('.')}. This reply is not saved.")
            self.save = False
            return None

    @property
    def resume_hint(self) -> str:
        """What the CLI says where the window offers Continue."""
        cid = self.conversation.conversation_id
        if not self.save or cid is None:
            return "(not saved: --no-save)"
        return f"Run `streamdesk ask --continue {cid}` to resume."
