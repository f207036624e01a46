"""The MCP servers of one app or one `ask`: started on demand, their tools listed, their calls
run with a timeout, each server's stderr in a log file the user can open.

The SDK's client context managers (`stdio_client`, `streamable_http_client`, `ClientSession`)
must be entered and left in one task, so each server runs in a task of its own that opens the
connection, reports ready and waits to be told to stop; calls reach it through its session.
Every wait is bounded: a server that does not start, hangs or crashes becomes a
`ToolServerError` that names it and its log, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from streamdesk.core.errors import StreamdeskError
from streamdesk.core.redact import redact_known
from streamdesk.core.request import ToolSpec
from streamdesk.core.tools.config import (
    McpServerConfig,
    MissingSecret,
    SecretLookup,
    expand,
    url_fault,
)

if TYPE_CHECKING:
    from mcp.client.session import ClientSession
    from mcp.types import CallToolResult

log = logging.getLogger(__name__)

MAX_RESULT_CHARS = 100_000  # of one tool result sent to the model and stored
LOG_ROTATE_BYTES = 1_000_000  # a server's log is moved aside to `.1` when it grows past this
STOP_TIMEOUT = 5.0  # seconds a server has to shut down before its task is cancelled
_TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")
MAX_TOOL_NAME = 64  # what OpenAI-compatible APIs accept


class ToolServerError(StreamdeskError):
    """A tool server could not start, or stopped; the message names it and its log."""

    def __init__(self, server: str, message: str, log_path: Path | None = None) -> None:
        text = f'The tool server "{server}" {message}'
        if log_path is not None:
            text += f" Its log: {log_path}"
        super().__init__(text)
        self.server = server
        self.log_path = log_path


class ToolTimeout(StreamdeskError):
    """A tool call ran longer than its timeout (and was cancelled)."""


@dataclass(frozen=True, slots=True)
class ServerTool:
    """A tool as its server lists it."""

    server: str
    name: str
    description: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What a call returned: its text for the model, and whether the tool reported an error."""

    content: str
    is_error: bool = False


