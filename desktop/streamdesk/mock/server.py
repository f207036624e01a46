"""The mock server: one loopback port for every SSE dialect, the model list and WebSocket chat."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote

from streamdesk.mock.anthropic import ANTHROPIC, anthropic_models
from streamdesk.mock.chat import Chat, ChatRejected, Defaults, parse_body, pick_scenario, plan_chat
from streamdesk.mock.dialect import CHAT, Dialect
from streamdesk.mock.gemini import GEMINI, gemini_models
from streamdesk.mock.http import BadRequest, HttpConnection, Request
from streamdesk.mock.replies import ReplyVariants
from streamdesk.mock.responses import RESPONSES
from streamdesk.mock.scenarios import (
    FLAKY,
    HTTP_ERRORS,
    MID_STREAM_FAULTS,
    ONCE,
    HttpError,
    bad_request,
    unauthorized,
)
from streamdesk.mock.sse import stream_sse
from streamdesk.mock.ws import serve_websocket

log = logging.getLogger(__name__)

GEMINI_PREFIX = "/v1beta/models/"
GEMINI_METHODS = {"streamGenerateContent": True, "generateContent": False}
POST_ROUTES = {"/v1/chat/completions": CHAT, "/v1/messages": ANTHROPIC, "/v1/responses": RESPONSES}

MODELS = ("gpt-4.1", "claude-sonnet-4.5", "gemini-2.5-flash", "deepseek-v3.2", "deepseek-reasoner")
OWNERS = ("openai", "anthropic", "google", "deepseek", "deepseek")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server saw it. WebSocket messages are recorded with method "WS"."""

    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case names
    body: bytes
    scenario: str
    query: str = ""
    time: float = field(default_factory=time.monotonic)


