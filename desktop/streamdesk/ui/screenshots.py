"""`python -m streamdesk.ui.screenshots OUTDIR`: PNGs of the real window against the offline demo.

Run by `make screenshot` under Xvfb, on a throwaway STREAMDESK_HOME (a temporary folder removed
afterwards), so the shots never add chats or settings to the user's own. It writes, light and
dark where the theme changes the look: the welcome page; a reply while it streams and when it
has finished (headings, code, a table), at 1280x800 and at 1920x1080; a reply cut mid-stream
(the partial text and the failure box); the command palette; the window at 800x600 with its
sidebar narrowed; the compare window with three columns finished; a prompt sent with an image
and a text file; Settings (Providers, Appearance); with the test MCP server of a source checkout
(tests/tools_server.py), a tool call awaiting approval, the finished call, the call with its
details open, and Settings ▸ MCP servers; the header's assistant menu and Settings ▸ Assistants;
and, last, View ▸ Usage over a month of replies seeded into the throwaway history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import keyring.backend
import keyring.errors
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter
from PySide6.QtWidgets import QWidget

from streamdesk.core.paths import HOME_ENV
from streamdesk.core.store.history import HistoryStore
from streamdesk.core.store.history.usage import day_start
from streamdesk.core.store.settings import Settings
from streamdesk.ui.app import make_app
from streamdesk.ui.qtloop import QtEventLoop

if TYPE_CHECKING:
    from streamdesk.ui.session.session import ChatSession
    from streamdesk.ui.window.main_window import MainWindow

SIZE = (1280, 800)
LARGE = (1920, 1080)
SMALL = (800, 600)
REPLY_PROMPTS = {  # the demo answers both with headings, code blocks and a table
    "light": "Explain server-sent events and the event-stream format",
    "dark": "How should a client handle HTTP status codes from a JSON API?",
}
NEXT_PROMPTS = {  # typed in the box while the reply streams
    "light": "How does the browser reconnect after a drop?",
    "dark": "Show the same with retries and backoff",
}
MID_STREAM_TOKENS = 140
FAILURE_PROMPTS = ("Write a short poem about packets crossing the sea.", "Now explain WebSockets")
FAILURE_SCENARIO = "cut"  # the connection closes after a few tokens, no [DONE]
COMPARE_PROMPT = "Compare SSE and WebSocket for streaming LLM replies."  # asked nowhere else
COMPARE_SIZE = (1500, 800)  # three columns side by side
COMPARE_THIRD = ("mock", "deepseek-v3.2", "ws")  # next to the window's model over SSE and WS
ATTACH_PROMPT = "A short poem about this sunrise and my shopping list"  # a reply that fits
ATTACH_NOTE = ("shopping.txt", "eggs\nflour\nmilk\n")
ATTACH_SIZE = (1280, 1080)  # tall enough for the prompt, its attachments and the whole reply
USAGE_MODELS = {  # USD per million tokens in, out: a made-up month's plausible prices
    "openai": [("gpt-4.1", 2.0, 8.0), ("gpt-4.1-mini", 0.4, 1.6)],
    "anthropic": [("claude-sonnet-4", 3.0, 15.0)],
    "deepseek": [("deepseek-v3.2", 0.28, 0.42)],
    "ollama": [("llama3.2", 0.0, 0.0)],
}
USAGE_SIZE = (1000, 760)
INSPECTOR_PROMPT = "Write a Python function that reads a JSON lines file"
SEARCH_TEXT = "EventSource"
TOOL_PROMPTS = {
    "light": "Use read_note to read the note 'groceries'",
    "dark": "Use add to add 2 and 3",
}
TOOLS_SERVER = Path(__file__).resolve().parents[3] / "tests" / "tools_server.py"


async def settle(ms: int = 300) -> None:
    """Let a few frames render (the transcript coalesces updates at ~60 Hz)."""
    await asyncio.sleep(ms / 1000)


def resolver(future: asyncio.Future[Any]) -> Callable[..., None]:
    """A slot that gives `future` the first value it is called with."""

    def resolve(value: Any = None, *_: Any) -> None:
        if not future.done():
            future.set_result(value)

    return resolve


async def wait_reply(session: ChatSession) -> None:
    """Until the reply that is streaming in `session` has finished (however it ended)."""
    task = session.task
    if task is not None:
        await asyncio.wait_for(asyncio.shield(task), 60)


async def wait_tokens(session: ChatSession, count: int) -> None:
    """Until the streaming reply holds `count` tokens."""
    arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check(_key: object = None) -> None:
        if len(session.turns[-1].reply.parts) >= count and not arrived.done():
            arrived.set_result(None)

    session.updated.connect(check)
    try:
        await asyncio.wait_for(arrived, 30)
    finally:
        session.updated.disconnect(check)


async def until(ready: Callable[[], bool], limit: float = 10.0) -> None:
    """Until `ready()` holds, checked once a frame (for a state no signal announces)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not ready():
        if loop.time() > end:
            raise TimeoutError("the window did not get there")
        await asyncio.sleep(0.016)


