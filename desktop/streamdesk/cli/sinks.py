"""Where `ask` sends the events: the reply on stdout (text or JSON lines), notices on stderr.

The core's failure messages say what happened; the sinks add what to run about it (the command
that sets a missing key, the `--continue` that resumes a kept partial reply), and a retry is one
short notice, never the full failure text.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, TextIO

from streamdesk.cli._common import one_line, warn
from streamdesk.cli.ask_setup import keychain_problem
from streamdesk.core.chat.engine import Resuming, Trimmed
from streamdesk.core.events import (
    Done,
    Failure,
    FailureKind,
    ReasoningDelta,
    Retrying,
    TextDelta,
    ToolCall,
    ToolResult,
    Usage,
)
from streamdesk.core.providers import MOCK_PROVIDER_ID
from streamdesk.core.wording import MID_REPLY_KINDS, resumed_at, tokens_so_far

if TYPE_CHECKING:
    from streamdesk.core.chat import ChatEvent, Reply, ToolRunner
    from streamdesk.core.trace import StreamTrace

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CODES: dict[FailureKind, int] = {
    FailureKind.AUTHENTICATION: 3,
    FailureKind.PERMISSION: 4,
    FailureKind.NOT_FOUND: 5,
    FailureKind.KEYCHAIN_UNAVAILABLE: 6,
    FailureKind.RATE_LIMITED: 7,
    FailureKind.SERVER_ERROR: 8,
    FailureKind.BAD_REQUEST: 9,
    FailureKind.BAD_RESPONSE: 10,
    FailureKind.CONNECTION_REFUSED: 11,
    FailureKind.NAME_NOT_RESOLVED: 12,
    FailureKind.TLS_ERROR: 13,
    FailureKind.CONNECT_TIMEOUT: 14,
    FailureKind.FIRST_TOKEN_TIMEOUT: 15,
    FailureKind.STALLED: 16,
    FailureKind.CUT_MID_STREAM: 17,
    FailureKind.WEBSOCKET_CLOSED: 18,
    FailureKind.NETWORK: 19,
    FailureKind.MESSAGE_TOO_BIG: 20,
    FailureKind.EMPTY_REPLY: 21,
    FailureKind.CANCELLED: 130,
}
EXIT_NOT_APPROVED = 22  # a tool call nobody could approve (no terminal, no --allow-tools)
EXIT_TOOL_LIMIT = 23  # the reply stopped at --max-tool-rounds
EXIT_TOOL_SERVER = 24  # an --mcp server could not start
_SHORT = {
    FailureKind.CUT_MID_STREAM: "connection cut",
    FailureKind.BAD_RESPONSE: "malformed data",
    FailureKind.FIRST_TOKEN_TIMEOUT: "no first token in time",
    FailureKind.NETWORK: "network error",
    FailureKind.WEBSOCKET_CLOSED: "WebSocket closed",
}


def format_seconds(seconds: float) -> str:
    """A wait for people: "0.1 s", "2.5 s", "30 s" (a sub-second wait never reads "0 s")."""
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2g} s"


def resume_notice(event: Resuming, resumed: int | None = None) -> str:
    """One line: "connection cut after 812 tokens; continuing in 0.5 s (attempt 2 of 3)";
    "after 20 tokens (10 since it resumed)" when the reply had carried on from `resumed`."""
    f = event.failure
    what = _SHORT.get(f.kind, f.kind.value.replace("_", " "))
    how = "continuing" if event.strategy == "continue" else "restarting on a new line"
    delay = format_seconds(event.delay)
    return (
        f"{what} after {tokens_so_far(event.tokens, resumed)}; {how} in {delay}"
        f" (attempt {event.attempt} of {event.attempts})"
    )


def tool_stop_notice(reply: Reply) -> str | None:
    """Why a reply ended on a tool request that did not run, or None."""
    if reply.finish_reason != "tool_calls":
        return None
    if reply.tool_stop == "not_approved":
        return (
            "the model asked to run a tool and nobody could approve it (stdin or stderr is not"
            " a terminal); pass --allow-tools to run every call, or run in a terminal to be asked"
        )
    if reply.tool_stop == "round_limit":
        return (
            f"stopped after {len(reply.tool_rounds) - 1} rounds of tool calls: the model kept"
            " asking for more; raise --max-tool-rounds"
        )
    return "the model asked for a tool, but none was offered; pass --mcp to offer some"


def tool_call_note(call: ToolCall, server: str) -> str:
    where = f" on {server}" if server else ""
    if call.error:
        return f"tool call {one_line(call.name)}{where}: {one_line(call.error)}"
    arguments = json.dumps(dict(call.arguments), ensure_ascii=False)
    return f"tool call {one_line(call.name)}{where} {one_line(arguments)}"


def tool_result_note(result: ToolResult) -> str:
    return (
        f"tool result {one_line(result.name)}: {result.outcome} in"
        f" {format_seconds(result.duration)}: {one_line(result.content)}"
    )


def retry_notice(event: Retrying, max_attempts: int | None) -> str:
    """One short line: "rate limited (HTTP 429); retrying in 0.1 s (attempt 2 of 3)"."""
    f = event.failure
    what = _SHORT.get(f.kind, f.kind.value.replace("_", " "))
    if f.status is not None:
        what += f" (HTTP {f.status})"
    of = f" of {max_attempts}" if max_attempts else ""
    return f"{what}; retrying in {format_seconds(event.delay)} (attempt {event.attempt + 1}{of})"


class Sink:
    """Where events go. `finish()` ends the output and returns the exit code."""

    def __init__(self) -> None:
        self.trace: StreamTrace | None = None
        self.outcome: Done | Failure | None = None
        self.max_attempts: int | None = None  # for "attempt 2 of 3"
        self.reply: Reply | None = None  # the reply being printed: its facts shape the hints
        self.attempt = 1  # of the reply: a resumed reply counts up
        self.resume_hint = "(not saved: --no-save)"  # how to continue a kept partial reply
        self.tools: ToolRunner | None = None  # the --mcp tools: which server offers a tool
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        start = self.trace.t_start if self.trace is not None else self._t0
        return time.perf_counter() - start

    def event(self, event: ChatEvent, t: float) -> None:
        raise NotImplementedError

    def finish(self) -> int:
        if isinstance(self.outcome, Failure):
            return EXIT_CODES[self.outcome.kind]
        stop = self.reply.tool_stop if self.reply is not None else ""
        if stop == "not_approved":
            return EXIT_NOT_APPROVED
        if stop == "round_limit":
            return EXIT_TOOL_LIMIT
        return EXIT_OK

    def server_of(self, name: str) -> str:
        return self.tools.server_of(name) if self.tools is not None else ""

    def message(self, failure: Failure) -> str:
        """The failure's line for the command line, with what to run about it."""
        text = failure.message
        reply = self.reply
        if reply is None:
            return text
        missing = reply.missing_key
        if missing is not None and missing.reason:
            return (
                f"{text.rstrip('.')}; set STREAMDESK_API_KEY for this run, or pass --base-url"
                " for a server that needs no key."
            )
        if missing is not None:
            return (
                f"{text} Run `streamdesk keys set {missing.provider_id}` (or set"
                " STREAMDESK_API_KEY for one run); nothing was sent."
            )
        provider = reply.target.provider
        if failure.kind is FailureKind.AUTHENTICATION and (provider.needs_key or reply.key_sent):
            if provider.id == MOCK_PROVIDER_ID:  # `keys set` takes real providers only
                return text
            return f"{text} Set another with `streamdesk keys set {provider.id}`."
        if failure.kind is FailureKind.AUTHENTICATION and not provider.needs_key:
            if reply.keychain_problem:
                return f"{text} (No key was sent: {keychain_problem(reply.keychain_problem)}.)"
            return (
                f"{text} (No key was sent: set one with `streamdesk keys set {provider.id}`"
                " or STREAMDESK_API_KEY.)"
            )
        if reply.completion_tokens and failure.kind in MID_REPLY_KINDS:
            count = tokens_so_far(reply.completion_tokens, resumed_at(reply.attempts))
            text = f"{text} {count} arrived."
        if reply.has_content and failure.kind is not FailureKind.CANCELLED:
            return f"{text} {self.resume_hint}"
        return text


