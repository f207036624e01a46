"""The tool loop of `streamdesk ask --mcp … --allow-tools` judged by a third-party server.

llmock (PyPI; the venv and server helpers of `llmock_chaos.py`) with `--tool-mode auto` calls
an offered tool, then answers in text once the tool's result comes back. Each of the four APIs
(`ask --api chat|responses|anthropic|gemini`) is asked once, with the real MCP test server
(tests/tools_server.py, stdio) offered, and judged on:

    exit      0: the reply finished
    call      a `tool_call` record naming a tool of the server, with JSON-object arguments
    result    a `tool_result` record for that call with outcome "ok"
    answer    text after the result and a `done` record with finish_reason "stop"
    requests  llmock journalled 2 requests: the call, then the one carrying its result

At the end llmock's own verdict (`llmock report --json`). Loopback only; no network.

Run: .venv/bin/python benchmarks/llmock_tools.py [--apis chat,gemini]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from llmock_chaos import LOOPBACK_ENV, REPO, STREAMDESK, LlmockServer, llmock_venv
from llmock_dialects import APIS, Api

PROMPT = "Please add two numbers with the add tool"
SERVER = REPO / "tests" / "tools_server.py"
CALL_TIMEOUT = 60.0


class ToolCallingLlmock(LlmockServer):
    """llmock calling offered tools, without chaos."""

    def command(self) -> list[str]:
        return [
            str(self.venv / "bin" / "llmock"), "serve",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            "--tool-mode", "auto",
        ]  # fmt: skip


def ask(server: ToolCallingLlmock, api: Api, servers: Path, home: Path) -> dict[str, Any]:
    env = {**os.environ, **LOOPBACK_ENV, "STREAMDESK_HOME": str(home)}
    env.pop("STREAMDESK_API_KEY", None)
    start = time.perf_counter()
    done = subprocess.run(
        [str(STREAMDESK), "ask", PROMPT, "--base-url", server.url + api.base_path,
         "--api", api.name, "--model", api.model, "--mcp", str(servers), "--allow-tools",
         "--json", "--no-save"],
        capture_output=True, text=True, timeout=CALL_TIMEOUT, env=env, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    records = []
    for line in done.stdout.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    calls = [r for r in records if r["type"] == "tool_call"]
    results = [r for r in records if r["type"] == "tool_result"]
    after = records[records.index(results[0]) + 1 :] if results else []
    checks = {
        "exit": done.returncode == 0,
        "call": bool(calls) and isinstance(calls[0].get("arguments"), dict),
        "result": bool(results)
        and results[0]["outcome"] == "ok"
        and results[0]["id"] == calls[0]["id"],
        "answer": any(r["type"] == "text" for r in after)
        and records[-1].get("finish_reason") == "stop",
    }
    return {
        "checks": checks,
        "seconds": seconds,
        "tool": f"{calls[0]['name']}({json.dumps(calls[0]['arguments'])})" if calls else "-",
        "result": results[0]["content"] if results else "-",
        "stderr": done.stderr.strip().splitlines()[-1:] if done.returncode else [],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apis", default=",".join(a.name for a in APIS))
    args = parser.parse_args()
    wanted = [a for a in APIS if a.name in args.apis.split(",")]
    venv = llmock_venv()
    ok = True
    with tempfile.TemporaryDirectory(prefix="streamdesk-tools-") as tmp:
        servers = Path(tmp) / "servers.json"
        entry = {"command": sys.executable, "args": [str(SERVER)]}
        servers.write_text(json.dumps({"mcpServers": {"calc": entry}}), encoding="utf-8")
        with ToolCallingLlmock(venv) as server:
            print(f"{'api':<10} {'exit':<5} {'call':<5} {'result':<7} {'answer':<7} "
                  f"{'requests':<9} {'s':>5}  tool -> result")  # fmt: skip
            for api in wanted:
                before = len(server.journal())
                found = ask(server, api, servers, Path(tmp) / api.name)
                requests = len(server.journal()) - before
                checks = {**found["checks"], "requests": requests == 2}
                ok = ok and all(checks.values())
                marks = ["ok" if checks[k] else "NOT OK" for k in checks]
                print(f"{api.name:<10} {marks[0]:<5} {marks[1]:<5} {marks[2]:<7} {marks[3]:<7} "
                      f"{marks[4] + f' ({requests})':<9} {found['seconds']:>5.2f}  "
                      f"{found['tool']} -> {found['result']}")  # fmt: skip
                for line in found["stderr"]:
                    print(f"           {line}")
            code, verdict, raw = server.report()
            passed = verdict is not None and verdict.get("passed") is True
            ok = ok and passed
            summary = json.dumps(verdict) if verdict is not None else raw.strip()
            print(f"llmock report: {'passed' if passed else 'NOT passed'} (exit {code}) {summary}")
    print("verdict:", "OK" if ok else "NOT OK")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
