"""The window's chrome and first minutes: welcome page, command palette, Ctrl+N, the last chat
at start, a status bar that is never stale, the sidebar and header in a small window."""

from __future__ import annotations

import asyncio
import time

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from pytestqt.qtbot import QtBot
from test_prompt_edit import chat_with_reply, link_point
from ui_helpers import FAST, open_window, until, wait_reply

from streamdesk.ui.palette import PaletteEntry, matches
from streamdesk.ui.window.composer import BUTTON_ROOM
from streamdesk.ui.window.main_window import NARROW_SIDEBAR_WIDTH, MainWindow
from streamdesk.ui.window.status_bar import ReplyStats, StatusBar
from streamdesk.ui.window.welcome import DEMO_TITLE, EXAMPLES

DAY = 86400.0


def _ctrl(qtbot: QtBot, window: MainWindow, key: Qt.Key) -> None:
    qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)


async def _activate(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    await until(window.isActiveWindow)


# -- welcome page --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_empty_chat_shows_the_welcome_page_and_a_card_sends_its_prompt(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        assert window.content.currentWidget() is window.welcome
        assert window.welcome.source_title.text() == DEMO_TITLE
        card = window.welcome.cards[1]
        assert card.prompt == EXAMPLES[1][2]
        qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
        session = window.current_session()
        assert session.turns and session.turns[0].prompt == card.prompt
        assert window.content.currentWidget() is window.stack, "hidden once a message exists"
        await wait_reply(session)
        assert window.conversations.title(window.current_key()).startswith("Compare SSE")
        assert (
            window.windowTitle().startswith("Compare SSE") and "Streamdesk" in window.windowTitle()
        )
        window.open_new_chat()
        assert window.content.currentWidget() is window.welcome, "back on a new empty chat"
        window.conversations.select(window.history.key_of(session.conversation.conversation_id))
        assert window.content.currentWidget() is window.stack


@pytest.mark.asyncio
async def test_the_welcome_page_fits_at_1280x800_and_shortens_its_cards_at_800x600(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        await _activate(qtbot, window)
        welcome = window.welcome
        window.resize(1280, 800)
        await until(lambda: window.width() == 1280 and welcome.height() > 500)
        assert len(welcome.chips) >= 4, "the assistants are on the page"
        bottom = welcome.add_provider.mapTo(welcome.viewport(), QPoint(0, 0)).y()
        assert welcome.verticalScrollBar().maximum() == 0, "the page fits without a scrollbar"
        assert bottom + welcome.add_provider.height() <= welcome.viewport().height()
        assert all(card.body.isVisible() for card in [*welcome.cards, *welcome.chips])
        chip = welcome.chips[1]
        assert chip.body.height() < 2 * chip.body.fontMetrics().height(), "one line per chip"
        window.resize(800, 600)
        await until(lambda: window.width() == 800)
        assert not any(card.body.isVisible() for card in [*welcome.cards, *welcome.chips])
        assert welcome.cards[0].prompt in welcome.cards[0].toolTip()
        assert welcome.column.width() <= welcome.viewport().width()


@pytest.mark.asyncio
async def test_add_a_provider_opens_the_providers_page(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        qtbot.mouseClick(window.welcome.add_provider, Qt.MouseButton.LeftButton)
        dialog = window.settings_ui.dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.tabs.currentWidget() is dialog.providers
        dialog.close()


# -- Ctrl+N and the last chat --------------------------------------------------------------


@pytest.mark.asyncio
async def test_ctrl_n_reuses_an_empty_chat_instead_of_adding_another(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        await _activate(qtbot, window)
        empty = window.current_key()
        _ctrl(qtbot, window, Qt.Key.Key_N)
        _ctrl(qtbot, window, Qt.Key.Key_N)
        assert list(window.sessions) == [empty] and window.conversations.keys() == [empty]
        window.current_session().send("first")
        await wait_reply(window.current_session())
        _ctrl(qtbot, window, Qt.Key.Key_N)
        fresh = window.current_key()
        assert fresh != empty and not window.current_session().turns
        window.conversations.select(empty)  # back to the filled chat, then Ctrl+N again
        _ctrl(qtbot, window, Qt.Key.Key_N)
        assert window.current_key() == fresh and len(window.conversations.keys()) == 2


@pytest.mark.asyncio
async def test_a_restart_opens_the_last_chat_with_its_figures(qtbot: QtBot) -> None:
    async with open_window(qtbot) as first:
        first.current_session().send("the older chat")
        await wait_reply(first.current_session())
        first.open_new_chat()
        session = first.current_session()
        session.send("the last chat")
        await wait_reply(session)
        first.close()
    second = MainWindow(mock_options=FAST, save_on_close=False)
    qtbot.addWidget(second)
    second.show()
    try:
        await second.start()
        session = second.current_session()
        assert [t.prompt for t in session.turns] == ["the last chat"]
        assert len(second.conversations.keys()) == 2 and len(second.sessions) == 1
        assert second.content.currentWidget() is second.stack
        status = second.status.text()
        assert "Done" in status and "Idle" not in status and "TTFT –" not in status
        assert " ms" in status and " tok/s" in status and "tokens" in status
        assert "Cost: demo" in status, "the last reply came from the offline demo"
    finally:
        await second.shutdown()


@pytest.mark.asyncio
async def test_the_prompt_box_and_welcome_page_line_up_with_the_reading_column(
    qtbot: QtBot,
) -> None:
    async with open_window(qtbot) as window:
        window.resize(1280, 800)
        view = window.current_session().view
        window.current_session().send("a reply to line the prompt box up with")
        await wait_reply(window.current_session())
        for size in (window.settings.font_size, 18):
            settings = window.settings
            settings.font_size = size
            window.apply_settings(settings)
            window.settings_ui.apply_font(size)
            assert window.composer.column.maximumWidth() == view.column_width + 2 * BUTTON_ROOM
            assert window.welcome.column.maximumWidth() == view.column_width
            await asyncio.sleep(0.05)  # the layouts take the new font in the next frames
            _assert_prompt_box_on_the_column(window)
        assert view.column_width > 0


def _assert_prompt_box_on_the_column(window: MainWindow) -> None:
    """The prompt box's left edge is the reading column's, with Attach and Tools present
    (flat, under the box, not pushing it right)."""
    view = window.current_session().view
    doc = view.document()
    margin = doc.rootFrame().frameFormat().leftMargin() + doc.documentMargin()
    column_left = view.viewport().mapTo(window, QPoint(round(margin), 0)).x()
    composer = window.composer
    box_left = composer.prompt.mapTo(window, QPoint(0, 0)).x()
    assert abs(box_left - column_left) <= 4, (box_left, column_left)  # half a scrollbar
    buttons = [composer.attach_button, window.tools.button]
    for button in buttons:
        assert button.isVisible() and button.autoRaise(), button.objectName()
        assert (
            button.mapTo(window, QPoint(0, 0)).y() > composer.prompt.mapTo(window, QPoint(0, 0)).y()
        )
    assert buttons[0].mapTo(window, QPoint(0, 0)).x() >= box_left - 2


# -- status bar ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_scenario_line_goes_once_its_request_is_sent(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.max_retries_override = 0
        window.set_next_scenario("http-429")
        assert "mock scenario 'http-429'" in window.status.currentMessage()
        session = window.current_session()
        session.send("rate limit me")
        assert window.status.currentMessage() == ""
        await wait_reply(session)
        assert "http-429" not in window.status.text()


@pytest.mark.asyncio
async def test_the_scenario_line_goes_when_another_provider_is_chosen(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.set_next_scenario("http-500")
        assert "http-500" in window.status.currentMessage()
        window.switcher.select("openai")
        await window.wait_idle()
        assert window.provider.id == "openai" and window.switcher.next_scenario is None
        assert window.status.currentMessage() == ""


@pytest.mark.asyncio
async def test_the_editing_line_goes_after_the_resend(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = window.current_session()
        session.send("a prompt to edit")
        turn = await wait_reply(session)
        window.history.actions.edit(session, ("user", turn.key))
        assert "Editing a prompt" in window.status.currentMessage()
        window.prompt.setPlainText("the edited prompt")
        window.prompt.submit()
        assert window.status.currentMessage() == ""
        await wait_reply(session)
        assert "Editing" not in window.status.text()


@pytest.mark.asyncio
async def test_a_demo_reply_reads_demo_not_dollars(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        session = await chat_with_reply(window, "What does a table of prices look like?")
        lines = session.view.toPlainText().split("\n")
        caption = next(line for line in lines if line.startswith("Assistant"))
        assert caption.startswith("Assistant · gpt-4.1 · SSE"), caption
        assert "$" not in caption, "the caption names model and protocol, never a price"
        assert "Cost: demo" in window.status.text() and "$" not in window.status.text()


@pytest.mark.asyncio
async def test_links_say_where_they_go_and_why_they_did_not_open(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        view = (await chat_with_reply(window, "a chat with a link")).view
        opened: list[str] = []
        view.open_url = lambda url: bool(opened.append(url.toString()))  # the desktop refuses
        window.set_next_scenario("http-500")
        note = window.status.currentMessage()
        view.add_assistant_message("See [the spec](https://example.com/spec).")
        link = link_point(view, "the spec")
        qtbot.mouseMove(view.viewport(), link)  # the mouse is on the link
        assert window.status.currentMessage() == "https://example.com/spec"
        qtbot.mouseMove(view.viewport(), QPoint(link.x(), 2))  # and leaves it
        assert window.status.currentMessage() == note, "the line it covered comes back"
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=link)
        assert opened == ["https://example.com/spec"]
        said = window.status.currentMessage()
        assert said.startswith("Could not open https://example.com/spec")
        qtbot.mouseMove(view.viewport(), QPoint(link.x(), 2))  # leaving keeps the sentence up
        assert window.status.currentMessage() == said
        view.anchorClicked.emit(QUrl("file:///etc/passwd"))
        assert window.status.currentMessage().startswith("Not opened: file:///etc/passwd")


def test_a_passing_message_gives_the_note_back_when_it_times_out(qtbot: QtBot) -> None:
    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.note("Next request uses mock scenario 'http-500'")
    bar.say("Could not open https://example.com", ms=20)
    assert bar.currentMessage().startswith("Could not open")
    qtbot.waitUntil(lambda: bar.currentMessage().startswith("Next request"), timeout=2000)
    bar.clear_note()
    assert bar.currentMessage() == ""


def test_figures_carry_units_and_a_new_chat_shows_no_dashes(qtbot: QtBot) -> None:
    bar = StatusBar()
    qtbot.addWidget(bar)
    assert bar.text() == "● Ready"
    stats = ReplyStats(
        state="Done",
        protocol="ws",
        ttft=0.3124,
        tokens_per_s=41.26,
        tokens_in=12,
        tokens_out=80,
        reply_cost=0.0021,
        conversation_cost=0.004,
    )
    bar.show_stats(stats)
    text = bar.text()
    assert "WebSocket" in text and "TTFT 312 ms" in text and "41.3 tok/s" in text
    assert "in 12 · out 80 tokens" in text and "$0.0021 reply · $0.0040 chat" in text
    bar.show_stats(ReplyStats(state="Connecting", protocol="sse"))
    assert bar.text() == "● Connecting  SSE", "figures not known yet are left out"
    bar.show_stats(stats, demo=True)
    assert "Cost: demo" in bar.text() and "$" not in bar.text()
    assert "$0.0021" in bar.labels["cost"].toolTip()


# -- command palette -----------------------------------------------------------------------


def test_the_filter_wants_every_word_and_ranks_title_prefixes_first() -> None:
    entries = [
        PaletteEntry("Model", "gpt-4.1-mini", lambda: None, "OpenAI"),
        PaletteEntry("Model", "gpt-4.1", lambda: None, "OpenAI"),
        PaletteEntry("Action", "Theme ▸ Dark", lambda: None),
    ]
    assert [e.title for e in matches(entries, "openai mini")] == ["gpt-4.1-mini"]
    assert [e.title for e in matches(entries, "dark")] == ["Theme ▸ Dark"]
    assert len(matches(entries, "")) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [(1280, 800), (800, 600), (800, 420)])
async def test_the_palette_list_shows_whole_rows(qtbot: QtBot, size: tuple[int, int]) -> None:
    async with open_window(qtbot) as window:
        await _activate(qtbot, window)
        window.resize(*size)
        await until(lambda: window.size().toTuple() == size)
        window.open_palette()
        palette = window.palette_popup
        rows = palette.list.viewport().height() / palette.list.sizeHintForRow(0)
        assert rows == int(rows) and rows >= 1, f"{rows} rows: the last one is cut"
        assert palette.geometry().bottom() < window.centralWidget().height()
        assert palette.list.geometry().bottom() < palette.height()


@pytest.mark.asyncio
async def test_the_palette_runs_actions_opens_chats_and_switches_models(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        await _activate(qtbot, window)
        window.current_session().send("a chat to find again")
        await wait_reply(window.current_session())
        found = window.current_key()
        window.open_new_chat()
        palette = window.palette_popup
        _ctrl(qtbot, window, Qt.Key.Key_K)
        assert palette.isVisible() and palette.field.hasFocus()
        kinds = {e.kind for e in palette.shown()}
        assert kinds == {"Action", "This chat", "Chat", "Model", "Assistant"}
        new_chat = next(e for e in palette.shown() if e.title == "New chat" and e.kind == "Action")
        assert new_chat.detail, "actions show their shortcut"
        # a conversation: typed, chosen with Enter
        qtbot.keyClicks(palette.field, "find again")
        assert [e.kind for e in palette.shown()] == ["Chat"]
        qtbot.keyClick(palette.field, Qt.Key.Key_Return)
        assert not palette.isVisible() and window.current_key() == found
        # a model of another provider of the list, moving down with the arrows
        window.open_palette()
        qtbot.keyClicks(palette.field, "model claude")
        first = palette.current()
        assert first is not None and first.title.startswith("claude")
        qtbot.keyClick(palette.field, Qt.Key.Key_Down)
        chosen = palette.current()
        assert chosen is not None and chosen is not first
        qtbot.keyClick(palette.field, Qt.Key.Key_Return)
        assert window.header.model() == chosen.title
        # an action of a submenu
        window.open_palette()
        qtbot.keyClicks(palette.field, "theme dark")
        qtbot.keyClick(palette.field, Qt.Key.Key_Return)
        assert window.settings.theme == "dark" and window.dark
        # what can be done to the current chat: its context menu's commands
        window.open_palette()
        qtbot.keyClicks(palette.field, "pin")
        assert palette.current() is not None and palette.current().kind == "This chat"
        qtbot.keyClick(palette.field, Qt.Key.Key_Return)
        assert window.conversations.is_pinned(window.current_key())
        # Escape closes without running anything
        window.open_palette()
        qtbot.keyClicks(palette.field, "theme light")
        qtbot.keyClick(palette.field, Qt.Key.Key_Escape)
        assert not palette.isVisible() and window.settings.theme == "dark"


# -- small windows -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_small_window_narrows_the_sidebar_and_ctrl_b_hides_it(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        await _activate(qtbot, window)
        window.resize(1280, 800)  # shown wide first: the app's name and assistant are shown
        await until(lambda: window.width() == 1280)
        window.resize(800, 600)
        await until(lambda: window.width() == 800)
        header = window.header
        for part in (header.provider_box, header.model_box, header.sse_button, header.ws_button):
            assert part.isVisible() and part.geometry().right() < header.width(), part
        assistant = window.assistants.button
        if assistant.isVisible():  # elided, its full text in the tooltip
            assert assistant.geometry().right() < header.width()
            assert assistant.full_text().removeprefix("Assistant: ") in assistant.toolTip()
        assert window.splitter.sizes()[0] <= NARROW_SIDEBAR_WIDTH
        box = window.header.provider_box
        assert box.currentText() in box.toolTip(), "a squeezed provider name is in the tooltip"
        assert not window.header.title.isVisible(), "the app's name gives way to the pickers"
        _ctrl(qtbot, window, Qt.Key.Key_B)
        assert window.conversations.isHidden()
        _ctrl(qtbot, window, Qt.Key.Key_B)
        assert window.conversations.isVisible()


# -- sidebar -------------------------------------------------------------------------------


def test_the_sidebar_groups_conversations_under_date_headings(qtbot: QtBot) -> None:
    from streamdesk.ui.window.conversation_list import ConversationList

    sidebar = ConversationList()
    qtbot.addWidget(sidebar)
    now = time.time()
    sidebar.add_conversation(1, "old", select=False, when=now - 10 * DAY)
    sidebar.add_conversation(2, "yesterday", select=False, when=now - DAY)
    sidebar.add_conversation(3, "today", select=True)
    sidebar.add_conversation(4, "pinned", select=False, pinned=True, when=now - 30 * DAY)
    rows = [sidebar.list.item(r).text() for r in range(sidebar.list.count())]
    assert rows == [
        "Pinned",
        "pinned",
        "Today",
        "today",
        "Yesterday",
        "yesterday",
        "Earlier",
        "old",
    ]
    assert sidebar.keys() == [4, 3, 2, 1] and sidebar.current_key() == 3
    sidebar.set_pinned(4, False)  # its date decides now; the heading "Pinned" goes
    rows = [sidebar.list.item(r).text() for r in range(sidebar.list.count())]
    assert rows == ["Today", "today", "Yesterday", "yesterday", "Earlier", "old", "pinned"]
    sidebar.remove(2)
    assert "Yesterday" not in [sidebar.list.item(r).text() for r in range(sidebar.list.count())]
    heading = sidebar.list.item(0)
    assert not heading.flags() & Qt.ItemFlag.ItemIsSelectable


def test_a_long_history_is_listed_in_one_pass_as_one_by_one(qtbot: QtBot) -> None:
    """The window lists its stored conversations at start in one pass (`add_conversations`,
    one pass for the headings): the same rows and order as adding them one at a time."""
    from streamdesk.ui.window.conversation_list import ConversationList

    now = time.time()
    stored = [(k, f"chat {k}", k % 7 == 0, now - k * DAY / 3) for k in range(300)]
    listed = sorted(stored, key=lambda c: (not c[2], -c[3]))  # the store's order
    one_by_one, at_once = ConversationList(), ConversationList()
    for sidebar in (one_by_one, at_once):
        qtbot.addWidget(sidebar)
    for key, title, pinned, when in reversed(listed):
        one_by_one.add_conversation(key, title, select=False, pinned=pinned, when=when)
    at_once.add_conversations(listed)

    def rows(sidebar: ConversationList) -> list[str]:
        return [sidebar.list.item(r).text() for r in range(sidebar.list.count())]

    assert rows(at_once) == rows(one_by_one)
    assert rows(at_once)[:2] == ["Pinned", "chat 0"] and "Earlier" in rows(at_once)
    assert at_once.keys() == [key for key, *_ in listed]
    at_once.select(150)
    assert at_once.current_key() == 150 and at_once.title(150) == "chat 150"


@pytest.mark.asyncio
async def test_the_prompt_box_uses_the_transcript_s_font_size(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        view = window.current_session().view
        assert window.prompt.font().pointSize() == view.font().pointSize()
        settings = window.settings
        settings.font_size = 14
        window.settings_ui.apply(settings)
        assert window.prompt.font().pointSize() == view.font().pointSize() == 14


def test_icons_follow_the_theme(qtbot: QtBot) -> None:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QToolButton

    from streamdesk.ui.window import icons

    button = QToolButton()
    qtbot.addWidget(button)
    icons.set_dark(False)
    icons.bind(button.setIcon, "mdi6.magnify")
    light = button.icon().pixmap(16, 16).toImage()
    icons.set_dark(True)
    dark = button.icon().pixmap(16, 16).toImage()
    assert light != dark, "a theme switch repaints bound icons"
    icons.set_dark(False)
    assert isinstance(icons.icon("mdi6.arrow-up", role="on-accent"), QIcon)


@pytest.mark.asyncio
async def test_the_chrome_gets_one_icon_set_once_the_window_is_ready(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.add_icons()
        window.add_icons()  # once only
        header, composer = window.header, window.composer
        for button in (header.sidebar_button, header.palette_button, composer.send_button):
            assert not button.icon().isNull()
        assert header.sidebar_button.text() == ""
        new_chat = next(act for name, act in window.menus.commands() if name == "New chat")
        assert not new_chat.icon().isNull()
        assert window.welcome.cards[0].mark.pixmap() is not None


@pytest.mark.asyncio
async def test_the_welcome_page_says_when_the_chosen_provider_needs_its_key(
    qtbot: QtBot,
) -> None:
    from streamdesk.core.store.settings import Settings

    window = MainWindow(Settings(active_provider="openai"), save_on_close=False)
    qtbot.addWidget(window)
    window.show()
    try:
        await window.start()
        assert window.content.currentWidget() is window.welcome
        assert window.welcome.source_title.text() == "OpenAI needs a key"
        assert "No API key for OpenAI" in window.welcome.source_text.text()
    finally:
        await window.shutdown()


@pytest.mark.asyncio
async def test_the_last_chat_reopens_on_its_own_provider_with_its_key(qtbot: QtBot) -> None:
    from streamdesk.core.store.history import HistoryStore
    from streamdesk.core.store.settings import Settings

    with HistoryStore() as store:
        cid = store.create_conversation(title="held elsewhere", provider="openai", model="gpt-4o")
        store.add_message(cid, "user", "hello")
        store.add_message(cid, "assistant", "hi")
    window = MainWindow(Settings(active_provider="anthropic"), save_on_close=False)
    qtbot.addWidget(window)
    window.show()
    try:
        await window.start()
        assert window.conversations.title(window.current_key()) == "held elsewhere"
        assert window.provider.id == window.header.provider_id() == "openai"
        assert window.header.model() == "gpt-4o"
    finally:
        await window.shutdown()
