"""One prompt to several targets at once: each in a conversation of its own, all streaming
together through the engine, so every column's tokens, cost and timings are the ones a chat
with that target would have.

A `Lane` is one target's conversation and the turn whose reply streams; `run_lanes` streams
them all and returns when every reply has ended (complete, failed or stopped). One lane failing
never stops another. Cancelling `run_lanes` stops every lane, each with its text kept. The CLI
stores each lane as a conversation of its own; the window keeps them in memory until the user
picks one to continue the main conversation with. `Standings` names the winners of a run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streamdesk.core.chat.conversation import Conversation, Send, Turn
from streamdesk.core.chat.engine import ChatEvent, ReplyRecorder, ResumePolicy, stream_reply
from streamdesk.core.chat.reply import Reply, ReplyStatus
from streamdesk.core.chat.target import KeySource, Target

if TYPE_CHECKING:
    from streamdesk.core.attachments import ImageFitter

# Called with the lane's index and each event it streams (the window redraws from it).
Listener = Callable[[int, ChatEvent], None]


@dataclass(eq=False)
class Lane:
    """One target of a compare: its own conversation and the turn whose reply streams."""

    conversation: Conversation
    send: Send
    recorder: ReplyRecorder | None = None  # where the reply is stored as it streams, if it is

    @property
    def turn(self) -> Turn:
        return self.send.turn

    @property
    def reply(self) -> Reply:
        return self.send.turn.reply

    @property
    def target(self) -> Target:
        return self.send.turn.reply.target


def plan_lanes(
    prompt: str,
    targets: Iterable[Target],
    *,
    system_prompt: str = "",
    params: Mapping[str, Any] | None = None,
    earlier: Sequence[Turn] = (),
    image_fitter: ImageFitter | None = None,
) -> list[Lane]:
    """A lane per target, each asking `prompt` after the `earlier` turns (a conversation's
    context; they are read, never changed) with the same system prompt and parameters; the
    earlier turns' images are fitted to each lane's API with `image_fitter`."""
    lanes = []
    for target in targets:
        conversation = Conversation(
            target=target,
            system_prompt=system_prompt,
            params=dict(params or {}),
            image_fitter=image_fitter,
        )
        conversation.load(list(earlier))
        lanes.append(Lane(conversation, conversation.ask(prompt)))
    return lanes


async def run_lane(
    index: int,
    lane: Lane,
    *,
    keys: KeySource | None,
    listener: Listener | None = None,
) -> Reply:
    """Stream one lane's reply to its end; the provider's resume policy applies."""
    reply = lane.reply
    events = stream_reply(
        reply,
        lane.send.request,
        keys=keys,
        recorder=lane.recorder,
        resume=ResumePolicy.of(reply.target),
    )
    async with contextlib.aclosing(events):
        async for event in events:
            if listener is not None:
                listener(index, event)
    return reply


async def run_lanes(
    lanes: Sequence[Lane], *, keys: KeySource | None, listener: Listener | None = None
) -> list[Reply]:
    """Stream every lane at once and return their replies, in lane order."""
    return list(
        await asyncio.gather(
            *(run_lane(i, lane, keys=keys, listener=listener) for i, lane in enumerate(lanes))
        )
    )


@dataclass(frozen=True, slots=True)
class Standings:
    """Which lanes won (indexes; None: no lane has the figure): the first token soonest, the
    most tokens per second, the lowest cost. Only complete replies compete."""

    fastest_first_token: int | None = None
    fastest_speed: int | None = None
    cheapest: int | None = None
    complete: int = 0  # replies that completed
    failed: tuple[int, ...] = ()  # lanes that ended in a failure

    @classmethod
    def of(cls, replies: Sequence[Reply]) -> Standings:
        done = [i for i, r in enumerate(replies) if r.status is ReplyStatus.COMPLETE]
        failed = tuple(
            i for i, r in enumerate(replies) if r.status in (ReplyStatus.ERROR, ReplyStatus.PARTIAL)
        )

        def best(figure: Callable[[Reply], float | None], highest: bool = False) -> int | None:
            known = [(v, i) for i in done if (v := figure(replies[i])) is not None]
            if not known:
                return None
            return (max if highest else min)(known, key=lambda pair: pair[0])[1]

        def speed(reply: Reply) -> float | None:
            return None if reply.trace is None else reply.trace.tokens_per_second

        return cls(
            fastest_first_token=best(lambda r: r.ttft),
            fastest_speed=best(speed, highest=True),
            cheapest=best(lambda r: r.cost),
            complete=len(done),
            failed=failed,
        )
