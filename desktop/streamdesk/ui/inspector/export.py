"""What the inspector shows and exports, as plain data: frame rows, headers, curl, JSON.

No Qt here, so the redaction of every export is testable without a window. Headers in a trace
are redacted by the transports already; every text that leaves the inspector is redacted again
(known keys and secret shapes), so a header the transport did not know cannot leak.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streamdesk.core.netstats import trace_stats
from streamdesk.core.redact import SECRET_FILTER, redact_headers, redact_text, redact_url
from streamdesk.core.trace import StreamTrace, WireFrame


def scrub(text: str) -> str:
    """Redact known keys and secret-shaped tokens from anything shown or exported."""
    return redact_text(text, SECRET_FILTER.secrets())


@dataclass(frozen=True, slots=True)
class FrameRow:
    t_ms: float  # since the trace began
    direction: str  # "in" | "out"
    size: int  # bytes
    text: str


@dataclass(slots=True)
class FrameSplitter:
    """Turns recorded wire chunks into rows: one per SSE line (blank separators dropped), one
    per WebSocket frame. An SSE line split across two chunks is joined and stamped when its end
    arrived (that is when a decoder could act on it)."""

    protocol: str
    origin: float
    _carry: bytes = b""

    def feed(self, frames: Iterable[WireFrame]) -> list[FrameRow]:
        rows: list[FrameRow] = []
        for f in frames:
            t_ms = (f.t - self.origin) * 1000.0
            if f.direction != "in" or self.protocol != "sse":
                rows.append(FrameRow(t_ms, f.direction, len(f.data), _text(f.data)))
                continue
            data = self._carry + f.data
            lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            self._carry = lines.pop()
            for line in lines:
                if line:
                    rows.append(FrameRow(t_ms, "in", len(line) + 1, _text(line)))
        return rows


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def header_text(trace: StreamTrace) -> str:
    """Request line, request headers and response headers, redacted, as a copyable block."""
    lines = [f"{trace.method or '?'} {redact_url(trace.url)}", ""]
    lines += [f"{k}: {v}" for k, v in redact_headers(trace.request_headers).items()]
    status = "" if trace.status is None else str(trace.status)
    lines += ["", f"HTTP/{trace.http_version.removeprefix('HTTP/') or '?'} {status}".rstrip()]
    lines += [f"{k}: {v}" for k, v in redact_headers(trace.response_headers).items()]
    return scrub("\n".join(lines))


def _request_body(trace: StreamTrace) -> str | None:
    frames = trace.frames
    if not frames:
        return None
    out = next((f for f in frames if f.direction == "out"), None)
    return None if out is None else _text(out.data)


def curl_command(trace: StreamTrace) -> str:
    """The request as a `curl` command line, with every secret redacted."""
    url = redact_url(trace.url)
    headers: Mapping[str, str] = redact_headers(trace.request_headers)
    body = _request_body(trace)
    parts = ["curl", "--no-buffer"]
    if trace.protocol == "ws":  # curl >= 7.86 speaks WebSocket; the first message goes on stdin
        parts.append("--include")
    else:
        parts += ["-X", trace.method or "POST"]
    parts.append(shlex.quote(url))
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body is not None and trace.protocol != "ws":
        parts += ["--data-raw", shlex.quote(body)]
    command = " \\\n  ".join(_pairs(parts))
    if body is not None and trace.protocol == "ws":
        command += f"\n# first message: {body}"
    return scrub(command)


def _pairs(parts: list[str]) -> list[str]:
    """Keep each option with its value on one line of the command."""
    out: list[str] = []
    for p in parts:
        if out and out[-1].startswith("-") and " " not in out[-1] and p[:1] != "-":
            out[-1] += " " + p
        else:
            out.append(p)
    return out


def trace_json(trace: StreamTrace) -> dict[str, Any]:
    """Everything recorded about one request, for "Save as JSON"; times are ms from start."""
    origin = trace.t_start
    frames = list(trace.frames or ())
    return {
        "stats": trace_stats(trace).as_dict(),
        "method": trace.method,
        "url": redact_url(trace.url),
        "request_headers": redact_headers(trace.request_headers),
        "response_headers": redact_headers(trace.response_headers),
        "token_times_ms": [round((t - origin) * 1000.0, 3) for t in trace.token_times],
        "frames_dropped": trace.frames_dropped,
        "frames": [
            {"t_ms": round((f.t - origin) * 1000.0, 3), "dir": f.direction, "data": _text(f.data)}
            for f in frames
        ],
    }


def trace_json_text(trace: StreamTrace) -> str:
    return scrub(json.dumps(trace_json(trace), ensure_ascii=False, indent=1))


def frame_rows_text(rows: Iterable[FrameRow]) -> str:
    """Rows as copyable text: time, direction, size, content."""
    return scrub(
        "\n".join(f"{r.t_ms:10.1f} ms  {r.direction:<3} {r.size:>6}  {r.text}" for r in rows)
    )
