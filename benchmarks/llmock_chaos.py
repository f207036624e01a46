"""Automatic resume judged by a third-party chaos server: 100 `streamdesk ask` against llmock.

llmock (PyPI) is installed once in a venv of its own outside the repo
(`$XDG_CACHE_HOME/streamdesk-bench/llmock-<version>`, else `~/.cache/...`), pinned to
`LLMOCK_VERSION`, and served on a free loopback port with the chaos settings of issue 14:

    llmock serve --host 127.0.0.1 --port P --response-style echo --tool-mode off
        --error-rate 429=0.3 --error-rate 503=0.1
        --stream-fault truncate=0.1 --stream-fault malformed=0.1 --stream-fault disconnect=0.1

(llmock 0.2.2 has `--error-rate STATUS=P`, repeatable, and `--stream-fault KIND=P`, repeatable;
the HTTP errors are drawn per request, a stream fault per streamed response, at a chunk drawn
between 1 and 6; a chaos 429 or 503 carries `retry-after: 1` and `retry-after-ms: 1000`.)
`--response-style echo` makes the reply "Hello! You said: <prompt>" (the prompt cut at 120
characters), so the complete reply of every call is known here without a second server.

Every call gets a prompt of its own ("Call 17 of 100: ..."): llmock groups attempts into one
call by a hash of the request body, and an attempt whose body equals that of an earlier failed
one is counted as its retry. A hundred identical prompts would make a call that gave up and the
next call one "call" in its verdict. A continuation sends another body (the partial reply as
the assistant's message), so llmock counts it as a call of its own.

Each call is classified by its exit code and its output:
- complete: exit 0;
- a failure: its exit code and the last stderr line ("streamdesk: KIND: message"); a clear
  failure of the goal is rate_limited or server_error;
- text: stdout is cut into segments at new lines; the text sink starts a restarted attempt on a
  new line after a "restarting on a new line" notice on stderr, so a new line with a notice is a
  marked restart. A segment that holds any 12-character piece more often than the expected reply
  does holds repeated text; a segment that is not a prefix of the expected reply (the whole reply
  for the last segment of a complete call) without such a repeat has text lost or changed; more
  new lines than notices is an unmarked restart.

Then `llmock report --json` gives llmock's own verdict, its findings mapped to our call numbers.
Two of its rules judge the last attempt of a call only. A call that gives up after its bounded
attempts on a truncated stream is "truncated_stream_accepted", and a continuation starts a
call of its own, so every cut that is continued counts as a call given up. A malformed stream
is journaled as completed when llmock sent its last byte before the client hung up (a short
reply over loopback, no pacing), so the retry that follows starts a new call and the malformed
one reads "malformed_chunk_ignored"; `--chunk-delay-ms 20` paces the chunks so that a client
that stops reading is seen to stop.

Run: .venv/bin/python benchmarks/llmock_chaos.py [--resume auto|continue|restart|off]
     [--calls 100] [--jobs 4] [--max-retries N] [--resume-attempts N] [--show 10]
     [--chunk-delay-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LLMOCK_VERSION = "0.2.2"
MODEL = "gpt-4o-mini"
CHAOS_FLAGS = (
    "--error-rate", "429=0.3",
    "--error-rate", "503=0.1",
    "--stream-fault", "truncate=0.1",
    "--stream-fault", "malformed=0.1",
    "--stream-fault", "disconnect=0.1",
)  # fmt: skip
REPO = Path(__file__).resolve().parent.parent
STREAMDESK = REPO / ".venv" / "bin" / "streamdesk"
CALL_TIMEOUT = 60.0  # seconds for one ask, retries and resumes included
RUN_DEADLINE = 300.0  # seconds for all calls: calls not started by then are skipped
WINDOW = 12  # characters of a piece that counts as repeated when it occurs too often
GOAL_COMPLETE = 95
CLEAR_FAILURES = ("rate_limited", "server_error")
QUESTIONS = (
    "why is the sky blue at noon?",
    "how do ocean tides work?",
    "what makes bread rise?",
    "why do cats purr?",
    "how does a rainbow form?",
    "what keeps planes aloft?",
    "why is sea water salty?",
    "how do bees make honey?",
    "what causes thunder?",
    "why do leaves turn red in autumn?",
)
# Loopback only: no proxy for anything this script or its children open.
LOOPBACK_ENV = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def llmock_venv() -> Path:
    """The venv that holds llmock: created and filled once, reused afterwards."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "streamdesk-bench" / f"llmock-{LLMOCK_VERSION}"
    if REPO in venv.resolve().parents:
        raise SystemExit(f"the llmock venv must live outside the repo, not at {venv}")
    llmock = venv / "bin" / "llmock"
    if not llmock.exists():
        print(f"creating {venv} and installing llmock=={LLMOCK_VERSION} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"llmock=={LLMOCK_VERSION}"],
            check=True,
        )
    return venv