def sample_image(path: Path, size: int = 64) -> None:
    """A small PNG with a gradient and a circle, so the thumbnail reads as a picture."""
    image = QImage(size, size, QImage.Format.Format_RGB32)
    gradient = QLinearGradient(0, 0, size, size)
    gradient.setColorAt(0, QColor("#3b82f6"))
    gradient.setColorAt(1, QColor("#14b8a6"))
    painter = QPainter(image)
    painter.fillRect(image.rect(), gradient)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#fde68a"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(size // 4, size // 4, size // 2, size // 2)
    painter.end()
    image.save(str(path))


def seed_usage_month(path: Path, today: dt.date, days: int = 34) -> None:
    """A month of replies in the history at `path`: weekdays busier than weekends, about one in
    eight estimated (no usage from the server), a demo chat the usage never counts."""
    rng = random.Random(7)
    created: dict[int, float] = {}
    with HistoryStore(path) as store:
        chats = {
            (provider, model): store.create_conversation(
                title=f"Notes with {model}", provider=provider, model=model
            )
            for provider, models in USAGE_MODELS.items()
            for model, _, _ in models
        }
        demo = store.create_conversation(title="Demo", provider="mock", model="mock-fast")
        for back in range(days):
            day = today - dt.timedelta(days=back)
            noon = day_start(day) + 12 * 3600
            for _ in range(rng.randint(0, 3) if day.weekday() >= 5 else rng.randint(3, 11)):
                provider = rng.choice(list(USAGE_MODELS))
                model, price_in, price_out = rng.choice(USAGE_MODELS[provider])
                prompt, completion = rng.randint(300, 6000), rng.randint(100, 1800)
                estimated = rng.random() < 0.12
                reply = store.add_message(
                    chats[(provider, model)], "assistant", "…", model=model,
                    status="partial" if estimated else "complete", cost_estimated=estimated,
                    usage={"prompt_tokens": prompt, "completion_tokens": completion},
                    cost=(prompt * price_in + completion * price_out) / 1e6,
                )  # fmt: skip
                created[reply] = noon + rng.randint(-30000, 30000)
            if back % 6 == 0:
                reply = store.add_message(
                    demo, "assistant", "demo", model="mock-fast", cost=0.0,
                    usage={"prompt_tokens": 40, "completion_tokens": 120},
                )  # fmt: skip
                created[reply] = noon
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.executemany(
            "UPDATE messages SET created = ? WHERE id = ?", [(t, m) for m, t in created.items()]
        )
    finally:
        db.close()


