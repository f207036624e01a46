"""A conversation: its target, its turns, and the rules for send, retry, continue, regenerate and
edit. Each rule returns a `Send`: the turn whose reply streams and the request that goes out.

The request is always built from the turns (superseded replies left out, a prompt that got no
reply folded away) plus the conversation's system prompt and parameters; a continued reply's
text is the last message, the assistant's, so the server carries on from where it stopped.

A request fits its model's context window where the profile knows it: the oldest whole turns
are left out until the estimate (`core.chat.context`) fits, the system prompt, the new prompt
and a continuation's prefix never (too long by themselves, they go anyway and the server says
why), and the request counts the messages it left out (`ChatRequest.left_out`, phrased by
`request_notice`). The schemas of the tools the request offers count too
(`Conversation.offered_tools`): the engine attaches them when it sends, so whoever lists them
tells the conversation first. The request keeps its window, its reply's reserve and the size of
each earlier turn it carries (`ChatRequest.fit`), so the engine can leave more out as tool
rounds add to it or when the server refuses it as too long.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streamdesk.core.attachments import (
    Attachment,
    AttachmentRefused,
    ImageFitter,
    images_left_out,
)
from streamdesk.core.chat.context import estimated_tokens, history_room, reply_reserve
from streamdesk.core.chat.reply import (
    Attempt,
    Earlier,
    Reply,
    ReplyStatus,
    rounds_of,
)
from streamdesk.core.chat.target import Target
from streamdesk.core.chat.tools import reply_messages
from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.request import ChatRequest, ContextFit, EarlierTurn, Message, ToolSpec
from streamdesk.core.store.history import StoredMessage
from streamdesk.core.wording import history_left_out


@dataclass(eq=False)
class Turn:
    """One prompt and its (shown) reply. `key` names the turn in its conversation."""

    key: int
    prompt: str
    reply: Reply
    superseded: bool = False  # replaced by a Retry: left out of later requests
    is_retry: bool = False  # answers the prompt of an earlier turn (no user message of its own)
    # History: ids of the stored user message and reply, and how the next reply is stored.
    user_id: int | None = None
    reply_id: int | None = None
    alt_index: int = 0  # which alternative of the reply is shown (0-based) ...
    alt_count: int = 1  # ... out of how many
    regen_of: int | None = None  # the next reply is a new alternative of this stored reply
    edit_of: int | None = None  # the prompt is a new alternative of this stored user message
    resume: bool = False  # a continuation: the reply is appended to `reply_id`
    attachments: tuple[Attachment, ...] = ()  # images sent with the prompt, every time

    @property
    def target(self) -> Target:
        return self.reply.target


@dataclass(frozen=True, slots=True)
class Send:
    """What to stream next: `turn.reply` receives the reply to `request`."""

    turn: Turn
    request: ChatRequest


TOOL_SERVERS = "mcp_servers"  # the params key of the MCP servers enabled for a conversation


@dataclass(eq=False)
class Conversation:
    """The turns of one conversation and the target its next request goes to (None until
    the first send chooses one)."""

    target: Target | None = None
    system_prompt: str = ""
    params: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens
    turns: list[Turn] = field(default_factory=list)
    conversation_id: int | None = None  # in the history, once stored
    # Makes the stored images fit the API of each request (given by the callers that have an
    # image library: the window, the CLI); without one they go as they were stored.
    image_fitter: ImageFitter | None = None
    # The tools the next request offers, as last listed: their schemas count in its context
    # estimate (the engine attaches the tools it lists when it sends; they are not sent here).
    offered_tools: tuple[ToolSpec, ...] = ()
    _next_key: int = 1

    @property
    def require_target(self) -> Target:
        if self.target is None:
            raise LookupError("the conversation has no target yet")
        return self.target

    @property
    def tool_servers(self) -> list[str]:
        """The MCP servers whose tools this conversation offers (kept in its params, so they
        are stored with it)."""
        value = self.params.get(TOOL_SERVERS)
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    @tool_servers.setter
    def tool_servers(self, names: list[str]) -> None:
        self.params = {**self.params, TOOL_SERVERS: list(dict.fromkeys(names))}
        if not names:
            del self.params[TOOL_SERVERS]

    def load(self, turns: list[Turn]) -> None:
        self.turns = turns
        self._next_key = max((t.key for t in turns), default=0) + 1

    def turn(self, key: object) -> Turn | None:
        return next((t for t in self.turns if t.key == key), None)

    @property
    def latest(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    # -- the rules ------------------------------------------------------------------------

    def ask(self, prompt: str, attachments: tuple[Attachment, ...] = ()) -> Send:
        turn = self._new_turn(prompt)
        turn.attachments = attachments
        turn.reply.prompt_chars = _chars(request := self.request_for(turn, fresh=True))
        return Send(turn, request)

    def retry(self, old: Turn) -> Send:
        """The prompt of `old` again, as a new reply below; `old` leaves the context."""
        old.superseded = True
        turn = self._new_turn(old.prompt)
        turn.attachments = old.attachments
        turn.is_retry = True
        turn.regen_of = old.reply_id
        request = self.request_for(turn, upto=self.turns.index(old))
        turn.reply.prompt_chars = _chars(request)
        return Send(turn, request)

    def can_continue(self, turn: Turn) -> bool:
        """Only the latest reply with text to continue from, and not one that is streaming."""
        return (
            turn is self.latest
            and turn.reply.has_content
            and turn.reply.status is not ReplyStatus.STREAMING
        )

    def continue_reply(self, turn: Turn) -> Send | None:
        """The partial reply as the assistant's prefix; what comes is appended to it. Its tool
        rounds go first, as the calls and results they were; the text after the last one is
        the prefix."""
        if not self.can_continue(turn):
            return None
        old = turn.reply
        request = self.request_for(turn, prefix=old)
        turn.reply = Reply(
            self.require_target,
            prompt_chars=_chars(request),
            earlier=Earlier(old.completion_tokens, old.cost, old.estimated),
            parts=list(old.parts),
            reasoning=list(old.reasoning),
            tool_rounds=[r.copy() for r in old.tool_rounds],
        )
        turn.resume = True
        return Send(turn, request)

    def regenerate(self, turn: Turn) -> Send | None:
        """A new alternative of the latest reply, streamed in its place (the old one is kept)."""
        if turn is not self.latest:
            return None
        turn.regen_of = turn.reply_id
        turn.alt_index, turn.alt_count = turn.alt_count, turn.alt_count + 1
        request = self.request_for(turn)
        turn.reply = Reply(self.require_target, prompt_chars=_chars(request))
        return Send(turn, request)

    def edit(
        self, turn: Turn, prompt: str, attachments: tuple[Attachment, ...] | None = None
    ) -> Send:
        """`prompt` in place of `turn`'s; that turn and every later one leave the conversation.
        Its images go with the new prompt unless `attachments` says otherwise."""
        del self.turns[self.turns.index(turn) :]
        new = self._new_turn(prompt)
        new.attachments = turn.attachments if attachments is None else attachments
        new.edit_of = turn.user_id
        request = self.request_for(new, fresh=attachments is not None)
        new.reply.prompt_chars = _chars(request)
        return Send(new, request)

    # -- requests and figures -------------------------------------------------------------

    def request_for(
        self,
        turn: Turn,
        *,
        upto: int | None = None,
        prefix: Reply | None = None,
        fresh: bool = False,
    ) -> ChatRequest:
        """The history before `turn` (or before index `upto`), then `turn`'s prompt, then the
        `prefix` reply's tool rounds and text as the assistant's when continuing. Every image is
        made to fit the target's API, and left out when its model reads none, except those
        `fresh`ly attached to `turn`: a model without vision refuses them (`vision_failure`).
        The oldest turns stay out when the whole would not fit the model's context window."""
        index = self.turns.index(turn) if upto is None else upto
        system = [Message("system", self.system_prompt)] if self.system_prompt.strip() else []
        prompt = Message("user", turn.prompt, attachments=turn.attachments)
        after: list[Message] = []
        tail = ""
        if prefix is not None:
            rounds, tail = reply_messages(prefix)
            after += rounds
            if tail:
                after.append(Message("assistant", tail))
        target = self.require_target
        max_tokens = self.params.get("max_tokens") or None
        reasoning = bool(self.params.get("reasoning"))
        window = target.provider.context_window(target.model)
        reserve = reply_reserve(target.provider.api, window, max_tokens, reasoning)
        fit = ContextFit(window, reserve, len(system))
        room = history_room(fit, [*system, prompt, *after], self.offered_tools)
        history, earlier, left_out = history_within(self.turns[:index], room)
        sent, notice = images_for_target(
            [*system, *history, prompt, *after],
            target,
            self.image_fitter,
            new=prompt if fresh else None,
        )
        return ChatRequest(
            model=target.request_model,
            messages=tuple(sent),
            max_tokens=max_tokens,
            temperature=self.params.get("temperature"),
            continuation=target.provider.continuation if tail else "",
            reasoning=reasoning,
            image_notice=notice,
            left_out=left_out,
            fit=dataclasses.replace(fit, turns=earlier),
        )

    def cost(self) -> tuple[float | None, bool]:
        """(USD of every reply with a known cost, whether any of them is estimated)."""
        known = [t.reply for t in self.turns if t.reply.cost is not None]
        if not known:
            return None, False
        return sum(r.cost or 0.0 for r in known), any(r.estimated for r in known)

    def _new_turn(self, prompt: str) -> Turn:
        turn = Turn(self._next_key, prompt, Reply(self.require_target))
        self._next_key += 1
        self.turns.append(turn)
        return turn


