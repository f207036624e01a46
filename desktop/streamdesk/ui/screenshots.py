"""`python -m streamdesk.ui.screenshots OUTDIR`: PNGs of the real window against the mock.

Run by `make screenshot` under Xvfb. For the light and the dark theme it writes the window
mid-stream and after a finished reply (the mock's replies hold a code block and a table), and,
with the test MCP server of a source checkout (tests/tools_server.py), a tool call awaiting
approval, the finished call, and the call with its details open.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamdesk.core.store.settings import Settings
from streamdesk.ui.app import make_app
from streamdesk.ui.qtloop import QtEventLoop

PROMPTS = {
    "light": "How do I stream a chat completion without freezing the UI?",
    "dark": "Explain backpressure in streaming clients",
}
MID_STREAM_TOKENS = 140
TOOL_PROMPTS = {
    "light": "Use read_note to read the note 'groceries'",
    "dark": "Use add to add 2 and 3",
}
TOOLS_SERVER = Path(__file__).resolve().parents[3] / "tests" / "tools_server.py"


async def _settle(ms: int = 150) -> None:
    """Let a few frames render (the transcript coalesces updates at ~60 Hz)."""
    await asyncio.sleep(ms / 1000)


async def shoot(outdir: Path) -> list[Path]:
    from streamdesk.ui.window.main_window import MainWindow

    window = MainWindow(
        Settings(theme="light", protocol="sse"),
        mock_options={"tokens_per_second": 250.0, "first_token_delay": 0.05},
        save_on_close=False,
    )
    window.resize(1280, 800)
    window.apply_theme()
    window.show()
    await window.start_offline_demo("No API key configured.")
    written: list[Path] = []
    for n, (theme, prompt) in enumerate(PROMPTS.items()):
        window.set_theme(theme)
        session = window.current_session() if n == 0 else window.new_chat()
        window.prompt.setPlainText(prompt)
        window.prompt.submit()
        arrived = asyncio.get_running_loop().create_future()

        def enough(_key: object, s: Any = session, f: asyncio.Future[None] = arrived) -> None:
            turn = s.turns[-1]
            if len(turn.reply.parts) >= MID_STREAM_TOKENS and not f.done():
                f.set_result(None)

        session.updated.connect(enough)
        await asyncio.wait_for(arrived, 30)
        await _settle()
        window.prompt.setPlainText("Can you add a table of defaults?")
        written.append(outdir / f"window-{theme}-streaming.png")
        window.grab().save(str(written[-1]))
        session.updated.disconnect(enough)
        window.prompt.clear()
        task = session.task
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), 60)
        await _settle(300)
        written.append(outdir / f"window-{theme}-reply.png")
        window.grab().save(str(written[-1]))
    if TOOLS_SERVER.is_file():
        for theme, prompt in TOOL_PROMPTS.items():
            window.set_theme(theme)
            written += await shoot_tool_call(window, outdir, theme, prompt)
        written.append(await shoot_mcp_settings(window, outdir))
    window.close()
    await window.shutdown()
    return written


def resolver(future: asyncio.Future[Any]) -> Callable[[Any], None]:
    """A slot that gives `future` the first value it is called with."""

    def resolve(value: Any) -> None:
        if not future.done():
            future.set_result(value)

    return resolve


async def shoot_tool_call(window: Any, outdir: Path, theme: str, prompt: str) -> list[Path]:
    """A new chat with the test MCP server enabled: the call awaiting approval, then done
    (closed, as it stays), then with its details open."""
    from streamdesk.core.tools import McpServerConfig

    if not any(s.name == "notes" for s in window.settings.mcp_servers):
        server = McpServerConfig("notes", command=sys.executable, args=(str(TOOLS_SERVER),))
        window.settings.mcp_servers = [*window.settings.mcp_servers, server]
    session = window.new_chat()
    window.tools.set_enabled("notes", True)
    asked: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    session.tools.approvalAsked.connect(resolver(asked))
    window.prompt.setPlainText(prompt)
    window.prompt.submit()
    bar = await asyncio.wait_for(asked, 60)
    await _settle(300)
    written = [outdir / f"window-{theme}-tool-approval.png"]
    window.grab().save(str(written[-1]))
    bar.once.click()
    task = session.task
    if task is not None:
        await asyncio.wait_for(asyncio.shield(task), 60)
    await _settle(300)
    written.append(outdir / f"window-{theme}-tool-done.png")
    window.grab().save(str(written[-1]))
    view = session.views[session.turns[-1].key]
    call = view.tool_rounds[0].calls[0]
    call.expanded = True
    view.redraw_call(call)
    await _settle(300)
    written.append(outdir / f"window-{theme}-tool-details.png")
    window.grab().save(str(written[-1]))
    return written


async def shoot_mcp_settings(window: Any, outdir: Path) -> Path:
    """Settings ▸ MCP servers after Test listed the test server's tools (dark theme)."""
    from streamdesk.ui.keys import key_store
    from streamdesk.ui.settings.dialog import SettingsDialog

    dialog = SettingsDialog(window.settings, key_store(), window)
    dialog.tabs.setCurrentWidget(dialog.mcp)
    dialog.show()
    tested: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    dialog.mcp.tested.connect(resolver(tested))
    dialog.mcp.test_server()
    await asyncio.wait_for(tested, 60)
    await _settle(300)
    path = outdir / "settings-mcp-servers.png"
    dialog.grab().save(str(path))
    dialog.close()
    await dialog.wait_idle()
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0] if args else "resources/screenshots")
    outdir.mkdir(parents=True, exist_ok=True)
    app = make_app(["streamdesk-screenshots"])
    app.setQuitOnLastWindowClosed(False)
    loop = QtEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        paths = loop.run_until_complete(shoot(outdir))
        loop.run_until_complete(loop.shutdown_asyncgens())
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
