"""The slow things the settings dialog does, as plain coroutines (no Qt): testing a connection
(through the engine's probe) and keeping the dialog's tasks referenced.

The dialog runs these as tasks on the qasync loop and reports the outcome through signals, so a
slow server never freezes the window and no nested event loop is ever started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from streamdesk.core.chat import Network, Target
from streamdesk.core.chat.probe import probe
from streamdesk.core.events import FailureKind
from streamdesk.core.provider_urls import endpoint_problem
from streamdesk.core.providers import Provider
from streamdesk.ui.failures import describe_failure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    message: str  # "OK · 143 ms to first token" or "Key rejected: HTTP 401 from …"
    first_token_ms: float | None = None
    kind: FailureKind | None = None


async def check_connection(
    provider: Provider,
    api_key: str | None,
    *,
    protocol: str = "sse",
    model: str | None = None,
    proxy: str | None = None,
    ca_bundle: str | None = None,
) -> CheckResult:
    """Test connection with the dialog's (maybe unsaved) values: the engine's probe, phrased.
    The URLs are checked first, then the model: each says what to write in which field.

    `proxy` is final (None: the environment's, "": none, else the URL with credentials).
    """
    url_problem = endpoint_problem(provider.base_url, provider.ws_url, provider.api)
    if url_problem is not None:
        return CheckResult(False, url_problem[1], kind=FailureKind.BAD_REQUEST)
    model = model or provider.default_model or (provider.models[0].id if provider.models else "")
    if not model:
        why = "Add a model to test with, or press Refresh models."
        return CheckResult(False, why, kind=FailureKind.BAD_REQUEST)
    mode = "system" if proxy is None else "none" if proxy == "" else "url"
    network = Network(proxy_mode=mode, proxy_url=proxy or "", ca_bundle=ca_bundle or "")
    target = Target(provider, model, protocol, api_key=api_key, network=network)
    result = await probe(target, None)
    if result.failure is not None:
        return CheckResult(False, describe_failure(result.failure), kind=result.failure.kind)
    if result.first_token_ms is not None:
        ms = result.first_token_ms
        return CheckResult(True, f"OK · {ms:.0f} ms to first token", ms)
    if result.round_trip_ms is not None:
        ms = result.round_trip_ms
        return CheckResult(True, f"OK · {ms:.0f} ms (no text in the reply)", ms)
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
