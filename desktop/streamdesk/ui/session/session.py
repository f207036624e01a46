"""The bridge from the conversation engine to Qt: one `ChatSession` per conversation.

The session holds a core `Conversation` (turns, target, rules) and at most one running reply.
`send()` and the other rules start a task on the running (qasync) loop that iterates the
engine's `stream_reply` and forwards each event to the transcript's `ReplyView`, coalesced to
`statsChanged` for the status bar. Counting, cost, the end state and the history rows are the
engine's; the session only shows them. Cancelling the task (Stop, Esc, closing the window)
keeps every character that arrived and marks the reply stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from streamdesk.core.attachments import Attachment, ImageFitter, once_scaled
from streamdesk.core.chat import (
    Conversation,
    ConversationRecord,
    KeySource,
    Reply,
    ReplyRecord,
    ReplyStatus,
    ResumePolicy,
    Resuming,
    Send,
    StoredTarget,
    Target,
    ToolRunner,
    Trimmed,
    Turn,
    stream_reply,
)
from streamdesk.core.chat.conversation import request_notice
from streamdesk.core.events import ReasoningDelta, Retrying, TextDelta
from streamdesk.core.request import ChatRequest
from streamdesk.core.trace import StreamTrace
from streamdesk.core.wording import resumed_at
from streamdesk.ui.failures import (
    FAILURE_TITLES,
    failure_actions,
    failure_text,
    failure_title,
    reply_failure_title,
)
from streamdesk.ui.image_scaler import QtImageScaler
from streamdesk.ui.tools.session_tools import TOOL_EVENTS, replay, stored_rounds
from streamdesk.ui.transcript.reply_view import ReplyView, ending_marks
from streamdesk.ui.window.status_bar import PROTOCOL_NAMES, ReplyStats, finished_state

if TYPE_CHECKING:
    from streamdesk.ui.tools.session_tools import SessionTools

log = logging.getLogger(__name__)

STATS_INTERVAL_MS = 100  # status bar refresh while streaming; tokens arrive much faster


class EarlierTurns(Protocol):
    """Where the turns above the loaded ones come from (the history, a page at a time)."""

    @property
    def left(self) -> int:
        """Messages not loaded yet."""

    def page(self) -> list[Turn]:
        """The next page of earlier turns (oldest first); [] when none is left."""

    def rest(self) -> list[Turn]:
        """Every turn not loaded yet (oldest first)."""

    async def read_rest(self) -> list[Turn]:
        """Every turn not loaded yet (oldest first), read off the loop; [] when another read
        took some meanwhile."""

    async def read_down_to(self, message_id: int) -> list[Turn] | None:
        """The turns from the one holding stored message `message_id` down to the loaded ones
        (oldest first), read off the loop; [] when it is not above them, None when another read
        took some meanwhile."""


def label(target: Target) -> str:
    """The reply's caption: its model (a local server's own when none is named) and protocol."""
    model = target.model or "the server's model"
    return f"{model} · {PROTOCOL_NAMES.get(target.protocol, target.protocol)}"


class ChatSession(QObject):
    """One conversation: its turns, its transcript view and its running reply (if any)."""

    started = Signal(object)  # reply key
    updated = Signal(object)  # reply key; text or reasoning arrived
    finished = Signal(object, str)  # reply key, status: complete | stopped | partial | error
    failed = Signal(object, object)  # reply key, core.events.Failure
    statsChanged = Signal(object)  # status_bar.ReplyStats
    busyChanged = Signal(bool)
    noticeChanged = Signal(object, str)  # reply key, "Rate limited: retrying in 3 s" or ""
    storedAs = Signal(int, str)  # history id, title: the first send stored the conversation
    declined = Signal(str)  # why an action asked of an older reply did nothing

    def __init__(
        self,
        view: Any,
        target_factory: Callable[[], Target],
        *,
        keys: KeySource | None = None,
        title: str = "New chat",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.target_factory = target_factory
        self.keys = keys
        self.title = title
        self.named = False  # the user gave it its title: the first prompt does not
        # stored images are scaled for another API off the loop, before the request goes
        self.conversation = Conversation(image_fitter=ImageFitter(QtImageScaler, deferred=True))
        self.record: ConversationRecord | None = None  # set when history is on
        self.shown_from = 0  # turns before this index are loaded but not drawn (lazy pages)
        self.shown_to: int | None = None  # turns from here on are not drawn (None: all are)
        self.earlier: EarlierTurns | None = None  # stored turns above the loaded ones
        self._reading: asyncio.Task[None] | None = None  # of the turns not loaded yet
        self.stats = ReplyStats()
        self.trace: StreamTrace | None = None  # of the latest request, for the inspector
        self.trace_factory: Callable[[], StreamTrace] = StreamTrace  # inspector: recording()
        self.views: dict[int, ReplyView] = {}  # reply key -> its view in the transcript
        self.tools: SessionTools | None = None  # the conversation's MCP tools (the window's)
        self._task: asyncio.Task[None] | None = None
        self.discarded = False  # its chat was deleted (`discard`)
        self._running = False
        self._countdown: asyncio.Task[None] | None = None
        # the conversation's cost summed while a reply streams, and what it was summed for
        self._cost_while: tuple[tuple[Reply, float | None, int], tuple[float | None, bool]] | None
        self._cost_while = None
        self._stats_timer = QTimer(self)
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(STATS_INTERVAL_MS)
        self._stats_timer.timeout.connect(self._emit_stats)
        for name, slot in (("retryRequested", self.retry), ("continueRequested", self.resume)):
            signal = getattr(view, name, None)
            if signal is not None:
                signal.connect(slot)

    # -- public ---------------------------------------------------------------------------

    @property
    def turns(self) -> list[Turn]:
        return self.conversation.turns

    @property
    def system_prompt(self) -> str:
        return self.conversation.system_prompt

    @system_prompt.setter
    def system_prompt(self, value: str) -> None:
        self.conversation.system_prompt = value

    @property
    def params(self) -> dict[str, Any]:
        return self.conversation.params

    @params.setter
    def params(self, value: dict[str, Any]) -> None:
        self.conversation.params = value

    @property
    def busy(self) -> bool:
        """A reply is streaming (false from the moment it is finished, before the task ends)."""
        return self._running

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def send(self, prompt: str, images: tuple[Attachment, ...] = ()) -> int | None:
        """Ask `prompt` with `images`; returns the reply key, or None if a reply is still
        streaming."""
        if self.busy or not prompt.strip():
            return None
        self._to_latest()
        self._take_target()
        plan = self.conversation.ask(prompt, images)
        self.view.add_user_message(prompt, ("user", plan.turn.key), images)
        return self._start(plan, whole=lambda: self.conversation.request_for(plan.turn, fresh=True))

    def retry(self, key: object) -> int | None:
        """Resend the prompt of reply `key` as a new reply below; the old one leaves the context."""
        old = self.conversation.turn(key)
        if old is None or self.busy:
            return None
        self._to_latest()
        self._take_target()
        plan = self.conversation.retry(old)
        return self._start(
            plan, whole=lambda: self.conversation.request_for(plan.turn, upto=self.turns.index(old))
        )

    def resume(self, key: object) -> int | None:
        """Send the partial reply as the assistant's prefix and append what comes to it.

        Only the latest reply can be continued (anything after it would depend on it).
        """
        turn = self.conversation.turn(key)
        if turn is None or self.busy:
            return None
        if turn is not self.conversation.latest:
            self.declined.emit(CONTINUE_ONLY_LATEST)
            return None
        self._to_latest()
        self._take_target()
        plan = self.conversation.continue_reply(turn)
        if plan is None:
            return None
        self.rerender(live=turn)
        return self._start(
            plan, rebuilt=True, whole=lambda: self.conversation.request_for(turn, prefix=turn.reply)
        )

    def regenerate(self, key: object) -> int | None:
        """A new alternative of the latest reply, streamed in its place (the old one is kept).
        An older reply is asked again as an edit of its prompt would be: the chat goes on from
        there, and what followed is kept as the prompt's other version (‹ 1/2 ›)."""
        turn = self.conversation.turn(key)
        if turn is None or self.busy:
            return None
        if turn is not self.conversation.latest:
            if turn.is_retry:  # no prompt of its own to branch from
                self.declined.emit(REGENERATE_RETRY)
                return None
            return self.resend_edited(key, turn.prompt)
        self._to_latest()
        self._take_target()
        plan = self.conversation.regenerate(turn)
        if plan is None:
            return None
        self.rerender(live=turn)
        return self._start(plan, rebuilt=True, whole=lambda: self.conversation.request_for(turn))

    def resend_edited(self, key: object, prompt: str) -> int | None:
        """Send an edited prompt in place of turn `key`'s; that turn and later ones leave."""
        turn = self.conversation.turn(key)
        if turn is None or self.busy or not prompt.strip():
            return None
        self._to_latest()
        self._take_target()
        plan = self.conversation.edit(turn, prompt)
        self.rerender(upto=plan.turn)
        self.view.add_user_message(prompt, ("user", plan.turn.key), plan.turn.attachments)
        return self._start(plan, whole=lambda: self.conversation.request_for(plan.turn))

    def load(self, turns: list[Turn], shown_from: int, earlier: EarlierTurns | None = None) -> None:
        """Take stored turns; render those from `shown_from` on (the rest on demand); `earlier`
        gives the stored turns above them, when the history holds more than were read."""
        self.conversation.load(turns)
        self.shown_from, self.shown_to = shown_from, None
        self.earlier = earlier
        self.rerender()

    def load_all(self) -> None:
        """Read every stored turn (a request carries the whole conversation); none is drawn."""
        if self.earlier is not None and self.earlier.left:
            self._prepend(self.earlier.rest())

    def read_earlier(self) -> asyncio.Task[None] | None:
        """Start reading the stored turns not loaded yet off the loop (the user is writing a
        prompt: its request will need them), so the next request waits for nothing; returns
        the read's task (None: nothing is left to read)."""
        if self._reading is not None or self.earlier is None or not self.earlier.left:
            return self._reading
        if self.discarded:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop runs (a test drives the window without one)
            return None
        self._reading = loop.create_task(self._take_earlier(self.earlier))
        return self._reading

    async def _take_earlier(self, earlier: EarlierTurns) -> None:
        try:
            while earlier is self.earlier and earlier.left:  # not reloaded meanwhile
                left = earlier.left
                turns = await earlier.read_rest()  # [] when a page or a hit read took some
                if earlier is self.earlier:
                    self._prepend(turns)
                if not turns and earlier.left == left:  # nothing read, nothing taken: stop
                    break
        except Exception:  # a request reads them on the shared connection (which repairs)
            log.warning("could not read the earlier messages apart", exc_info=True)
        finally:
            self._reading = None

    async def read_down_to(self, message_id: int) -> None:
        """Load the stored turns from the one holding `message_id` down to the loaded ones, read
        off the loop (a search hit above them), and none above it; nothing when it is loaded
        already or not among the stored turns above (a version set aside)."""
        if self._reading is not None:  # every turn is being read: the hit comes with them
            await asyncio.shield(self._reading)
        while (earlier := self.earlier) is not None and earlier.left:
            if self.position_of(message_id) is not None:
                return
            turns = await earlier.read_down_to(message_id)
            if turns is None or earlier is not self.earlier:  # another read took some, or a
                continue  # reload: read again from there
            self._prepend(turns)
            return

    def position_of(self, message_id: int) -> int | None:
        """Index of the loaded turn holding stored message `message_id` (None: not loaded)."""
        return next(
            (i for i, t in enumerate(self.turns) if message_id in (t.user_id, t.reply_id)), None
        )

    def earlier_count(self) -> int:
        """Messages above the ones drawn: loaded but not drawn, and not loaded yet."""
        loaded = sum(message_count(t) for t in self.turns[: self.shown_from])
        return loaded + (self.earlier.left if self.earlier is not None else 0)

    def show_earlier(self, messages: int) -> int:
        """Draw about `messages` more messages above the drawn ones, in one edit (reading the
        next page of the history when the loaded turns run out); the drawn messages are not
        drawn again. Returns how many messages were added."""
        if self.shown_from == 0 and self.earlier is not None and self.earlier.left:
            self._prepend(self.earlier.page())
        top = next((t for t in self.turns[self.shown_from :] if self.view.has_key(key_of(t))), None)
        if self.shown_from == 0 or top is None:
            return 0
        start = first_shown(self.turns[: self.shown_from], messages)
        older = self.turns[start : self.shown_from]
        self.shown_from = start

        def draw() -> None:
            for turn in older:
                self._render_turn(turn, live=False)

        self.view.insert_above(key_of(top), draw, self.earlier_count())
        return sum(message_count(t) for t in older)

    def later_count(self) -> int:
        """Messages below the ones drawn (the reader went far up)."""
        later = self.turns[self.shown_to :] if self.shown_to is not None else []
        return sum(message_count(t) for t in later)

    def show_later(self, messages: int) -> int:
        """Draw about `messages` of the newer messages not drawn below the drawn ones; returns
        how many were added."""
        if self.shown_to is None:
            return 0
        end, count = self.shown_to, 0
        while end < len(self.turns) and count < messages:
            count += message_count(self.turns[end])
            end += 1
        newer = self.turns[self.shown_to : end]
        self.shown_to = end if end < len(self.turns) else None
        for turn in newer:
            self._render_turn(turn, live=False)
        self._say_later()
        return count

    def show_latest(self) -> None:
        """Draw the newest messages again (a request's reply streams below them)."""
        if self.shown_to is not None:
            self.shown_from = max(self.shown_from, first_shown(self.turns, REDRAWN_MESSAGES))
            self.shown_to = None
            self.rerender()
            self.view.jump_to_latest()

    async def show_first(self) -> None:
        """Draw the conversation's first messages (Ctrl+Home), the stored turns not loaded yet
        read off the loop first; the rest come as the reader scrolls down. Nothing while a
        reply streams (its view stays drawn)."""
        reading = self.read_earlier()
        if reading is not None:  # not cancelled with this task: a request waits for it too
            await asyncio.wait([reading])
        if self.busy or self.discarded:
            return
        self.load_all()  # what a read that failed left (read here, on the shared connection)
        self.show_at(0, REDRAWN_MESSAGES)
        self.view.scroll_to(0)

    def show_at(self, index: int, messages: int) -> None:
        """Draw about `messages` messages from turn `index` on, with a little above it (a search
        hit far from the drawn ones); the rest come as the reader scrolls either way."""
        start = first_shown(self.turns[:index], 2)
        end, count = start, 0
        while end < len(self.turns) and count < messages:
            count += message_count(self.turns[end])
            end += 1
        self.shown_from, self.shown_to = start, end if end < len(self.turns) else None
        self.rerender()

    def drop_earlier(self, keep: int) -> None:
        """Keep only about the last `keep` drawn messages; the reader keeps their place."""
        end = len(self.turns) if self.shown_to is None else self.shown_to
        start = first_shown(self.turns[:end], keep)
        if (
            start <= self.shown_from
            or start >= end
            or not self.view.has_key(key_of(self.turns[start]))
        ):
            return
        self.view.remove_above(key_of(self.turns[start]))
        self.shown_from = start
        self.view.set_earlier(self.earlier_count())

    def drop_later(self, keep: int) -> None:
        """Keep only about the first `keep` drawn messages, and those within a few screens below
        the reader (who is far above the rest; never while the view follows the newest)."""
        end = len(self.turns) if self.shown_to is None else self.shown_to
        index, count = self.shown_from, 0
        while index < end and count < keep:
            count += message_count(self.turns[index])
            index += 1
        if self.view.is_following():
            return
        while index < end and not self.view.far_below(key_of(self.turns[index])):
            index += 1
        if index >= end:
            return
        later = sum(message_count(t) for t in self.turns[index:])
        self.view.remove_below(key_of(self.turns[index]), later)
        self.shown_to = index

    def _say_later(self) -> None:
        with contextlib.suppress(AttributeError):
            self.view.set_later(self.later_count())

    def _to_latest(self) -> None:
        """Before a request: the newest drawn (the turns not read yet are read off the loop
        before the request goes out, `_whole_request`)."""
        self.show_latest()

    def _prepend(self, turns: list[Turn]) -> None:
        self.turns[:0] = turns
        self.shown_from += len(turns)
        if self.shown_to is not None:
            self.shown_to += len(turns)

    def rerender(self, live: Turn | None = None, upto: Turn | None = None) -> None:
        """Render the shown turns from scratch (O(shown turns), once): `live` streams again with
        the text it holds; turns from `upto` on are left out (an edit about to be sent)."""
        shown = self.turns[self.shown_from : self.shown_to]
        self._say_later()
        if upto is not None and upto in shown:
            shown = shown[: shown.index(upto)]
        with contextlib.suppress(AttributeError):
            self.view.set_earlier(self.earlier_count())
        self.view.clear_messages()
        self.views.clear()
        with self.view.opening():
            for turn in shown:
                self._render_turn(turn, live=turn is live)

    def _render_turn(self, turn: Turn, *, live: bool) -> None:
        reply = turn.reply
        if not turn.is_retry:
            self.view.add_user_message(turn.prompt, ("user", turn.key), turn.attachments)
        if live:
            view = self.view.begin_assistant(turn.key, label=label(reply.target))
            self.views[turn.key] = view
            if reply.reasoning:
                view.append_reasoning(reply.reasoning_text)
            replay(view, reply)
            return
        if reply.status is ReplyStatus.PENDING and not reply.parts:
            return  # a prompt whose reply row is missing (deleted, imported)
        title = text = ""
        actions: tuple[str, ...] = ()
        if reply.failure is not None and reply.status is not ReplyStatus.STOPPED:
            title = reply_failure_title(reply)
            text = failure_text(reply.failure, resumable=reply.has_text)
        else:  # marked as when it ended live: "Stopped after 312 tokens", "… max-tokens limit"
            title, actions = ending_marks(
                reply.status.value, reply.finish_reason, reply.completion_tokens, reply.has_text
            )
            title = title or resumed_note(reply)
        self.view.add_assistant_message(
            reply.text,
            reasoning=reply.reasoning_text,
            status=_shown_status(reply.status),
            failure_title=title,
            failure_text=text,
            key=turn.key,
            label=label(reply.target),
            tool_rounds=stored_rounds(reply),
            actions=actions,
        )

    def stop(self) -> None:
        """Cancel the running reply; it finishes as "stopped" with its text kept."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def forget_stats(self) -> None:
        """The reply its figures were about was deleted: the window shows the last stored
        reply's instead (`MainWindow.show_conversation`)."""
        self.stats = ReplyStats()

    def discard(self) -> None:
        """Its chat left the window (deleted): the reply stops (its text kept and stored),
        the stored turns being read are dropped, and nothing is drawn any more."""
        self.discarded = True
        self.stop()
        if self._reading is not None:
            self._reading.cancel()

    async def aclose(self) -> None:
        """Stop and wait until the reply has been marked and flushed."""
        task = self._task
        self.stop()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading

    def conversation_cost(self) -> float | None:
        """Sum of the known reply costs, estimates included (None when none is known)."""
        return self.conversation.cost()[0]

    # -- the stream loop ------------------------------------------------------------------

    def _take_target(self) -> None:
        """The next request goes where the header says: the conversation's target, or the one
        the user switched it to on purpose (stored with the conversation)."""
        target = self.target_factory()
        before = self.conversation.target
        self.conversation.target = target
        changed = before is not None and StoredTarget.of(target) != StoredTarget.of(before)
        if self.record is not None and changed:
            try:
                self.record.save_target()
            except Exception:
                log.exception("could not store the conversation's new target")

    def _start(self, plan: Send, *, rebuilt: bool = False, whole: Callable[[], ChatRequest]) -> int:
        """Stream `plan`'s reply; `whole` builds its request again once every stored turn is
        read and every image scaled (the plan was made from the turns loaded so far, with the
        images the fitter had scaled already)."""
        turn = plan.turn
        if not rebuilt:
            self.views[turn.key] = self.view.begin_assistant(turn.key, label=label(turn.target))
        self._running = True
        self._task = asyncio.get_running_loop().create_task(self._run(plan, whole))
        self._task.add_done_callback(lambda task: self._stopped_unstarted(task, turn))
        self.busyChanged.emit(True)
        self.started.emit(turn.key)
        return turn.key

    def adopt(self, prompt: str, reply: Reply) -> None:
        """`prompt` and a finished `reply` streamed elsewhere (the compare window) as this
        chat's newest turn: drawn, and stored with the reply's model, protocol, tokens and cost."""
        self.show_latest()
        if self.conversation.target is None:
            self.conversation.target = self.target_factory()
        turn = self.conversation.ask(prompt).turn
        turn.reply = reply
        recorder = self._open_record(turn)
        if recorder is not None and self.record is not None:
            if reply.reasoning:
                recorder.apply(ReasoningDelta(reply.reasoning_text))
            if reply.parts:
                recorder.apply(TextDelta(reply.text))
            recorder.finish(reply)
            self.record.reply_finished(turn)
        self.rerender()
        self.view.jump_to_latest()

    def _open_record(self, turn: Turn) -> ReplyRecord | None:
        if self.record is None:
            return None
        try:
            new = self.record.conversation_id is None
            recorder = self.record.open_reply(turn)
        except Exception:
            log.exception("the history could not store the reply; it is shown but not stored")
            return None
        if new and self.record.conversation_id is not None:
            self.title = self.record.title or self.title
            self.storedAs.emit(self.record.conversation_id, self.title)
        return recorder

    async def _run(self, plan: Send, whole: Callable[[], ChatRequest]) -> None:
        turn = plan.turn
        reply, view = turn.reply, self.views[turn.key]
        trace = self.trace_factory()
        self.trace = trace
        recorder = self._open_record(turn)
        self._set_state("Connecting", turn)
        runner = self.tools.runner_for(view) if self.tools is not None else None
        try:
            request = await self._final_request(turn, plan.request, whole, runner)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):  # ours: Stop, Esc, close
                log.exception("could not build the request")
            self._finish_stopped(turn, recorder)
            return
        notice = request_notice(request, reply.target)  # stored images, the oldest messages
        if notice:
            self._notice(turn.key, view, notice)
        events = stream_reply(
            reply,
            request,
            keys=self.keys,
            trace=trace,
            recorder=recorder,
            resume=ResumePolicy.of(reply.target),
            tools=runner,
        )
        noticed = False  # a retry notice is shown on the reply
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    self._stop_countdown()
                    if isinstance(event, TextDelta):
                        view.append_text(event.text)
                    elif isinstance(event, ReasoningDelta):
                        view.append_reasoning(event.text)
                    elif isinstance(event, TOOL_EVENTS):
                        if self.tools is not None:
                            self.tools.show(view, event)
                    elif isinstance(event, Retrying):
                        noticed = True
                        title = FAILURE_TITLES.get(event.failure.kind, "Failed")
                        self._start_countdown(turn.key, view, title, event.delay, "retrying")
                        self._set_state("Retrying", turn)
                        continue
                    elif isinstance(event, Trimmed):  # the request cut again to fit
                        notice, noticed = event.notice, False
                        self._notice(turn.key, view, notice)
                        continue
                    elif isinstance(event, Resuming):
                        noticed = True
                        if event.strategy == "restart":  # a new version replaces the text
                            self.rerender(live=turn)
                            view = self.views[turn.key]
                        title = failure_title(
                            event.failure, event.tokens, resumed_at(turn.reply.attempts[:-1])
                        )
                        self._start_countdown(turn.key, view, title, event.delay, "resuming")
                        self._set_state("Resuming", turn)
                        continue
                    else:
                        continue
                    if noticed:
                        noticed = False
                        self._notice(turn.key, view, "")
                    self._tick(turn)
        except asyncio.CancelledError:
            pass  # our own cancellation (Stop, Esc, close): the reply is stopped and recorded
        finally:
            self._stop_countdown()
        self._finish(turn, view, note=notice)

    def _stopped_unstarted(self, task: asyncio.Task[None], turn: Turn) -> None:
        """A reply cancelled before its first step (Stop in the same loop turn as Enter) never
        ran `_run`: it ends here as stopped, stored like any other stopped reply."""
        if task.cancelled() and self._running and task is self._task:
            self._finish_stopped(turn, self._open_record(turn))

    def _finish_stopped(self, turn: Turn, recorder: ReplyRecord | None) -> None:
        turn.reply.stop()
        if recorder is not None:
            recorder.finish(turn.reply)
        self._finish(turn, self.views[turn.key])

    async def _final_request(
        self,
        turn: Turn,
        planned: ChatRequest,
        build: Callable[[], ChatRequest],
        runner: ToolRunner | None,
    ) -> ChatRequest:
        """`turn`'s request as it goes out: `planned`, or built again from every turn once the
        stored ones not read yet are read and the images the fitter deferred are scaled, each
        on a worker thread, so the loop never waits on a long conversation or a large image.
        A request built while images are pending carries them unscaled: it never goes. The
        `runner`'s tools are listed first, so their schemas count in the context estimate."""
        request = planned
        try:
            offered = (await runner.prepare()).specs if runner is not None else ()
        except Exception:  # a bug listing them: the engine lists them again and says what failed
            log.exception("the tools could not be listed before the request")
            offered = self.conversation.offered_tools
        if offered != self.conversation.offered_tools:
            self.conversation.offered_tools = offered
            request = await asyncio.to_thread(self._built_again, turn, build)
        if self.earlier is not None and self.earlier.left:
            reading = self.read_earlier()
            if reading is not None:
                await asyncio.shield(reading)  # Stop leaves the read to finish on its own
            self.load_all()  # what is still unread (that failed, or a page read moved its start)
            # estimating thousands of turns to fit the context window: not on the loop
            request = await asyncio.to_thread(self._built_again, turn, build)
        fitter = self.conversation.image_fitter
        return await once_scaled(fitter, lambda: self._built_again(turn, build), request)

    def _built_again(self, turn: Turn, build: Callable[[], ChatRequest]) -> ChatRequest:
        request = build()
        turn.reply.prompt_chars = sum(len(m.content) for m in request.messages)
        return request

    def _finish(self, turn: Turn, view: ReplyView, *, note: str = "") -> None:
        """Show how the reply ended; `note` is the quiet mark under a reply that ended well
        with nothing else to say (the stored images its request left out)."""
        reply = turn.reply
        failure = reply.failure
        if self.tools is not None:
            self.tools.settle(view, reply)
        if failure is not None and reply.status is not ReplyStatus.STOPPED:
            view.finish(
                "error",
                failure_title=reply_failure_title(reply),
                failure_text=failure_text(failure, resumable=reply.has_text),
                actions=failure_actions(failure, reply.has_text),
            )
        else:
            status = reply.status.value
            title, actions = ending_marks(
                status, reply.finish_reason, reply.completion_tokens, reply.has_text
            )
            if not title and reply.tool_stop and self.tools is not None:
                title = self.tools.ending_title(reply)
            if not title and reply.status is ReplyStatus.COMPLETE and not reply.has_content:
                title = "Empty reply: the server sent no text"  # a normal end, nothing in it
            title = title or resumed_note(reply) or note
            view.finish(status, failure_title=title, actions=actions)
        if self.record is not None:
            self.record.reply_finished(turn)
        else:
            turn.resume, turn.regen_of, turn.edit_of = False, None, None
        state = finished_state(reply.status.value, reply.finish_reason)
        self._stats_timer.stop()
        self._running = False
        self._set_state(state, turn)
        self.busyChanged.emit(False)
        if failure is not None and reply.status is not ReplyStatus.STOPPED:
            self.failed.emit(turn.key, failure)
        self.finished.emit(turn.key, reply.status.value)

    # -- retry countdown ------------------------------------------------------------------

    def _start_countdown(
        self, key: int, view: ReplyView, title: str, delay: float, verb: str
    ) -> None:
        self._countdown = asyncio.get_running_loop().create_task(
            self._count_down(key, view, title, delay, verb)
        )

    def _stop_countdown(self) -> None:
        if self._countdown is not None:
            self._countdown.cancel()
            self._countdown = None

    def _notice(self, key: int, view: ReplyView, text: str) -> None:
        view.set_notice(text)
        self.noticeChanged.emit(key, text)

    async def _count_down(
        self, key: int, view: ReplyView, title: str, delay: float, verb: str
    ) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + delay
        while (left := end - loop.time()) > 0:
            shown = f"{left:.0f} s" if left >= 1 else f"{left:.1f} s"
            self._notice(key, view, f"{title}: {verb} in {shown}")
            await asyncio.sleep(min(1.0, left) if left >= 1 else left)
        self._notice(key, view, f"{title}: {verb} now…")

    # -- statistics -----------------------------------------------------------------------

    def _tick(self, turn: Turn) -> None:
        self.updated.emit(turn.key)
        if self.stats.state != "Streaming":
            self._set_state("Streaming", turn)
        elif not self._stats_timer.isActive():
            self._stats_timer.start()

    def _emit_stats(self) -> None:
        turn = next(
            (t for t in reversed(self.turns) if t.reply.status is ReplyStatus.STREAMING), None
        )
        if turn is not None:
            self._set_state(self.stats.state, turn)

    def show_state(self, state: str) -> None:
        """A state word of the streaming reply for the status bar ("Waiting for approval");
        the next text that arrives sets "Streaming" again."""
        turn = next(
            (t for t in reversed(self.turns) if t.reply.status is ReplyStatus.STREAMING), None
        )
        if turn is not None:
            self._set_state(state, turn)

    def _set_state(self, state: str, turn: Turn) -> None:
        self.stats = ReplyStats.of(state, turn.reply.figures(), self._cost_with(turn.reply))
        self.statsChanged.emit(self.stats)

    def _cost_with(self, reply: Reply) -> tuple[float | None, bool]:
        """The conversation's cost while `reply` streams: summed over every turn once, and
        again only when the reply's own cost is settled or turns come or go (the stored turns
        read before the request, a deleted message): the status bar asks ten times a second,
        and a long chat has thousands of turns."""
        summed_for = (reply, reply.cost, len(self.turns))
        held = self._cost_while
        if held is None or held[0][0] is not reply or held[0][1:] != summed_for[1:]:
            held = self._cost_while = (summed_for, self.conversation.cost())
        return held[1]