def images_for_target(
    messages: list[Message],
    target: Target,
    fitter: ImageFitter | None,
    *,
    new: Message | None = None,
) -> tuple[list[Message], str]:
    """`messages` with their images as `target` takes them: each made to fit its API by
    `fitter` (byte for byte when it fits already), or left out when its model reads none, but
    for the `new` prompt's, which go to be refused. The turns keep the images as stored; the
    notice says what was left out ("" when nothing)."""
    if not any(m.attachments for m in messages):
        return messages, ""
    reads = target.provider.reads_images(target.model)
    why = "" if reads else f"{target.model} cannot read images"
    sent: list[Message] = []
    left_out = 0
    for message in messages:
        kept: list[Attachment] = []
        for image in message.attachments if reads or message is new else ():
            try:
                kept.append(image if fitter is None else fitter.fit(image, target.provider.api))
            except AttachmentRefused as exc:
                why = why or str(exc)
        left_out += len(message.attachments) - len(kept)
        same = tuple(kept) == message.attachments
        sent.append(message if same else dataclasses.replace(message, attachments=tuple(kept)))
    return sent, images_left_out(left_out, why) if left_out else ""


def history_within(
    turns: list[Turn], room: int | None
) -> tuple[list[Message], tuple[EarlierTurn, ...], int]:
    """The messages of the newest whole `turns` whose estimate fits `room` tokens (None: all of
    them), each kept turn's size, and how many messages the older turns left out hold. One pass
    from the newest turn back; a turn is made into messages only while it may still fit."""
    kept: list[tuple[list[Message], int]] = []
    left_out = 0
    for position in range(len(turns) - 1, -1, -1):
        earlier = turns[position]
        if not sendable(earlier):
            continue
        messages = turn_messages(earlier)
        if room is not None:
            room -= sum(estimated_tokens(m) for m in messages)
            if room < 0:
                left_out = sum(shown_messages(t) for t in turns[: position + 1] if sendable(t))
                break
        kept.append((messages, shown_messages(earlier)))
    kept.reverse()
    sizes = tuple(EarlierTurn(len(messages), shown) for messages, shown in kept)
    return [m for messages, _ in kept for m in messages], sizes, left_out