def installed_version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m;"
         " print(m.version('llmock'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 10.0) -> Any:
    with _NO_PROXY.open(url, timeout=timeout) as response:
        return json.loads(response.read())


class LlmockServer:
    """`llmock serve` on a free loopback port, stopped by its process id."""

    def __init__(self, venv: Path, chunk_delay_ms: int = 0) -> None:
        self.chunk_delay_ms = chunk_delay_ms
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.venv = venv
        self.log = tempfile.NamedTemporaryFile(prefix="llmock-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            str(self.venv / "bin" / "llmock"), "serve",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            "--response-style", "echo", "--tool-mode", "off", *CHAOS_FLAGS,
            *(["--stream-chunk-delay-ms", str(self.chunk_delay_ms)] if self.chunk_delay_ms else []),
        ]  # fmt: skip

    def __enter__(self) -> LlmockServer:
        env = {**os.environ, **LOOPBACK_ENV}
        self.process = subprocess.Popen(
            self.command(), stdout=self.log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise SystemExit(f"llmock exited {self.process.returncode}; see {self.log.name}")
            try:
                http_get(f"{self.url}/health", timeout=1)
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"llmock did not answer within 30 s; see {self.log.name}")

    def __exit__(self, *_: object) -> None:
        self.stop()
        Path(self.log.name).unlink(missing_ok=True)  # kept only when llmock failed to start

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def journal(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = http_get(f"{self.url}/_llmock/requests")["requests"]
        return records

    def report(self) -> tuple[int, dict[str, Any] | None, str]:
        """`llmock report --url … --json`: its exit code, the verdict and the raw output."""
        done = subprocess.run(
            [str(self.venv / "bin" / "llmock"), "report", "--url", self.url, "--json"],
            capture_output=True, text=True, timeout=60, env={**os.environ, **LOOPBACK_ENV},
        )  # fmt: skip
        try:
            verdict: dict[str, Any] | None = json.loads(done.stdout)
        except ValueError:
            verdict = None
        return done.returncode, verdict, done.stdout + done.stderr


def prompt_of(n: int, calls: int) -> str:
    return f"Call {n} of {calls}: {QUESTIONS[n % len(QUESTIONS)]}"


def expected_reply(prompt: str) -> str:
    """llmock's echo style: "Hello! You said: " and the prompt, spaces collapsed, cut at 120."""
    return "Hello! You said: " + " ".join(prompt.split()).strip()[:120]


def pieces(text: str) -> collections.Counter[str]:
    return collections.Counter(text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1))


@dataclass
class CallResult:
    n: int
    prompt: str
    expected: str
    code: int | None  # None: killed after CALL_TIMEOUT
    stdout: str
    stderr: str
    seconds: float
    text: str = ""  # exact | partial | repeated | changed | unmarked restart
    restarts: int = 0
    trail: list[str] = field(default_factory=list)  # llmock's record of each attempt

    @property
    def complete(self) -> bool:
        return self.code == 0

    @property
    def kind(self) -> str:
        if self.code is None:
            return "killed (timeout)"
        if self.code == 0:
            return "complete"
        match = re.match(r"streamdesk: ([a-z_]+): ", self.last_line)
        return match.group(1) if match else f"exit {self.code}"

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""

    def classify_text(self) -> None:
        """See the module docstring: exact, partial, repeated, changed or unmarked restart."""
        self.restarts = self.stderr.count("restarting on a new line")
        segments = self.stdout.rstrip("\n").split("\n") if self.stdout.strip() else []
        allowed = pieces(self.expected)
        last = len(segments) - 1
        verdicts = set()
        for i, segment in enumerate(segments):
            if any(count > allowed[p] for p, count in pieces(segment).items()):
                verdicts.add("repeated")
            elif i == last and self.complete:
                verdicts.add("exact" if segment == self.expected else "changed")
            elif not self.expected.startswith(segment):
                verdicts.add("changed")
        if len(segments) - 1 > self.restarts:
            verdicts.add("unmarked restart")
        for worst in ("repeated", "unmarked restart", "changed", "exact"):
            if worst in verdicts:
                self.text = worst
                return
        self.text = "partial" if segments else "none"