class TextSink(Sink):
    """The reply on stdout, flushed per token; reasoning dimmed on stderr; failures on stderr."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        super().__init__()
        self.out = out
        self.err = err
        self._last = "\n"  # last character written to stdout
        self._reasoning = False
        self._dim = err.isatty()

    def event(self, event: ChatEvent, t: float) -> None:
        if isinstance(event, TextDelta):
            self._end_reasoning()
            self.out.write(event.text)
            self.out.flush()
            self._last = event.text[-1:] or self._last
        elif isinstance(event, ReasoningDelta):
            if not self._reasoning:
                self._reasoning = True
                self._write_err("[reasoning] ")
            self._write_err(event.text)
        elif isinstance(event, ToolCall):
            self._end_reasoning()
            self._end_line()
            warn(tool_call_note(event, self.server_of(event.name)))
        elif isinstance(event, ToolResult):
            warn(tool_result_note(event))
        elif isinstance(event, Retrying):
            self._end_reasoning()
            warn(retry_notice(event, self.max_attempts))
        elif isinstance(event, Trimmed):  # the request cut again to fit the context window
            self._end_reasoning()
            warn(event.notice)
        elif isinstance(event, Resuming):
            self._end_reasoning()
            self.attempt = event.attempt
            earlier = self.reply.attempts[:-1] if self.reply is not None else ()
            warn(resume_notice(event, resumed_at(earlier)))
            if event.strategy == "restart" and self._last != "\n":
                self.out.write("\n")  # the new attempt repeats the text: never run on from it
                self._last = "\n"
                self.out.flush()
        elif isinstance(event, Done | Failure):
            self._end_reasoning()
            self.outcome = event
            if self._last != "\n":
                self.out.write("\n")
                self._last = "\n"
            self.out.flush()
            stopped = tool_stop_notice(self.reply) if self.reply is not None else None
            if isinstance(event, Failure):
                warn(f"{event.kind.value}: {self.message(event)}")
            elif stopped is not None:
                warn(stopped)
            elif self.reply is not None and not self.reply.has_text:
                warn("empty reply: the server ended the reply normally but sent no text")

    def _end_line(self) -> None:
        """Text after a tool round starts on a line of its own."""
        if self._last != "\n":
            self.out.write("\n")
            self._last = "\n"
            self.out.flush()

    def _write_err(self, text: str) -> None:
        self.err.write(f"\x1b[2m{text}\x1b[0m" if self._dim else text)
        self.err.flush()

    def _end_reasoning(self) -> None:
        if self._reasoning:
            self._reasoning = False
            self.err.write("\n")
            self.err.flush()


class JsonSink(Sink):
    """One JSON object per event per line, for scripts; `t` is seconds since the request."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out

    def event(self, event: ChatEvent, t: float) -> None:
        record: dict[str, Any]
        if isinstance(event, Resuming):
            self.attempt = event.attempt
            record = {
                "type": "resuming",
                "strategy": event.strategy,
                "of": event.attempts,
                "delay": round(event.delay, 3),
                "kind": event.failure.kind.value,
                "tokens": event.tokens,
                "message": event.failure.message,
            }
        elif isinstance(event, TextDelta):
            record = {"type": "text", "text": event.text}
        elif isinstance(event, ReasoningDelta):
            record = {"type": "reasoning", "text": event.text}
        elif isinstance(event, ToolCall):
            record = {
                "type": "tool_call",
                "id": event.call_id,
                "name": event.name,
                "server": self.server_of(event.name),
                "arguments": dict(event.arguments),
            }
            if event.error:
                record.update(error=event.error, arguments_text=event.arguments_text)
        elif isinstance(event, ToolResult):
            record = {
                "type": "tool_result",
                "id": event.call_id,
                "name": event.name,
                "server": event.server,
                "outcome": event.outcome,
                "content": event.content,
                "duration": round(event.duration, 6),
            }
        elif isinstance(event, Usage):
            record = {
                "type": "usage",
                "prompt_tokens": event.prompt_tokens,
                "completion_tokens": event.completion_tokens,
                "total_tokens": event.total_tokens,
            }
        elif isinstance(event, Trimmed):
            record = {"type": "trimmed", "message": event.notice}
        elif isinstance(event, Retrying):
            f = event.failure
            record = {
                "type": "retrying",
                "attempt": event.attempt,
                "delay": round(event.delay, 3),
                "kind": f.kind.value,
                "message": f.message,
            }
        elif isinstance(event, Done):
            self.outcome = event
            record = {"type": "done", "finish_reason": event.finish_reason, **self._timings()}
            stopped = tool_stop_notice(self.reply) if self.reply is not None else None
            if stopped is not None and self.reply is not None:
                record.update(tool_stop=self.reply.tool_stop or "none_offered", message=stopped)
        elif isinstance(event, Failure):
            self.outcome = event
            record = {
                "type": "failure",
                "kind": event.kind.value,
                "message": self.message(event),
                "retry_after": event.retry_after,
                "status": event.status,
                **self._timings(),
            }
        else:
            return
        record.setdefault("attempt", self.attempt)  # the reply's (retrying: the request's)
        record["t"] = round(t, 6)
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()
        if isinstance(event, Failure):
            warn(f"{event.kind.value}: {self.message(event)}")
        elif "tool_stop" in record:
            warn(record["message"])

    def _timings(self) -> dict[str, Any]:
        trace = self.trace
        if trace is None:
            return {}
        # the reply's figures: TTFT of its first request, tok/s of its streaming time only
        ttft = trace.ttft if self.reply is None else self.reply.ttft
        speed = trace.tokens_per_second
        return {
            "ttft": None if ttft is None else round(ttft, 6),
            "tokens": len(trace.token_times),
            "tokens_per_s": None if speed is None else round(speed, 2),
            "attempts": trace.attempts,
            "bytes": trace.bytes_received,
        }