def sendable(turn: Turn) -> bool:
    """Whether an earlier turn goes in a request: a superseded turn is asked again by its retry,
    and a prompt that got no reply would leave two user turns in a row."""
    return not turn.superseded and turn.reply.has_content


def turn_messages(turn: Turn) -> list[Message]:
    """An earlier turn as a request sends it: its prompt (a retry has none of its own), its
    reply's tool rounds, then the reply's text after them."""
    messages: list[Message] = []
    if turn.prompt or not turn.is_retry:
        messages.append(Message("user", turn.prompt, attachments=turn.attachments))
    rounds, tail = reply_messages(turn.reply)
    messages += rounds
    if tail or not rounds:
        messages.append(Message("assistant", tail))
    return messages


def shown_messages(turn: Turn) -> int:
    """The messages a user counts in a sent turn: its prompt, if its own, and its reply."""
    return (1 if turn.prompt or not turn.is_retry else 0) + 1


def request_notice(request: ChatRequest, target: Target) -> str:
    """What the user is told about what `request` (to `target`) leaves out: stored images the
    target cannot take, the oldest messages its model cannot read; "" when it sends it all."""
    window = target.provider.context_window(target.model)
    notes = [request.image_notice]
    if request.left_out:
        notes.append(history_left_out(request.left_out, target.model, window))
    return " ".join(note for note in notes if note)


