"""core.chat.compare: lanes stream at once through the engine, each in its own conversation; one
failing or being stopped leaves the others their figures; `Standings` names the winners."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from streamdesk.core.chat import Conversation, ReplyStatus, Target
from streamdesk.core.chat.compare import Standings, plan_lanes, run_lanes
from streamdesk.core.chat.engine import ChatEvent
from streamdesk.core.events import Done, FailureKind, TextDelta
from streamdesk.core.providers import mock_provider
from streamdesk.mock import MockServer, reply_for


def targets(server: MockServer, *models: str) -> list[Target]:
    provider = mock_provider(server.sse_base_url, server.ws_url)
    return [Target(provider, m, protocol="ws" if i % 2 else "sse") for i, m in enumerate(models)]


def test_each_lane_asks_the_prompt_in_a_conversation_of_its_own_after_the_context() -> None:
    provider = mock_provider("http://127.0.0.1:9/v1", "ws://127.0.0.1:9/v1/ws/chat")
    main = Conversation(target=Target(provider, "gpt-4.1"))
    main.ask("first question").turn.reply.parts.append("first answer")
    lanes = plan_lanes(
        "second",
        [Target(provider, "gpt-4.1"), Target(provider, "deepseek-v3.2", protocol="ws")],
        system_prompt="Be brief.",
        params={"max_tokens": 50},
        earlier=main.turns,
    )
    assert lanes[0].conversation is not lanes[1].conversation
    for lane in lanes:
        request = lane.send.request
        assert [(m.role, m.content) for m in request.messages] == [
            ("system", "Be brief."),
            ("user", "first question"),
            ("assistant", "first answer"),
            ("user", "second"),
        ]
        assert request.model == lane.target.model and request.max_tokens == 50
    assert len(main.turns) == 1, "the context is read, never changed"


@pytest.mark.asyncio
async def test_lanes_stream_at_once_and_one_failure_stops_no_other(dead_port: int) -> None:
    async with MockServer(tokens_per_second=60, first_token_delay=0, reply_tokens=30) as server:
        lanes = plan_lanes("hello", targets(server, "gpt-4.1", "deepseek-v3.2"))
        broken = dataclasses.replace(
            lanes[0].target.provider, base_url=f"http://127.0.0.1:{dead_port}/v1"
        )
        lanes += plan_lanes("hello", [Target(broken, "gpt-4.1")])
        seen: list[tuple[int, type]] = []

        def listen(index: int, event: ChatEvent) -> None:
            seen.append((index, type(event)))

        replies = await run_lanes(lanes, keys=None, listener=listen)
    assert [r.status for r in replies] == [
        ReplyStatus.COMPLETE,
        ReplyStatus.COMPLETE,
        ReplyStatus.ERROR,
    ]
    assert replies[2].failure is not None
    assert replies[2].failure.kind is FailureKind.CONNECTION_REFUSED
    whole = "".join(reply_for("hello", tokens=30))
    assert replies[0].text == replies[1].text == whole
    # both were streaming together: the second's first token came before the first's end
    first_done = seen.index((0, Done))
    assert (1, TextDelta) in seen[:first_done]
    standings = Standings.of(replies)
    assert standings.complete == 2 and standings.failed == (2,)
    assert standings.cheapest == 1  # deepseek-v3.2 costs less than gpt-4.1 for the same tokens


@pytest.mark.asyncio
async def test_cancelling_a_run_stops_every_lane_with_its_text_kept() -> None:
    async with MockServer(tokens_per_second=20, first_token_delay=0, reply_tokens=200) as server:
        lanes = plan_lanes("stop us", targets(server, "gpt-4.1", "gpt-4.1"))
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        arrived: set[int] = set()

        def listen(index: int, event: ChatEvent) -> None:
            if isinstance(event, TextDelta):
                arrived.add(index)
            if len(arrived) == 2 and not started.done():
                started.set_result(None)

        task = asyncio.ensure_future(run_lanes(lanes, keys=None, listener=listen))
        await asyncio.wait_for(started, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    for lane in lanes:
        assert lane.reply.status is ReplyStatus.STOPPED and lane.reply.has_text


def test_standings_with_nothing_complete_name_no_winner() -> None:
    provider = mock_provider("http://127.0.0.1:9/v1", "ws://127.0.0.1:9/v1/ws/chat")
    lanes = plan_lanes("x", [Target(provider, "gpt-4.1"), Target(provider, "gpt-4.1")])
    standings = Standings.of([lane.reply for lane in lanes])
    assert standings == Standings()