async def ask(n: int, calls: int, args: argparse.Namespace, url: str) -> CallResult:
    prompt = prompt_of(n, calls)
    home = tempfile.mkdtemp(prefix="sd-chaos-home-")
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    env.update(LOOPBACK_ENV, STREAMDESK_HOME=home, PYTHONUNBUFFERED="1")
    command = [
        str(STREAMDESK), "ask", "--base-url", f"{url}/v1", "--model", MODEL, "--no-save",
        "--resume", args.resume,
        *(["--max-retries", str(args.max_retries)] if args.max_retries is not None else []),
        *(
            ["--resume-attempts", str(args.resume_attempts)]
            if args.resume_attempts is not None
            else []
        ),
        prompt,
    ]  # fmt: skip
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    code: int | None
    try:
        out, err = await asyncio.wait_for(process.communicate(), CALL_TIMEOUT)
        code = process.returncode
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        code = None
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result = CallResult(
        n, prompt, expected_reply(prompt), code,
        out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - started,
    )  # fmt: skip
    result.classify_text()
    return result


async def run_calls(args: argparse.Namespace, url: str) -> tuple[list[CallResult], int]:
    """All calls, `args.jobs` at a time; calls not started within RUN_DEADLINE are skipped."""
    gate = asyncio.Semaphore(args.jobs)
    deadline = time.monotonic() + RUN_DEADLINE
    skipped = 0

    async def one(n: int) -> CallResult | None:
        nonlocal skipped
        async with gate:
            if time.monotonic() > deadline:
                skipped += 1
                return None
            return await ask(n, args.calls, args, url)

    results = await asyncio.gather(*(one(n) for n in range(1, args.calls + 1)))
    return [r for r in results if r is not None], skipped


def call_number(record: dict[str, Any]) -> int | None:
    """Our call number, read from the user message of a journaled request body."""
    body = record.get("body")
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in messages or ():
        content = message.get("content") if isinstance(message, dict) else None
        if message.get("role") == "user" and isinstance(content, str):
            match = re.match(r"Call (\d+) of", content)
            if match:
                return int(match.group(1))
    return None


def attempt_label(record: dict[str, Any]) -> str:
    """One journaled attempt: "429", "200", "200 stream:truncate@3"; "+" marks a continuation."""
    body = record.get("body")
    messages = body.get("messages", []) if isinstance(body, dict) else []
    cont = "+" if messages and messages[-1].get("role") == "assistant" else ""
    label = f"{cont}{record['status']}"
    if record.get("fault") and not str(record["fault"]).startswith("chaos:"):
        label += f" {record['fault']}"
    return label


def print_table(results: list[CallResult], skipped: int, args: argparse.Namespace) -> bool:
    kinds = collections.Counter(r.kind for r in results)
    texts = collections.Counter(r.text for r in results)
    complete = kinds["complete"]
    repeated = texts["repeated"] + texts["unmarked restart"]
    complete_exact = sum(1 for r in results if r.complete and r.text == "exact")
    unclear = sum(n for k, n in kinds.items() if k != "complete" and k not in CLEAR_FAILURES)
    rows: list[tuple[str, str]] = [
        ("complete (exit 0)", str(complete)),
        ("  of which the exact reply", str(complete_exact)),
        ("  of which restarted on a marked new line", str(sum(
            1 for r in results if r.complete and r.restarts))),
    ]  # fmt: skip
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        if kind != "complete":
            codes = sorted({r.code for r in results if r.kind == kind}, key=str)
            clear = "clear" if kind in CLEAR_FAILURES else "NOT a clear rate-limit/server error"
            rows.append((f"{kind} (exit {', '.join(map(str, codes))})", f"{count}   {clear}"))
    if skipped:
        rows.append(("skipped (run deadline)", str(skipped)))
    rows += [
        ("repeated text on stdout (no marker)", str(repeated)),
        ("text lost or changed", str(texts["changed"])),
    ]
    width = max(len(label) for label, _ in rows)
    title = f"--resume {args.resume}, {len(results)} calls" + (
        (f", --max-retries {args.max_retries}" if args.max_retries is not None else "")
        + (
            f", --resume-attempts {args.resume_attempts}"
            if args.resume_attempts is not None
            else ""
        )
    )
    print(f"\n{title}")
    print(f"{'outcome':<{width}}  calls")
    print("-" * (width + 8))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    ok = complete >= GOAL_COMPLETE and unclear == 0 and repeated == 0 and not skipped
    ok = ok and texts["changed"] == 0
    print(
        f"\ngoal: >= {GOAL_COMPLETE} of {args.calls} complete, the rest rate_limited or"
        f" server_error, no repeated text: {'MET' if ok else 'MISSED'}"
        f" ({complete} complete, {unclear} unclear failures, {repeated} with repeated text)"
    )
    seconds = [r.seconds for r in results]
    if seconds:
        print(f"time per call: median {sorted(seconds)[len(seconds) // 2]:.2f} s,"
              f" max {max(seconds):.2f} s")  # fmt: skip
    return ok