CONTINUE_ONLY_LATEST = (
    "Only the newest reply can be continued: the messages after this one were asked without "
    "the rest of it. Regenerate it to go on from here."
)
REGENERATE_RETRY = (
    "This reply was a retry of the prompt above it: regenerate that reply, or edit the prompt."
)

# Drawn when the transcript jumps to an end of the conversation, the newest messages (a request
# from a search hit far up, the jump to the latest) or the first (Ctrl+Home): as many as opening
# a conversation draws, the rest as the reader scrolls.
REDRAWN_MESSAGES = 10


def key_of(turn: Turn) -> object:
    """The transcript key of a turn's first message: its prompt, or its reply for a retry."""
    return turn.key if turn.is_retry else ("user", turn.key)


def message_count(turn: Turn) -> int:
    """Messages a stored turn holds: its prompt (a retry has none) and its reply, if stored."""
    return (0 if turn.is_retry else 1) + (1 if turn.reply_id is not None else 0)


def first_shown(turns: list[Turn], messages: int) -> int:
    """The index of the first turn of the last `messages` messages (whole turns)."""
    count, index = 0, len(turns)
    while index > 0 and count < messages:
        index -= 1
        count += message_count(turns[index])
    return index


def resumed_note(reply: Reply) -> str:
    """A quiet mark on a reply that recovered by itself: where it broke and how it went on."""
    if not reply.attempts or reply.status is not ReplyStatus.COMPLETE:
        return ""
    first = reply.attempts[0]
    how = "resumed" if first.strategy == "continue" else "restarted"
    more = f" ({len(reply.attempts)} times)" if len(reply.attempts) > 1 else ""
    return f"{how.capitalize()} after a cut at token {first.tokens}{more}"


def _shown_status(status: ReplyStatus) -> str:
    """The transcript's word for a finished reply: a partial one shows its failure box."""
    return "error" if status is ReplyStatus.PARTIAL else status.value
