"""The window's link to the history store: every send persisted, stored conversations reopened.

One `HistoryBridge` per window. It opens the `HistoryStore` at start, fills the conversation list,
and is the sessions' `history_sink` factory: the prompt is stored when the request starts, the
reply row exists from that moment ('streaming') and a `ReplyWriter` flushes its text at most every
250 ms, so a kill -9 loses at most the last batch. Opening a stored conversation loads its turns
(cheap data) but renders only the last page; older pages render on demand.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from streamdesk.core.events import FailureKind
from streamdesk.core.request import ChatRequest
from streamdesk.core.store.history import HistoryStore, ReplyWriter, StoredMessage
from streamdesk.ui.history.actions import HistoryActions, fill_reply
from streamdesk.ui.session.turns import Target, Turn

if TYPE_CHECKING:
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)

PAGE_MESSAGES = 50  # messages rendered when a conversation opens, and per "earlier" page


class StoredReply:
    """A session's reply sink: the ReplyWriter plus what only the turn knows at the end."""

    def __init__(self, writer: ReplyWriter, turn: Turn, on_finish: Any) -> None:
        self.writer = writer
        self.turn = turn
        self._on_finish = on_finish

    def append_text(self, text: str) -> None:
        self.writer.append_text(text)

    def append_reasoning(self, text: str) -> None:
        self.writer.append_reasoning(text)

    def finish(
        self,
        status: str,
        *,
        failure_kind: str | FailureKind | None = None,
        failure_message: str | None = None,
        cost: float | None = None,
        protocol: str | None = None,
    ) -> None:
        turn = self.turn
        usage = None
        if turn.prompt_tokens is not None or turn.completion_tokens:
            usage = {  # an estimated prompt count is not stored as the server's
                "prompt_tokens": 0 if turn.estimated else turn.prompt_tokens or 0,
                "completion_tokens": turn.completion_tokens,
            }
        try:
            self.writer.finish(
                status,
                failure_kind=failure_kind,
                failure_message=failure_message,
                usage=usage,
                timings=timings_of(turn),
                cost=cost,
                protocol=protocol,
            )
            if turn.resume and failure_kind is None:  # the failure that was continued is over
                self.writer.store.update_message(
                    self.writer.message_id, failure_kind=None, failure_message=None
                )
        finally:
            self._on_finish(turn)


def timings_of(turn: Turn) -> dict[str, float] | None:
    """Time to first token, total time and tokens per second, from the turn's StreamTrace."""
    trace = turn.trace
    if trace is None:
        return None
    out: dict[str, float] = {"total": round(time.perf_counter() - trace.t_start, 4)}
    if trace.ttft is not None:
        out["ttft"] = round(trace.ttft, 4)
    times = trace.token_times
    if len(times) > 1 and times[-1] > times[0]:
        out["tokens_per_s"] = round((len(times) - 1) / (times[-1] - times[0]), 2)
    return out


