"""Resuming against a server that breaks in new ways each time (as a chaos server does): a
resumed attempt that fails before its first token is tried again, a malformed chunk before any
text is retried, and one reply never makes more than `MAX_REQUESTS` requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

import pytest

from streamdesk.core.chat import Conversation, ReplyStatus, ResumePolicy, Target, collect
from streamdesk.core.chat.engine import MAX_REQUESTS
from streamdesk.core.chat.target import base_url_provider

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
WORDS = ["Hello", " there", ",", " friend", "."]


def chunk(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"delta": {"content": text}}]}).encode() + b"\n\n"


def whole() -> bytes:
    done = json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]}).encode()
    return b"".join(chunk(w) for w in WORDS) + b"data: " + done + b"\n\ndata: [DONE]\n\n"


def truncated() -> bytes:  # some text, then a clean end without [DONE]
    return b"".join(chunk(w) for w in WORDS[:2])


def malformed_at_start() -> bytes:
    return b'data: {"choices": [{"delta": {"content": "oo\n\n'


def unavailable() -> bytes:
    return b""  # stands for a 503: see `server`


@contextlib.asynccontextmanager
async def server(script: list[Callable[[], bytes]]) -> AsyncIterator[tuple[str, list[int]]]:
    """Answers request N with script[N] (the last one repeats); counts requests."""
    seen: list[int] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        n = len(seen)
        seen.append(n)
        body = script[min(n, len(script) - 1)]
        if body is unavailable:
            writer.write(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        else:
            writer.write(HEAD + body())
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1", seen
    finally:
        srv.close()
        await srv.wait_closed()


async def waits(delay: float) -> None:
    """The backoff, without the wait: these tests count requests, not seconds."""


def target(base: str) -> Target:
    return Target(base_url_provider(base), "m", max_retries=2)


@pytest.mark.asyncio
async def test_a_resumed_attempt_that_fails_before_its_first_token_is_tried_again() -> None:
    script = [truncated, malformed_at_start, whole]
    async with server(script) as (base, seen):
        send = Conversation(target(base)).ask("hi")
        policy = ResumePolicy("restart", 2)
        reply = await collect(send.turn.reply, send.request, keys=None, resume=policy, sleep=waits)
    assert reply.status is ReplyStatus.COMPLETE, reply.failure
    assert reply.text == "".join(WORDS) and len(seen) == 3


@pytest.mark.asyncio
async def test_a_malformed_chunk_before_any_text_is_retried() -> None:
    async with server([malformed_at_start, whole]) as (base, seen):
        send = Conversation(target(base)).ask("hi")
        reply = await collect(send.turn.reply, send.request, keys=None, sleep=waits)
    assert reply.status is ReplyStatus.COMPLETE and len(seen) == 2


@pytest.mark.asyncio
async def test_one_reply_never_makes_more_than_the_request_budget() -> None:
    script = [truncated, *([unavailable] * 2 + [truncated]) * 10]
    async with server(script) as (base, seen):
        t = Target(base_url_provider(base), "m", max_retries=5)
        send = Conversation(t).ask("hi")
        policy = ResumePolicy("restart", 9)
        reply = await collect(send.turn.reply, send.request, keys=None, resume=policy, sleep=waits)
    assert reply.status is not ReplyStatus.COMPLETE
    assert len(seen) <= MAX_REQUESTS