class SessionKeyring(keyring.backend.KeyringBackend):
    """Keys in memory for the run: the shots show a working keychain whether or not the
    machine has one, and never read or write the user's own."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.keys: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.keys.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.keys[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.keys.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class Shots:
    """Drives one main window through the screens the README and the issues show."""

    def __init__(self, window: MainWindow, outdir: Path) -> None:
        self.window = window
        self.outdir = outdir
        self.written: list[Path] = []

    async def save(self, name: str, widget: QWidget | None = None, ms: int = 300) -> None:
        await settle(ms)
        path = self.outdir / f"{name}.png"
        (widget or self.window).grab().save(str(path))
        self.written.append(path)

    async def resize(self, size: tuple[int, int]) -> None:
        self.window.resize(*size)
        await settle(150)

    def send(self, prompt: str) -> ChatSession:
        """Type `prompt` into the current chat and send it; returns that chat."""
        self.window.prompt.setPlainText(prompt)
        self.window.prompt.submit()
        return self.window.current_session()

    async def welcome(self) -> None:
        for theme in ("light", "dark"):
            self.window.set_theme(theme)
            await self.save(f"window-{theme}-welcome")

    async def reply(self, theme: str) -> int:
        """Mid-stream (the next prompt typed), finished, and finished at 1920x1080; returns
        the chat's key."""
        window = self.window
        window.set_theme(theme)
        if window.current_session().turns:
            window.new_chat()
        session = self.send(REPLY_PROMPTS[theme])
        await wait_tokens(session, MID_STREAM_TOKENS)
        window.prompt.setPlainText(NEXT_PROMPTS[theme])
        await self.save(f"window-{theme}-streaming", ms=150)
        window.prompt.clear()
        await wait_reply(session)
        await self.save(f"window-{theme}-reply")
        await self.resize(LARGE)
        await self.save(f"window-{theme}-reply-1920x1080")
        await self.resize(SIZE)
        return window.current_key()

    async def failure(self) -> None:
        """A finished short reply, then one cut mid-stream with resuming off."""
        window = self.window
        window.new_chat()
        await wait_reply(self.send(FAILURE_PROMPTS[0]))
        window.resume_override = "off"
        window.set_next_scenario(FAILURE_SCENARIO)
        await wait_reply(self.send(FAILURE_PROMPTS[1]))
        window.resume_override = None
        await self.save("window-light-failure")

    async def palette(self, chat: int) -> None:
        self.window.conversations.select(chat)
        self.window.open_palette()
        await self.save("window-light-palette")
        self.window.palette_popup.close_palette()

    async def small(self, chat: int) -> None:
        """800x600: the sidebar narrows by itself to leave the reading column room."""
        self.window.conversations.select(chat)
        await self.resize(SMALL)
        await self.save("window-light-800x600")
        await self.resize(SIZE)

    async def compare(self) -> None:
        """Every column finished. A prompt no chat has asked: the demo gives a repeated
        request its next take, and the columns should show the same reply."""
        from streamdesk.ui.compare import open_compare

        compare = open_compare(self.window, COMPARE_PROMPT)
        compare.with_chat.setChecked(False)  # the prompt alone, not the chat shown behind it
        compare.add_column(*COMPARE_THIRD)
        compare.resize(*COMPARE_SIZE)
        await compare.run(COMPARE_PROMPT)
        await self.save("compare-light", compare)
        compare.close()

    async def attachments(self) -> None:
        """A prompt sent with an image and a text file, and the demo's reply saying what it
        received."""
        window = self.window
        window.new_chat()
        with tempfile.TemporaryDirectory(prefix="streamdesk-attach-") as folder:
            photo, note = Path(folder) / "sunrise.png", Path(folder) / ATTACH_NOTE[0]
            sample_image(photo)
            note.write_text(ATTACH_NOTE[1], encoding="utf-8")
            window.composer.attach_paths([str(photo), str(note)])
            await wait_reply(self.send(ATTACH_PROMPT))
        await self.resize(ATTACH_SIZE)
        await self.save("window-light-attachments")
        await self.resize(SIZE)

    async def assistant_picker(self, chat: int) -> None:
        """The header's assistant menu open on `chat`, grabbed from the screen (the menu is a
        window of its own), and Settings ▸ Assistants."""
        window = self.window
        window.conversations.select(chat)
        button = window.assistants.button
        menu = button.list_menu
        menu.popup(button.mapToGlobal(QPoint(0, button.height())))
        await settle()
        top_left = window.mapToGlobal(QPoint(0, 0))
        screen = QGuiApplication.primaryScreen()
        shot = screen.grabWindow(0, top_left.x(), top_left.y(), window.width(), window.height())
        path = self.outdir / "window-light-assistant-picker.png"
        shot.save(str(path))
        self.written.append(path)
        menu.hide()
        dialog = self.window.settings_ui.open_dialog()
        dialog.tabs.setCurrentWidget(dialog.assistants)
        dialog.assistants.list.setCurrentRow(1)
        await dialog.wait_idle()
        await self.save("settings-assistants", dialog)
        dialog.close()
        await dialog.wait_idle()

    async def usage(self) -> None:
        """View ▸ Usage on a seeded month, light and dark. Last: the seeded chats join the
        history the other shots list."""
        from streamdesk.ui.usage.dialog import UsageDialog

        window = self.window
        store = window.history.store
        if store is None:
            raise RuntimeError("the window has no history to seed")
        seed_usage_month(store.path, dt.date.today())
        for theme in ("light", "dark"):
            window.set_theme(theme)
            window.open_usage()
            dialog = window.findChild(UsageDialog)
            if not isinstance(dialog, UsageDialog):
                raise RuntimeError("View ▸ Usage opened no dialog")
            dialog.resize(*USAGE_SIZE)
            await dialog.reload()
            await self.save(f"usage-{theme}", dialog)
            dialog.close()
        window.set_theme("light")

    async def inspector(self) -> None:
        """The inspector (Ctrl+I) under a reply it watched from its first frame."""
        window = self.window
        window.new_chat()
        window.inspectorRequested.emit()
        await wait_reply(self.send(INSPECTOR_PROMPT))
        await self.save("inspector")
        window.inspectorRequested.emit()  # hidden again

    async def search(self) -> None:
        """Search all messages: the hits listed, the first one opened in its chat."""
        chats = self.window.conversations
        chats.search.setText(SEARCH_TEXT)
        chats.search.returnPressed.emit()
        await until(chats.results.isVisible)
        chats.results.activate(0)
        await self.save("history-search")
        chats.search.clear()

    async def settings(self) -> None:
        dialog = self.window.settings_ui.open_dialog()
        dialog.tabs.setCurrentWidget(dialog.providers)
        await dialog.wait_idle()
        await self.save("settings-providers", dialog)
        dialog.tabs.setCurrentWidget(dialog.appearance)
        await self.save("settings-appearance", dialog)
        dialog.close()
        await dialog.wait_idle()

    async def tool_call(self, theme: str) -> None:
        """A new chat with the test MCP server enabled: the call awaiting approval, then done
        (closed, as it stays), then with its details open."""
        from streamdesk.core.tools import McpServerConfig

        window = self.window
        window.set_theme(theme)
        if not any(s.name == "notes" for s in window.settings.mcp_servers):
            server = McpServerConfig("notes", command=sys.executable, args=(str(TOOLS_SERVER),))
            window.settings.mcp_servers = [*window.settings.mcp_servers, server]
        session = window.new_chat()
        window.tools.set_enabled("notes", True)
        if session.tools is None:
            raise RuntimeError("the window gave the chat no tools")
        asked: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        session.tools.approvalAsked.connect(resolver(asked))
        self.send(TOOL_PROMPTS[theme])
        bar = await asyncio.wait_for(asked, 60)
        await self.save(f"window-{theme}-tool-approval")
        bar.once.click()
        await wait_reply(session)
        await self.save(f"window-{theme}-tool-done")
        view = session.views[session.turns[-1].key]
        call = view.tool_rounds[0].calls[0]
        call.expanded = True
        view.redraw_call(call)
        await self.save(f"window-{theme}-tool-details")

    async def mcp_settings(self) -> None:
        """Settings ▸ MCP servers after Test listed the test server's tools."""
        dialog = self.window.settings_ui.open_dialog()
        dialog.tabs.setCurrentWidget(dialog.mcp)
        tested: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        dialog.mcp.tested.connect(resolver(tested))
        dialog.mcp.test_server()
        await asyncio.wait_for(tested, 60)
        await self.save("settings-mcp-servers", dialog)
        dialog.close()
        await dialog.wait_idle()