class HistoryBridge(HistoryActions):
    """Binds a window's sessions and conversation list to one HistoryStore."""

    def __init__(self, window: MainWindow, store: HistoryStore | None = None) -> None:
        super().__init__(window)
        self.warning = ""
        if store is None:
            try:
                store = HistoryStore()
            except Exception as exc:  # a broken file must not stop the window from opening
                log.exception("could not open the history")
                self.warning = f"History is off: {exc}"
        self.store = store
        self.cid_of_key: dict[int, int] = {}
        lst = window.conversations
        lst.currentChanged.connect(self._on_current)
        self._connect_list(lst)
        if store is not None:
            for conv in reversed(store.list_conversations()):
                self._list_stored(conv.id, conv.title, pinned=conv.pinned, select=False)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def key_of(self, cid: int) -> int | None:
        return next((k for k, c in self.cid_of_key.items() if c == cid), None)

    def _list_stored(self, cid: int, title: str, *, pinned: bool, select: bool) -> int:
        key = self.window.new_key()
        self.cid_of_key[key] = cid
        self.window.conversations.add_conversation(key, title, select=select, pinned=pinned)
        return key

    # -- sessions --------------------------------------------------------------------------

    def attach(self, key: int, session: ChatSession) -> None:
        """Wire a new session's view to the history actions."""
        view = session.view
        if not hasattr(view, "editRequested"):
            return
        view.history_actions = self.store is not None
        view.alt_info = lambda k, s=session: self._alt_info(s, k)
        view.editRequested.connect(lambda k, s=session: self.edit(s, k))
        view.deleteRequested.connect(lambda k, s=session: self.delete_message(s, k))
        view.regenerateRequested.connect(session.regenerate)
        view.alternativeRequested.connect(lambda k, step, s=session: self.flip(s, k, step))
        view.earlierRequested.connect(lambda s=session: self.load_earlier(s))

    def _on_current(self, key: object) -> None:
        if not isinstance(key, int) or key in self.window.sessions:
            return
        cid = self.cid_of_key.get(key)
        if cid is None or self.store is None:
            return
        self.open_stored(key, cid)

    def open_stored(self, key: int, cid: int) -> ChatSession:
        """Create the session of stored conversation `cid` and render its last page."""
        assert self.store is not None
        conv = self.store.get_conversation(cid)
        session = self.window.new_chat(key=key)
        session.title = conv.title
        session.system_prompt = conv.system_prompt
        session.params = dict(conv.params)
        turns = self.turns_of(self.store.messages(cid), conv.model)
        session.load(turns, first_shown(turns, PAGE_MESSAGES))
        self.window.show_conversation(key)
        return session

    def turns_of(self, messages: list[StoredMessage], model: str) -> list[Turn]:
        turns: list[Turn] = []
        for m in messages:
            target = Target(self.window.provider, m.model or model, m.protocol or "sse")
            if m.role == "user":
                turns.append(Turn(len(turns) + 1, m.content, target, user_id=m.id))
                continue
            if m.role != "assistant":
                continue
            if not turns or turns[-1].reply_id is not None or turns[-1].status != "pending":
                turns.append(Turn(len(turns) + 1, "", target, is_retry=True))
            turns[-1].target = target
            fill_reply(turns[-1], m)
        return turns

    def load_earlier(self, session: ChatSession) -> None:
        if session.shown_from <= 0 or session.busy:
            return
        top = session.turns[session.shown_from]
        older = session.turns[: session.shown_from]
        session.shown_from = first_shown(older, PAGE_MESSAGES)
        session.rerender()
        view = session.view
        if hasattr(view, "keep_top"):
            view.keep_top(top.key if top.is_retry else ("user", top.key))

    # -- persistence (the sessions' history_sink) ------------------------------------------

    def sink(self, session: ChatSession, turn: Turn, request: ChatRequest) -> StoredReply | None:
        store = self.store
        if store is None:
            return None
        cid = self.conversation_of(session, turn)
        if turn.resume and turn.reply_id is not None:
            return StoredReply(ReplyWriter(store, turn.reply_id), turn, self._finished)
        if turn.user_id is None and not turn.is_retry:
            turn.user_id = store.add_message(cid, "user", turn.prompt, alternative_of=turn.edit_of)
        turn.reply_id = store.add_message(
            cid,
            "assistant",
            "",
            status="streaming",
            alternative_of=turn.regen_of,
            model=turn.target.model,
            protocol=turn.target.protocol,
        )
        return StoredReply(ReplyWriter(store, turn.reply_id), turn, self._finished)

    def conversation_of(self, session: ChatSession, turn: Turn) -> int:
        """The stored conversation of `session`, created (and titled) by its first send."""
        assert self.store is not None
        key = self.session_key(session)
        cid = self.cid_of_key.get(key) if key is not None else None
        if cid is not None:
            return cid
        cid = self.store.create_conversation(
            provider=turn.target.provider.id,
            model=turn.target.model,
            system_prompt=session.system_prompt,
            params=session.params,
        )
        session.title = self.store.auto_title(cid, turn.prompt)
        if key is not None:
            self.cid_of_key[key] = cid
            self.window.conversations.set_title(key, session.title)
        return cid

    def session_key(self, session: ChatSession) -> int | None:
        return next((k for k, s in self.window.sessions.items() if s is session), None)

    def _finished(self, turn: Turn) -> None:
        """Refresh the alternative count shown on the reply (a regenerate added one)."""
        if self.store is None or turn.reply_id is None:
            return
        try:
            turn.alt_count = max(1, len(self.store.alternatives(turn.reply_id)))
        except Exception:
            log.exception("could not count the alternatives")

    def _alt_info(self, session: ChatSession, key: object) -> tuple[int, int] | None:
        if isinstance(key, tuple):  # a prompt: edited versions, counted in the store
            turn = next((t for t in session.turns if ("user", t.key) == key), None)
            if turn is None or self.store is None:
                return None
            if turn.user_id is None:  # an edited prompt being sent: it will be the newest
                if turn.edit_of is None:
                    return None
                count = self.store.alternative_position(turn.edit_of)[1] + 1
                return count, count
            index, count = self.store.alternative_position(turn.user_id)
            return (index + 1, count) if count > 1 else None
        turn = next((t for t in session.turns if t.key == key), None)
        if turn is None or turn.alt_count < 2:
            return None
        return turn.alt_index + 1, turn.alt_count


def first_shown(turns: list[Turn], page: int) -> int:
    """The index of the first turn of the last `page` messages."""
    count, index = 0, len(turns)
    while index > 0 and count < page:
        index -= 1
        count += (0 if turns[index].is_retry else 1) + (1 if turns[index].reply_id else 0)
    return index