class MockServer:
    """An OpenAI-compatible streaming server for tests, the offline demo, the CLI and benchmarks."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tokens_per_second: float = 200.0,
        first_token_delay: float = 0.05,
        reply_tokens: int | None = None,
        api_key: str | None = None,
        models: tuple[str, ...] = MODELS,
        vary_replies: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.models = models  # what GET /v1/models lists (a local server often has one)
        self.defaults = Defaults(tokens_per_second, first_token_delay, reply_tokens)
        self.requests: list[RecordedRequest] = []
        self._flaky_seen: set[tuple[str, str]] = set()
        # with vary_replies (the offline demo), Regenerate (the same request again) gets
        # another take of the reply; tests compare with reply_for(prompt) and leave it off
        self.variants = ReplyVariants(vary_replies)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def sse_base_url(self) -> str:
        return f"http://{self._url_host}:{self.port}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._url_host}:{self.port}/v1/ws/chat"

    @property
    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and cancel every connection, streaming or idle, without waiting."""
        if self._server is None:
            return
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> MockServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve the connection in a task of our own, not asyncio's client_connected_cb task.

        asyncio (3.11) calls `task.exception()` on its own task when it ends, which logs
        "Exception in callback" for a task that close() cancelled before it ever ran.
        """
        task = asyncio.get_running_loop().create_task(self._handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._connection_done(done, writer))

    def _connection_done(self, task: asyncio.Task[Any], writer: asyncio.StreamWriter) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            writer.transport.abort()
        elif (exc := task.exception()) is not None:
            log.error("mock: connection handler failed", exc_info=exc)
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = HttpConnection(reader, writer)
        try:
            await self._serve(conn)
        except BadRequest as exc:
            log.debug("mock: bad request: %s", exc)
            with contextlib.suppress(ConnectionError):
                conn.respond_bad_request(exc.status, bad_request(str(exc)).body())
                await writer.drain()
        except ConnectionError as exc:
            log.debug("mock: connection ended: %r", exc)
        finally:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                writer.transport.abort()
            else:
                writer.close()

    async def _serve(self, conn: HttpConnection) -> None:
        while (request := await conn.next_request()) is not None:
            if (
                request.path == "/v1/ws/chat"
                and "websocket" in request.headers.get("upgrade", "").lower()
            ):
                await self._websocket(conn, request)
                return
            keep = await self._http(conn, request) and request.keep_alive
            if not keep or conn.closing:
                return

    def _record(self, request: Request, scenario: str, body: bytes | None = None) -> None:
        self.requests.append(
            RecordedRequest(
                "WS" if body is not None else request.method,
                request.path,
                dict(request.headers),
                request.body if body is None else body,
                scenario,
                request.query,
            )
        )

    def _authorized(self, request: Request, allow_query: bool = False) -> bool:
        if self.api_key is None:
            return True
        key = self.api_key.encode()
        candidates = [request.headers.get(h, "") for h in ("x-api-key", "x-goog-api-key")]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            candidates.append(token.strip())
        if allow_query:
            candidates.extend(parse_qs(request.query).get("api_key", []))
        return any(hmac.compare_digest(c.encode(), key) for c in candidates)

    async def _http(self, conn: HttpConnection, request: Request) -> bool:
        """Answer one plain HTTP request; False when the connection must close."""
        keep = request.keep_alive
        headers: list[tuple[str, str]]
        if request.method == "POST" and request.path in POST_ROUTES:
            return await self._reply(conn, request, POST_ROUTES[request.path])
        if request.method == "POST" and request.path.startswith(GEMINI_PREFIX):
            model, _, method = unquote(request.path[len(GEMINI_PREFIX) :]).rpartition(":")
            if model and method in GEMINI_METHODS:
                return await self._reply(conn, request, GEMINI, model, GEMINI_METHODS[method])
        self._record(request, request.headers.get("x-mock-scenario", "ok"))
        if not self._authorized(request):
            status, body, headers = 401, unauthorized().body(), []
        elif request.path == "/v1/models" and request.method == "GET":
            anthropic = "anthropic-version" in request.headers
            listing = anthropic_models(self.models) if anthropic else self._models()
            status, body, headers = 200, listing, []
        elif request.path == GEMINI_PREFIX.rstrip("/") and request.method == "GET":
            status, body, headers = 200, gemini_models(self.models), []
        elif request.path.startswith("/v1/models/") and request.path[11:] in self.models:
            status, body, headers = 200, self._model(request.path[11:]), []
        elif request.path == "/v1/ws/chat":
            status, body = 426, bad_request("Use a WebSocket upgrade here.").body()
            headers = [("upgrade", "websocket")]
        elif request.path in ("/v1/models", *POST_ROUTES):
            status, body, headers = 405, bad_request("Method not allowed.").body(), []
        else:
            error = HttpError(404, "invalid_request_error", "not_found", "Unknown path.")
            status, body, headers = 404, error.body(), []
        conn.respond_json(status, body, headers, keep_alive=keep)
        await conn.writer.drain()
        return keep

    def _model(self, name: str) -> dict[str, object]:
        owner = OWNERS[MODELS.index(name)] if name in MODELS else "local"
        return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": owner}

    def _models(self) -> dict[str, object]:
        return {"object": "list", "data": [self._model(m) for m in self.models]}

    def _error(
        self, conn: HttpConnection, error: HttpError, keep: bool, dialect: Dialect = CHAT
    ) -> bool:
        body = dialect.error_body(error)
        conn.respond_json(error.status, body, error.headers(), keep_alive=keep)
        return keep

    def _prepare(
        self,
        request: Request,
        raw: bytes,
        body: dict[str, Any],
        explicit: str | None,
        ws: bool,
        thinking: bool = False,
    ) -> Chat | HttpError:
        """Record the request, then plan its reply or pick the error it must get."""
        model = body.get("model")
        try:
            scenario = pick_scenario(explicit, model if isinstance(model, str) else "")[1]
        except ChatRejected:
            scenario = explicit or "invalid"
        self._record(request, scenario, raw if ws else None)
        if not ws and not self._authorized(request):
            return unauthorized()
        take = self.variants.take(request.path, body.get("messages"))
        try:
            chat = plan_chat(body, request.headers, explicit, self.defaults, thinking, take)
        except ChatRejected as exc:
            return exc.error
        if chat.scenario in HTTP_ERRORS:
            return HTTP_ERRORS[chat.scenario]
        if chat.scenario in FLAKY:
            key = (chat.scenario, request.headers.get("x-mock-flaky-id", chat.prompt))
            if key not in self._flaky_seen:
                self._flaky_seen.add(key)
                return FLAKY[chat.scenario]
        if chat.scenario in ONCE:
            key = (chat.scenario, request.headers.get("x-mock-flaky-id", chat.prompt))
            first = key not in self._flaky_seen
            self._flaky_seen.add(key)
            chat = dataclasses.replace(chat, scenario=ONCE[chat.scenario] if first else "ok")
        if chat.scenario not in MID_STREAM_FAULTS:
            self.variants.given(chat.take)
        return chat

    async def _reply(
        self,
        conn: HttpConnection,
        request: Request,
        dialect: Dialect,
        path_model: str | None = None,
        streaming: bool | None = None,
    ) -> bool:
        """Answer one chat request in `dialect`; `streaming` None means the body's `stream`."""
        keep = request.keep_alive
        try:
            raw = parse_body(request.body)
            body, thinking = dialect.translate(raw, path_model)
        except ChatRejected as exc:
            self._record(request, "invalid")
            return self._error(conn, exc.error, keep, dialect)
        explicit = request.headers.get("x-mock-scenario")
        plan = self._prepare(request, request.body, body, explicit, ws=False, thinking=thinking)
        if isinstance(plan, HttpError):
            return self._error(conn, plan, keep, dialect)
        if not (raw.get("stream") is True if streaming is None else streaming):
            conn.respond_json(200, dialect.whole(plan), keep_alive=keep)
            return keep
        return await stream_sse(conn, plan, dialect.stream(plan), keep) and keep

    async def _websocket(self, conn: HttpConnection, request: Request) -> None:
        header_scenario = request.headers.get("x-mock-scenario")
        self._record(request, header_scenario or "ok")
        rejection: HttpError | None = None
        if not self._authorized(request, allow_query=True):
            rejection = unauthorized()
        elif header_scenario in HTTP_ERRORS:
            rejection = HTTP_ERRORS[header_scenario]
        elif header_scenario in FLAKY:
            key = (header_scenario, request.headers.get("x-mock-flaky-id", ""))
            if key not in self._flaky_seen:
                self._flaky_seen.add(key)
                rejection = FLAKY[header_scenario]
        if rejection is not None:
            self._error(conn, rejection, keep=False)
            await conn.writer.drain()
            return

        def prepare(raw: bytes, message: dict[str, Any]) -> Chat | HttpError:
            field_scenario = message.get("scenario")
            explicit = field_scenario if isinstance(field_scenario, str) else header_scenario
            if explicit in FLAKY and header_scenario == explicit:
                explicit = None  # the handshake already played the flaky failure
            return self._prepare(request, raw, message, explicit, ws=True)

        leftover = conn.take_over()
        await serve_websocket(conn.reader, conn.writer, request, leftover, prepare)


def run_mock_in_thread(
    host: str = "127.0.0.1", port: int = 0, **options: Any
) -> tuple[MockServer, Callable[[], None]]:
    """Start a MockServer on its own event loop in a daemon thread; returns it and `stop()`.

    `stop()` closes the server, stops the loop and joins the thread; calling it twice is harmless.
    """
    server = MockServer(host, port, **options)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.close()

    thread = threading.Thread(target=run, name=f"streamdesk-mock-{port}", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        thread.join()
        loop.close()
        raise failure[0]

    def stop() -> None:
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    return server, stop