async def shoot(outdir: Path) -> list[Path]:
    from streamdesk.ui.window.main_window import MainWindow

    window = MainWindow(
        Settings(theme="light", protocol="sse"),
        mock_options={"tokens_per_second": 250.0, "first_token_delay": 0.05},
        save_on_close=False,
    )
    window.resize(*SIZE)
    window.apply_theme()
    window.show()
    await window.start_offline_demo("No API key configured.")
    shots = Shots(window, outdir)
    await shots.welcome()
    light = await shots.reply("light")
    await shots.reply("dark")
    window.set_theme("light")
    await shots.palette(light)
    await shots.small(light)
    await shots.failure()
    await shots.compare()
    await shots.attachments()
    await shots.settings()
    await shots.inspector()
    await shots.search()
    if TOOLS_SERVER.is_file():
        for theme in TOOL_PROMPTS:
            await shots.tool_call(theme)
        await shots.mcp_settings()
    window.set_theme("light")
    await shots.assistant_picker(light)
    await shots.usage()
    window.close()
    await window.shutdown()
    return shots.written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0] if args else "resources/screenshots").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="streamdesk-screenshots-") as home:
        os.environ[HOME_ENV] = home  # history and settings of the run, never the user's own
        keyring.set_keyring(SessionKeyring())
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
