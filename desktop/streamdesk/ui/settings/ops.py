"""The slow things the settings dialog does, as plain coroutines (no Qt): testing a connection.

The dialog runs these as tasks on the qasync loop and reports the outcome through signals, so a
slow server never freezes the window and no nested event loop is ever started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any

from streamdesk.core.events import Done, Failure, FailureKind, TextDelta
from streamdesk.core.providers import Provider
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.core.trace import StreamTrace
from streamdesk.ui.failures import FAILURE_TITLES

log = logging.getLogger(__name__)
TEST_PROMPT = "Reply with one word: ok"
TEST_MAX_TOKENS = 3  # enough for a first token, cheap on a paid API


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    message: str  # "OK · 143 ms to first token" or "Key rejected: HTTP 401 from …"
    first_token_ms: float | None = None
    kind: FailureKind | None = None


def describe_failure(failure: Failure) -> str:
    title = FAILURE_TITLES.get(failure.kind, failure.kind.value)
    return f"{title}: {failure.message}"


async def check_connection(
    provider: Provider,
    api_key: str | None,
    *,
    protocol: str = "sse",
    model: str | None = None,
    proxy: str | None = None,
    ca_bundle: str | None = None,
) -> CheckResult:
    """Stream a tiny reply and stop at the first token; no retries (the user wants the truth)."""
    if not provider.base_url:
        return CheckResult(False, "Enter an SSE base URL first.", kind=FailureKind.BAD_REQUEST)
    model = model or provider.default_model or (provider.models[0].id if provider.models else "")
    if not model:
        return CheckResult(False, "Enter a model name first.", kind=FailureKind.BAD_REQUEST)
    endpoint = replace(provider.endpoint(api_key, proxy=proxy, ca_bundle=ca_bundle), max_retries=0)
    request = ChatRequest(model, (Message("user", TEST_PROMPT),), max_tokens=TEST_MAX_TOKENS)
    trace = StreamTrace()
    transport = make_transport(protocol, endpoint, provider_id=provider.id)
    started = time.perf_counter()
    try:
        events: Any = stream_chat(  # an async generator: aclosing ends it early
            transport, request, trace=trace, timeouts=endpoint.timeouts, max_retries=0
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, TextDelta | Done):
                    ttft = trace.ttft
                    if ttft is None:  # finished without text: report the whole round trip
                        ms = (time.perf_counter() - started) * 1000
                        return CheckResult(True, f"OK · {ms:.0f} ms (no text in the reply)", ms)
                    ms = ttft * 1000
                    return CheckResult(True, f"OK · {ms:.0f} ms to first token", ms)
                if isinstance(event, Failure):
                    return CheckResult(False, describe_failure(event), kind=event.kind)
    finally:
        await transport.aclose()
    return CheckResult(False, "The server closed the stream without a reply.")


class Tasks:
    """Keeps references to the dialog's tasks (the loop holds only weak ones); tests await idle."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("settings task failed", exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Until every task (and any task they start) has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