def _chars(request: ChatRequest) -> int:
    """The characters a request sends: the prompt-token estimate when no usage comes."""
    return sum(len(m.content) for m in request.messages)


def failure_of(message: StoredMessage) -> Failure | None:
    if not message.failure_kind:
        return None
    try:
        kind = FailureKind(message.failure_kind)
    except ValueError:
        kind = FailureKind.NETWORK
    return Failure(kind, message.failure_message or "")


def stored_reply(target: Target, message: StoredMessage) -> Reply:
    """A finished reply as the history holds it: its figures are the stored ones."""
    status = ReplyStatus.PARTIAL if message.status == "streaming" else ReplyStatus(message.status)
    return Reply(
        dataclasses.replace(
            target,
            model=message.model or target.model,
            protocol=message.protocol or target.protocol,
        ),
        parts=[message.content] if message.content else [],
        reasoning=[message.reasoning] if message.reasoning else [],
        usage=message.usage,
        status=status,
        failure=failure_of(message),
        cost=message.cost,
        estimated=message.estimated,
        attempts=attempts_of(message),
        tool_rounds=rounds_of(message.tool_rounds),
        finish_reason=finish_reason_of(message),
    )


def finish_reason_of(message: StoredMessage) -> str | None:
    """Why the server ended a stored reply ("stop", "length", …; kept in its timings)."""
    reason = (message.timings or {}).get("finish_reason")
    return reason if isinstance(reason, str) and reason else None


def attempts_of(message: StoredMessage) -> list[Attempt]:
    """The resumed attempts a stored reply went through (kept in its timings)."""
    found: list[Attempt] = []
    raw = (message.timings or {}).get("attempts")
    for item in raw if isinstance(raw, list) else []:
        try:
            kind = FailureKind(item["failure_kind"])
            found.append(Attempt(kind, int(item["tokens"]), int(item["chars"]), item["strategy"]))
        except (KeyError, TypeError, ValueError):
            continue  # written by another version: the mark is a courtesy, not data to trust
    return found


def fill_turn(turn: Turn, message: StoredMessage, target: Target) -> None:
    """Show stored reply `message` in `turn` (opening a conversation, flipping alternatives)."""
    turn.reply_id = message.id
    turn.reply = stored_reply(target, message)
    turn.alt_count = max(1, message.alt_count)
    turn.alt_index = min(message.alt_index, turn.alt_count - 1)


def turns_of(
    messages: Iterable[StoredMessage],
    target: Target,
    images: Mapping[str, Attachment] | None = None,
) -> list[Turn]:
    """The turns of stored messages (the active branch, in order); `images` (by content hash,
    `HistoryStore.images`) gives the prompts their images back, so they are sent again."""
    turns: list[Turn] = []
    found = images or {}
    for m in messages:
        if m.role == "user":
            turn = Turn(len(turns) + 1, m.content, Reply(target), user_id=m.id)
            turn.attachments = tuple(
                dataclasses.replace(found[a.digest], name=a.name)
                for a in m.attachments
                if a.digest in found
            )
            turns.append(turn)
        elif m.role == "assistant":
            last = turns[-1] if turns else None
            if last is None or last.reply_id is not None or last.reply.status.finished:
                last = Turn(len(turns) + 1, "", Reply(target), is_retry=True)
                turns.append(last)
            fill_turn(last, m, target)
    return turns
