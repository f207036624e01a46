"""The transcript's tooltips hold other people's words: a server's error (an HTML error page),
a link the model wrote, an attached file's name. Each tooltip is escaped, so
`<img src="LOCALFILE">` is spelled out and never draws the local image it names."""

from __future__ import annotations

from pathlib import Path

from plain_checks import assert_plain_tooltip, hostile, red_png, shown_text
from pytestqt.qtbot import QtBot
from test_transcript import make_view
from test_transcript_images import image_tips

from streamdesk.core.attachments import image_attachment


def test_a_server_s_error_page_is_shown_as_it_is_in_the_failure_s_tooltips(
    qtbot: QtBot, tmp_path: Path
) -> None:
    words = hostile(red_png(tmp_path))
    detail = f"<html><body>{words} bad gateway from the upstream server nginx</body></html>"
    message = f"The server answered HTTP 502 ({detail}); try again later."
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text("partial")
    reply.finish("error", failure_title="HTTP 502", failure_text=message)
    doc = view.document()
    sentence = doc.find("try again later").charFormat().toolTip()
    assert_plain_tooltip(sentence, message)
    assert_plain_tooltip(doc.find("Details").charFormat().toolTip(), detail)


def test_a_refused_link_s_target_is_shown_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    target = f"javascript:{hostile(red_png(tmp_path))}"
    escaped = target.replace("<", "\\<").replace(">", "\\>")
    view = make_view(qtbot)
    view.add_assistant_message(f"Click [here](<{escaped}>).")
    tip = view.document().find("here").charFormat().toolTip()
    assert_plain_tooltip(tip, f"Link not opened: {target} (only http, https and mailto links open)")


def test_a_web_link_s_address_is_shown_as_it_is(qtbot: QtBot) -> None:
    """Entities in an address are the address's characters, not HTML."""
    view = make_view(qtbot)
    view.add_assistant_message("See [the page](https://example.com/&lt;b&gt;x).")
    tip = view.document().find("the page").charFormat().toolTip()
    assert shown_text(tip) == "https://example.com/&lt;b&gt;x"


def test_an_image_s_file_name_is_shown_as_it_is(qtbot: QtBot, tmp_path: Path) -> None:
    red = red_png(tmp_path)
    name = hostile(red)
    view = make_view(qtbot)
    view.add_user_message("Look", ("user", 1), [image_attachment(name, red.read_bytes())])
    assert image_tips(view) == [f"{name} · 40×40 PNG"]  # as read: every tag spelled out
