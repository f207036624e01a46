"""The four APIs of `streamdesk ask --api` judged by a third-party server: llmock's native routes.

llmock (PyPI, the venv and server helpers of `llmock_chaos.py`) serves each API on a route of
its own, and `ask --base-url` is the base the SSE transport appends the dialect's path to:

    chat       {url}/v1                 -> /v1/chat/completions
    responses  {url}/v1                 -> /v1/responses
    anthropic  {url}/anthropic/v1       -> /anthropic/v1/messages
    gemini     {url}/gemini/v1beta      -> /gemini/v1beta/models/{model}:streamGenerateContent

One llmock per case, each asked once in every API, `--response-style echo` so the reply is
known ("Hello! You said: <prompt>"):

    clean       no chaos: exit 0 and exactly the expected reply
    truncate    --stream-fault truncate=1.0: the stream ends cleanly with no terminator;
                exit 17 (cut_mid_stream) and stdout a prefix of the reply
    malformed   --stream-fault malformed=1.0: an event's JSON cut in half; exit 10 (bad_response)
    disconnect  --stream-fault disconnect=1.0: the connection dropped; exit 17 (cut_mid_stream)

A fault case asks with `--resume off --max-retries 0`, so the one attempt llmock faulted is the
one judged. llmock applies a stream fault at a chunk drawn between 1 and 6 of every stream,
whatever the API (it works on the SSE bytes, not on the dialect), so the prompt is long enough
that every API's stream has more chunks than that: a fault is never drawn past the stream's end.
llmock's journal says which fault it applied at which chunk; a case whose fault was not applied
is NOT OK. At the end of each server's life `llmock report --json` gives llmock's verdict.

Run: .venv/bin/python benchmarks/llmock_dialects.py [--apis chat,gemini] [--cases clean,truncate]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmock_chaos import (
    LOOPBACK_ENV,
    STREAMDESK,
    CallResult,
    LlmockServer,
    expected_reply,
    installed_version,
    llmock_venv,
)

QUESTION = "please tell me in a few short words why the sky looks blue at noon today"
CALL_TIMEOUT = 60.0  # seconds for one ask


@dataclass(frozen=True)
class Api:
    name: str
    base_path: str  # appended to llmock's URL to make --base-url
    model: str  # one llmock lists for this API
    route: str  # the path llmock journals for this API's stream


APIS = (
    Api("chat", "/v1", "gpt-4o-mini", "/v1/chat/completions"),
    Api("responses", "/v1", "gpt-4o-mini", "/v1/responses"),
    Api("anthropic", "/anthropic/v1", "claude-sonnet-4-6", "/anthropic/v1/messages"),
    Api("gemini", "/gemini/v1beta", "gemini-2.0-flash", ":streamGenerateContent"),
)


@dataclass(frozen=True)
class Case:
    name: str
    fault: str | None  # llmock's stream fault kind, at probability 1.0
    exit_code: int
    kind: str  # the failure kind on ask's last stderr line ("complete" for exit 0)


CASES = (
    Case("clean", None, 0, "complete"),
    Case("truncate", "truncate", 17, "cut_mid_stream"),
    Case("malformed", "malformed", 10, "bad_response"),
    Case("disconnect", "disconnect", 17, "cut_mid_stream"),
)


class FaultServer(LlmockServer):
    """llmock with echo replies, no tool calls and one stream fault on every stream (or none)."""

    def __init__(self, venv: Path, fault: str | None) -> None:
        super().__init__(venv)
        self.fault = fault

    def command(self) -> list[str]:
        return [
            str(self.venv / "bin" / "llmock"), "serve",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            "--response-style", "echo", "--tool-mode", "off",
            *(["--stream-fault", f"{self.fault}=1.0"] if self.fault else []),
        ]  # fmt: skip


@dataclass
class Outcome:
    """One ask: its API, case and round, and the exit, output and text class of `CallResult`."""

    api: Api
    case: Case
    result: CallResult  # its n is the round
    llmock_saw: str = ""  # llmock's journal of the attempts: status, fault, chunks sent
    fault_applied: bool = False

    @property
    def problems(self) -> list[str]:
        """Why this case is NOT OK; empty when it is."""
        found = []
        result = self.result
        if result.code != self.case.exit_code:
            found.append(f"exit {result.code}, expected {self.case.exit_code}")
        if result.kind != self.case.kind:
            found.append(f"kind {result.kind}, expected {self.case.kind}")
        if self.case.fault is None and result.text != "exact":
            found.append(f"text {result.text}, expected the exact reply")
        if self.case.fault is not None and result.text not in ("partial", "none"):
            found.append(f"text {result.text}, expected a prefix of the reply")
        if self.case.fault is not None and not self.fault_applied:
            found.append(f"llmock did not apply {self.case.fault}")
        return found


def prompt_of(round_number: int) -> str:
    """A prompt per round: llmock groups requests with the same body into one call."""
    return f"round {round_number}: {QUESTION}"


def ask(api: Api, case: Case, url: str, round_number: int) -> Outcome:
    home = tempfile.mkdtemp(prefix="sd-dialects-home-")
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    env.update(LOOPBACK_ENV, STREAMDESK_HOME=home, PYTHONUNBUFFERED="1")
    prompt = prompt_of(round_number)
    command = [
        str(STREAMDESK), "ask", "--api", api.name, "--base-url", url + api.base_path,
        "--model", api.model, "--no-save",
        *(["--resume", "off", "--max-retries", "0"] if case.fault else []),
        prompt,
    ]  # fmt: skip
    started = time.monotonic()
    code: int | None
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=CALL_TIMEOUT
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        code = None
        out, err = expired.stdout or b"", expired.stderr or b""
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result = CallResult(
        round_number, prompt, expected_reply(prompt), code,
        out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - started,
    )  # fmt: skip
    result.classify_text()
    return Outcome(api, case, result)


def attach_journal(outcomes: list[Outcome], journal: list[dict[str, Any]]) -> None:
    """Each outcome gets llmock's record of the requests on its API's route."""
    for outcome in outcomes:
        records = [
            r for r in journal
            if outcome.api.route in r.get("path", "")
            and outcome.result.prompt in json.dumps(r["body"])
        ]  # fmt: skip
        outcome.llmock_saw = (
            " -> ".join(
                f"{r['status']} {r.get('fault') or 'no fault'} chunks {r.get('chunks_sent')}"
                for r in records
            )
            or "(nothing)"
        )
        fault = outcome.case.fault
        outcome.fault_applied = any(str(r.get("fault") or "").startswith(f"stream:{fault}@")
                                    for r in records)  # fmt: skip


def print_verdict(server: LlmockServer, case: Case) -> None:
    code, verdict, raw = server.report()
    print(f"  llmock report --json ({case.name} server, exit {code}):", end=" ")
    if verdict is None:
        print("\n" + raw)
        return
    print(
        f"passed {verdict['passed']}, {verdict['calls']} calls, {verdict['attempts']} attempts,"
        f" {verdict['faults_injected']} faults injected,"
        f" {verdict['errors']} errors, {verdict['warnings']} warnings"
    )
    for finding in verdict["findings"]:
        print(f"    {finding['severity']} {finding['code']}: {finding['title']}"
              f" (requests {finding['requests']})")  # fmt: skip


def print_table(outcomes: list[Outcome]) -> None:
    rows = [("api", "case", "round", "exit", "kind", "text", "secs", "verdict")]
    for o in outcomes:
        verdict = "NOT OK: " + "; ".join(o.problems) if o.problems else "ok"
        rows.append((o.api.name, o.case.name, str(o.result.n), str(o.result.code),
                     o.result.kind, o.result.text, f"{o.result.seconds:.1f}", verdict))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for i, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
        if i == 0:
            print("-" * (sum(widths) + 2 * len(widths) + 7))


def print_details(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        print(f"\n{o.api.name} / {o.case.name} / round {o.result.n}:"
              f" exit {o.result.code}, {o.result.kind}")  # fmt: skip
        print(f"  llmock saw: {o.llmock_saw}")
        print(f"  stdout: {o.result.stdout.rstrip()!r}")
        print(f"  stderr: {o.result.last_line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--apis", default=",".join(a.name for a in APIS))
    parser.add_argument("--cases", default=",".join(c.name for c in CASES))
    parser.add_argument(
        "--rounds", type=int, default=1, help="asks per API and case, each with its own prompt"
    )
    parser.add_argument("--details", action="store_true", help="every case, not only NOT OK")
    args = parser.parse_args()
    apis = [a for a in APIS if a.name in args.apis.split(",")]
    cases = [c for c in CASES if c.name in args.cases.split(",")]
    if not STREAMDESK.exists():
        raise SystemExit(f"{STREAMDESK} is missing: install the repo's venv first")
    venv = llmock_venv()
    print(f"llmock {installed_version(venv)} from {venv}")
    print(f"prompt: {prompt_of(1)!r} (round n: n)\n")
    outcomes: list[Outcome] = []
    for case in cases:
        with FaultServer(venv, case.fault) as server:
            print("$ " + " ".join(server.command()[1:]))
            ours = [
                ask(api, case, server.url, n) for n in range(1, args.rounds + 1) for api in apis
            ]
            attach_journal(ours, server.journal())
            print_verdict(server, case)
        outcomes += ours
    print()
    print_table(outcomes)
    failing = [o for o in outcomes if o.problems]
    print_details(outcomes if args.details else failing)
    print(f"\n{len(outcomes) - len(failing)} of {len(outcomes)} cases ok")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
