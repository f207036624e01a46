"""The window speaks each provider's own API: the reply and its thinking show the same way."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import FAST, wait_reply

from streamdesk.core.providers import ModelInfo
from streamdesk.core.store.settings import ProviderSettings, Settings
from streamdesk.mock import MockServer, reply_for
from streamdesk.ui.window.main_window import MainWindow


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["responses", "anthropic", "gemini"])
async def test_a_native_api_streams_text_and_thinking_into_the_window(
    qtbot: QtBot, api: str
) -> None:
    async with MockServer(**FAST) as server:
        base = server.sse_base_url + ("beta" if api == "gemini" else "")
        profile = ProviderSettings(
            id="native",
            name="Native",
            base_url=base,
            needs_key=False,
            models=[ModelInfo("gpt-4.1", 2.0, 8.0)],
            default_model="gpt-4.1",
            api=api,
        )
        window = MainWindow(
            Settings(active_provider="native", providers=[profile]), save_on_close=False
        )
        qtbot.addWidget(window)
        window.show()
        try:
            await window.start()
            assert not window.header.ws_button.isEnabled(), "WebSocket is chat completions only"
            session = window.current_session()
            session.params = {"reasoning": True}  # Conversation settings ▸ Ask for thinking
            session.send("think first")
            turn = await wait_reply(session)
            assert turn.reply.status.value == "complete", turn.reply.failure
            assert turn.reply.text == "".join(reply_for("think first"))
            assert turn.reply.reasoning_text, "thinking / thought parts / reasoning summary"
            assert "Reasoning" in session.view.toPlainText()
            assert turn.reply.cost is not None and not turn.reply.estimated
        finally:
            await window.shutdown()
