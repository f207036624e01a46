"""The window's chrome shows other people's words as they are: a conversation title, a
provider's or model's name, an assistant's name and description, a tool's name. Each is shown
in a plain label or an escaped tooltip, so `<img src="LOCALFILE">` is spelled out and never
draws the local image it names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from plain_checks import assert_plain_label, assert_plain_tooltip, hostile, red_png
from pytestqt.qtbot import QtBot

from streamdesk.core.assistants import Assistant
from streamdesk.core.providers import mock_provider
from streamdesk.ui.window.assistant_picker import AssistantButton
from streamdesk.ui.window.conversation_list import ConversationList
from streamdesk.ui.window.header import Header
from streamdesk.ui.window.status_bar import ReplyStats, StatusBar
from streamdesk.ui.window.welcome import WelcomePage


def test_a_chat_title_is_shown_as_it_is_in_the_list_and_the_undo_bar(
    qtbot: QtBot, tmp_path: Path
) -> None:
    title = hostile(red_png(tmp_path))
    sidebar = ConversationList()
    qtbot.addWidget(sidebar)
    sidebar.resize(900, 600)  # room for the whole line in the undo bar
    sidebar.show()
    sidebar.add_conversation("k", title)
    item = sidebar.list.currentItem()
    assert item.text() == title  # an item draws plain text
    assert_plain_tooltip(item.toolTip(), title)
    sidebar.set_title("k", "<b>x</b>")
    assert_plain_tooltip(item.toolTip(), "<b>x</b>")
    deleted = f"Deleted “{title}”"
    sidebar.show_undo(deleted, 6000)
    assert_plain_label(sidebar.undo_label, deleted)
    assert_plain_tooltip(sidebar.undo_label.toolTip(), deleted)


def test_the_status_bar_names_a_running_tool_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    tool = hostile(red_png(tmp_path))
    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.show_stats(ReplyStats(state=f"Running {tool}", protocol="sse", tokens_out=3))
    assert_plain_label(bar.labels["state"], f"● Running {tool}")


def test_the_header_names_a_provider_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    name = hostile(red_png(tmp_path))
    provider = dataclasses.replace(
        mock_provider("http://127.0.0.1:1/v1", "ws://127.0.0.1:1/ws"), name=name, ws_url=None
    )
    header = Header()
    qtbot.addWidget(header)
    header.set_providers([provider], provider.id)
    assert_plain_tooltip(header.provider_box.toolTip(), f"Provider: {name}")
    assert header.ws_button.toolTip().startswith("<qt>")
    assert name in header.ws_button.toolTip().replace("&lt;", "<").replace("&gt;", ">")
    header.set_key_missing("No API key <b>x</b>.")
    assert_plain_tooltip(header.provider_box.toolTip(), f"Provider: {name}\nNo API key <b>x</b>.")
    header.set_offline(True, f"{name} has no key.")
    assert_plain_tooltip(header.offline_badge.toolTip(), f"{name} has no key.")


def test_the_welcome_page_shows_names_and_descriptions_as_they_are(
    qtbot: QtBot, tmp_path: Path
) -> None:
    words = hostile(red_png(tmp_path))
    page = WelcomePage()
    qtbot.addWidget(page)
    page.resize(1000, 800)
    page.show()
    page.set_assistants([(words, "<b>x</b>")], words)
    (chip,) = page.chips
    labels = chip.findChildren(type(page.source_title))
    assert {label.text() for label in labels} == {words, "<b>x</b>"}
    for label in labels:
        assert_plain_label(label)
    assert_plain_tooltip(chip.toolTip(), f"Start this chat with the {words} assistant: <b>x</b>")
    page.set_source(demo=False, provider=words, model="<b>x</b>")
    assert_plain_label(page.source_title, f"Talking to {words} · <b>x</b>")
    page.set_source(demo=False, provider=words, problem="<b>x</b>")
    assert_plain_label(page.source_text, "<b>x</b> Add it under Settings ▸ Providers.")


def test_the_assistant_picker_shows_names_and_descriptions_as_they_are(
    qtbot: QtBot, tmp_path: Path
) -> None:
    words = hostile(red_png(tmp_path))
    button = AssistantButton()
    qtbot.addWidget(button)
    described = Assistant(words, description="<b>x</b>")
    bare = Assistant("<b>y</b>")  # no description: the name is the tooltip
    button.set_assistants([described, bare])
    tips = [action.toolTip() for action in button.choices.actions()]
    assert_plain_tooltip(tips[0], "<b>x</b>")
    assert_plain_tooltip(tips[1], "<b>y</b>")
    button.show_assistant(described)
    assert button.toolTip().startswith("<qt>&lt;b&gt;x&lt;/b&gt;<br>")
    button.show_assistant(bare)
    assert_plain_tooltip(
        button.toolTip(),
        "<b>y</b>\nthe chat's provider, model and parameters\n"
        "Click to switch for the next request.",
    )