def result_text(result: CallToolResult) -> str:
    """A tool result as text: text parts as they are, other parts named, capped in length."""
    from mcp import types

    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            parts.append(f"[{block.type}: {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
        elif isinstance(block, types.EmbeddedResource):
            res = block.resource
            text = getattr(res, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource: {res.uri}]")
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[link: {block.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts)
    if len(text) > MAX_RESULT_CHARS:
        cut = len(text) - MAX_RESULT_CHARS
        text = f"{text[:MAX_RESULT_CHARS]}\n[… {cut} more characters cut by Streamdesk]"
    return text


def log_tail(path: Path, lines: int = 3) -> str:
    """The last lines of a server's log: usually why it stopped."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    run = text.rsplit("\n--- ", 1)[-1].splitlines()[1:]  # this run's lines, after its start line
    kept = [ln.strip() for ln in run if ln.strip()]
    return " / ".join(kept[-lines:])


def _describe(exc: BaseException) -> str:
    """One line for an exception, also out of the SDK's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    return redact_known(text)


class ServerConnection:
    """One MCP server: its task, its session while it runs, and why it stopped."""

    def __init__(
        self,
        config: McpServerConfig,
        log_path: Path,
        *,
        secrets: SecretLookup | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.log_path = log_path
        self.secrets = secrets
        self.environ = os.environ if environ is None else environ
        self.tools: list[ServerTool] = []
        self._task: asyncio.Task[None] | None = None
        self._session: ClientSession | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def running(self) -> bool:
        return self._session is not None and self._task is not None and not self._task.done()

    def error(self, message: str) -> ToolServerError:
        tail = log_tail(self.log_path)
        if tail:
            message = f"{message.rstrip('.')}: {tail}."
        return ToolServerError(self.name, message, self.log_path)

    async def start(self) -> list[ServerTool]:
        """Start the server unless it runs, and return its tools; bounded by `start_timeout`."""
        if self.running:
            return self.tools
        fault = url_fault(self.config)
        if fault is not None:  # kept as written in settings.toml: nothing to connect to
            raise ToolServerError(  # and no log: nothing ran, an older run's would mislead
                self.name,
                f"cannot start: its URL {self.config.url!r} is not valid ({fault}); "
                "put it right in Settings ▸ MCP servers.",
            )
        if self._ready is None or self._ready.done():
            await self.stop()
            loop = asyncio.get_running_loop()
            self._ready = loop.create_future()
            # a start given up on (timeout) still gets its exception: it is not an error then
            self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._stop = asyncio.Event()
            self._task = loop.create_task(self._run(self._ready), name=f"mcp:{self.name}")
        ready = self._ready
        try:
            await asyncio.wait_for(asyncio.shield(ready), self.config.start_timeout)
        except TimeoutError:
            await self.stop()
            raise self.error(
                f"did not start within {self.config.start_timeout:g} s "
                f"(start_timeout in its settings)."
            ) from None
        return self.tools

    async def call(self, tool: str, arguments: Mapping[str, Any], time_limit: float) -> CallOutcome:
        """Run `tool`; raises `ToolTimeout` after `time_limit` seconds, `ToolServerError` when the
        server cannot start or stops during the call. Cancelling cancels the call."""
        from mcp.shared.exceptions import MCPError
        from mcp.types import CONNECTION_CLOSED

        await self.start()
        session = self._session
        if session is None:
            raise self.error("stopped.")
        try:
            async with asyncio.timeout(time_limit):
                result = await session.call_tool(tool, dict(arguments))
        except TimeoutError:
            raise ToolTimeout(
                f'{tool} on "{self.name}" did not answer within {time_limit:g} s.'
            ) from None
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                self._session = None
                self._stop.set()  # the task winds down; the next call starts it again
                raise self.error(f"stopped while running {tool}.") from None
            return CallOutcome(f"The tool server answered with an error: {exc.message}", True)
        return CallOutcome(result_text(result), bool(result.is_error))

    async def stop(self) -> None:
        """Ask the server to stop, and wait for it (bounded); then its task is gone."""
        task = self._task
        if task is None:
            return
        self._stop.set()
        if not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            except asyncio.CancelledError:
                task.cancel()
                raise
            except Exception:
                log.debug("the tool server %s stopped with an error", self.name, exc_info=True)
        self._task = None

    # -- the server's task ----------------------------------------------------------------

    async def _run(self, ready: asyncio.Future[None]) -> None:
        from mcp.client.session import ClientSession

        try:
            with self._open_log() as errlog:
                async with contextlib.AsyncExitStack() as stack:
                    read, write = await self._connect(stack, errlog)
                    session = await stack.enter_async_context(ClientSession(read, write))
                    await session.initialize()
                    self.tools = await self._list(session)
                    self._session = session
                    ready.set_result(None)
                    await self._stop.wait()
                    self._session = None
        except asyncio.CancelledError:
            if not ready.done():
                ready.set_exception(self.error("was stopped while starting."))
            raise
        except MissingSecret as exc:
            if not ready.done():
                ready.set_exception(ToolServerError(self.name, f"cannot start: {exc}."))
        except Exception as exc:
            what = _describe(exc)
            if not ready.done():
                ready.set_exception(self.error(f"could not start ({what})."))
            else:
                log.info("the tool server %s stopped: %s", self.name, what)
            self._note(f"streamdesk: {what}")
        finally:
            self._session = None

    def _note(self, line: str) -> None:
        """A line of our own in the server's log (why it stopped, for HTTP servers too)."""
        with contextlib.suppress(OSError), self.log_path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def _open_log(self) -> TextIO:
        path = self.log_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            if path.stat().st_size > LOG_ROTATE_BYTES:
                path.replace(path.with_name(path.name + ".1"))
        f = path.open("a", encoding="utf-8", errors="replace")
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        f.write(f"--- {when} starting {self.config.where}\n")
        f.flush()
        return f

    async def _connect(self, stack: contextlib.AsyncExitStack, errlog: TextIO) -> Any:
        config = self.config

        def expanded(values: Mapping[str, str]) -> dict[str, str]:
            return {k: expand(v, self.secrets, self.environ) for k, v in values.items()}

        if config.url:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            client = create_mcp_http_client(headers=expanded(config.headers))
            await stack.enter_async_context(client)
            return await stack.enter_async_context(
                streamable_http_client(config.url, http_client=client)
            )
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=config.command,
            args=list(config.args),
            env=expanded(config.env) or None,
            cwd=config.cwd or None,
        )
        return await stack.enter_async_context(stdio_client(params, errlog=errlog))

    async def _list(self, session: ClientSession) -> list[ServerTool]:
        tools: list[ServerTool] = []
        cursor: str | None = None
        from mcp import types

        for _ in range(100):  # pages; a server that never stops paging is cut off
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            listed = await session.list_tools(params=params)
            tools += [
                ServerTool(self.name, t.name, t.description or "", dict(t.input_schema))
                for t in listed.tools
            ]
            cursor = listed.next_cursor
            if not cursor:
                break
        return tools


@dataclass(frozen=True, slots=True)
class Catalog:
    """The tools offered to the model: by offered name (unique across servers, in the shape
    APIs accept), and the servers that could not start."""

    tools: Mapping[str, ServerTool]
    unavailable: Mapping[str, str] = field(default_factory=dict)  # server -> why

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(
            ToolSpec(name, t.description, t.input_schema) for name, t in self.tools.items()
        )

    def server_of(self, offered: str) -> str:
        tool = self.tools.get(offered)
        return tool.server if tool is not None else ""


def offered_names(tools: Iterable[ServerTool]) -> dict[str, ServerTool]:
    """Names for the model: the tool's own when it is unique, else `server__tool`, both
    reduced to letters, digits, '_' and '-' and at most 64 characters."""
    listed = list(tools)

    def clean(name: str) -> str:
        return _TOOL_NAME.sub("_", name)[:MAX_TOOL_NAME] or "tool"

    counts: dict[str, int] = {}
    for t in listed:
        counts[clean(t.name)] = counts.get(clean(t.name), 0) + 1
    out: dict[str, ServerTool] = {}
    for t in listed:
        name = clean(t.name)
        if counts[name] > 1:
            name = clean(f"{t.server}__{t.name}")
        base, n = name, 2
        while name in out:
            name = f"{base[: MAX_TOOL_NAME - len(str(n)) - 1]}_{n}"
            n += 1
        out[name] = t
    return out


class ToolHub:
    """Every configured MCP server, each started the first time it is needed."""

    def __init__(
        self,
        servers: Iterable[McpServerConfig],
        *,
        log_dir: Path | None = None,
        secrets: SecretLookup | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.configs = {s.name: s for s in servers}
        self._log_dir = log_dir
        self._secrets = secrets
        self._environ = environ
        self._connections: dict[str, ServerConnection] = {}

    def log_path(self, name: str) -> Path:
        """The file that receives server `name`'s stderr (and its start lines)."""
        if self._log_dir is None:
            from streamdesk.core.paths import log_dir

            self._log_dir = log_dir()
        return self._log_dir / f"mcp-{name}.log"

    def add(self, config: McpServerConfig) -> None:
        """Configure one more server (or replace one that is not running)."""
        self.configs[config.name] = config

    def connection(self, name: str) -> ServerConnection:
        found = self._connections.get(name)
        if found is not None:
            return found
        config = self.configs.get(name)
        if config is None:
            known = ", ".join(sorted(self.configs)) or "none"
            raise ToolServerError(name, f"is not configured (configured: {known}).")
        found = ServerConnection(
            config, self.log_path(name), secrets=self._secrets, environ=self._environ
        )
        self._connections[name] = found
        return found

    async def tools(self, name: str) -> list[ServerTool]:
        """Server `name`'s tools, starting it if needed; raises `ToolServerError`."""
        return await self.connection(name).start()

    async def catalog(self, names: Iterable[str]) -> Catalog:
        """The tools of servers `names`, started together; a server that cannot start is
        left out and named in `unavailable`."""
        wanted = list(dict.fromkeys(names))
        found = await asyncio.gather(
            *(self._tools_or_error(n) for n in wanted), return_exceptions=False
        )
        tools: list[ServerTool] = []
        unavailable: dict[str, str] = {}
        for name, result in zip(wanted, found, strict=True):
            if isinstance(result, ToolServerError):
                unavailable[name] = str(result)
            else:
                tools += result
        return Catalog(offered_names(tools), unavailable)

    async def _tools_or_error(self, name: str) -> list[ServerTool] | ToolServerError:
        try:
            return await self.tools(name)
        except ToolServerError as exc:
            return exc

    async def call(
        self, server: str, tool: str, arguments: Mapping[str, Any], time_limit: float | None = None
    ) -> CallOutcome:
        """Run `tool` on `server` for at most `time_limit` s (None: the server's timeout)."""
        connection = self.connection(server)
        limit = connection.config.call_timeout if time_limit is None else time_limit
        return await connection.call(tool, arguments, limit)

    async def aclose(self) -> None:
        """Stop every server (each bounded by `STOP_TIMEOUT`)."""
        connections = list(self._connections.values())
        self._connections.clear()
        await asyncio.gather(*(c.stop() for c in connections), return_exceptions=True)