def print_details(results: list[CallResult], show: int) -> None:
    """The calls that missed the goal: output, the stderr line and llmock's record of them."""
    odd = [r for r in results if (not r.complete and r.kind not in CLEAR_FAILURES)
           or r.text in ("repeated", "changed", "unmarked restart")]  # fmt: skip
    clear = [r for r in results if r.kind in CLEAR_FAILURES]
    for title, group in (("calls that missed the goal", odd), ("clear failures", clear)):
        if not group or show <= 0:
            continue
        print(f"\n{title} ({len(group)}; first {min(show, len(group))}):")
        for r in group[:show]:
            print(f"  call {r.n}: {r.kind}, exit {r.code}, text {r.text}, {r.seconds:.1f} s")
            print(f"    llmock saw: {' -> '.join(r.trail) or '(nothing)'}")
            print(f"    stdout: {r.stdout.rstrip()!r}")
            print(f"    stderr: {r.last_line}")


def print_verdict(server: LlmockServer, number_of: dict[int, int | None]) -> None:
    code, verdict, raw = server.report()
    print(f"\nllmock report --url {server.url} --json (exit {code}):")
    if verdict is None:
        print(raw)
        return
    print(
        f"  passed {verdict['passed']}, {verdict['calls']} calls, {verdict['attempts']} attempts,"
        f" {verdict['faults_injected']} faults injected:"
        f" {verdict['errors']} errors, {verdict['warnings']} warnings"
    )
    by_code: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for finding in verdict["findings"]:
        by_code[(finding["severity"], finding["code"])].append(finding)
    for (severity, name), findings in sorted(by_code.items()):
        ours = sorted({n for f in findings for s in f["requests"] if (n := number_of.get(s))})
        print(f"  {severity} {name} x{len(findings)} (our calls {ours})")
        print(f"    e.g. {findings[0]['title']} requests {findings[0]['requests']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--resume", choices=("auto", "continue", "restart", "off"), default="auto")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=4, help="calls at a time")
    parser.add_argument("--max-retries", type=int, help="passed to ask (default: ask's own)")
    parser.add_argument(
        "--resume-attempts", type=int, help="passed to ask (default: the provider's)"
    )
    parser.add_argument("--show", type=int, default=10, help="failing calls listed per group")
    parser.add_argument(
        "--chunk-delay-ms",
        type=int,
        default=0,
        help="llmock's pause between chunks (default 0, as in the issue): with a pause, a client"
        " that stops reading at a malformed chunk is seen to stop before the stream ends",
    )
    args = parser.parse_args()
    if not STREAMDESK.exists():
        raise SystemExit(f"{STREAMDESK} is missing: install the repo's venv first")
    venv = llmock_venv()
    print(f"llmock {installed_version(venv)} (pinned {LLMOCK_VERSION}) from {venv}")
    with LlmockServer(venv, args.chunk_delay_ms) as server:
        print("$ " + " ".join(server.command()))
        started = time.monotonic()
        results, skipped = asyncio.run(run_calls(args, server.url))
        elapsed = time.monotonic() - started
        journal = server.journal()
        number_of = {record["seq"]: call_number(record) for record in journal}
        by_call = {r.n: r for r in results}
        for record in journal:
            call = by_call.get(number_of[record["seq"]] or 0)
            if call is not None:
                call.trail.append(attempt_label(record))
        print(f"{len(results)} calls in {elapsed:.0f} s, {len(journal)} requests to llmock")
        ok = print_table(results, skipped, args)
        print_details(results, args.show)
        print_verdict(server, number_of)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
