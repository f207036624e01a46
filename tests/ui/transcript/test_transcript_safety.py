"""Model output is untrusted: no HTML, no fetches, no local files, only safe links, no hangs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot
from test_transcript import click_anchor, make_view

from streamdesk.ui.transcript.view import TranscriptView


@pytest.fixture
def hits() -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server on port 0 that records every request path."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_html_script_and_img_show_as_literal_text(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text('Hi <b>bold</b> <script>alert(1)</script>\n\n<img src="http://x/y.png">\n')
    reply.finish("complete")
    text = view.toPlainText()
    assert "<b>bold</b>" in text
    assert "<script>alert(1)</script>" in text
    assert '<img src="http://x/y.png">' in text


def test_no_request_for_images_named_by_the_model(
    qtbot: QtBot, hits: tuple[int, list[str]]
) -> None:
    port, seen = hits
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text(f"![x](http://127.0.0.1:{port}/a.png)\n\n")
    qtbot.waitUntil(lambda: reply.render_count >= 1, timeout=2000)
    reply.append_text(f'<img src="http://127.0.0.1:{port}/b.png">\n\nend')
    qtbot.waitUntil(lambda: reply.render_count >= 2, timeout=2000)
    reply.finish("complete")
    view.add_assistant_message(f"![y](http://127.0.0.1:{port}/c.png)")
    for _ in range(5):  # several frames of layout and painting
        view.grab()
        more = view.begin_assistant()
        more.append_text("x")
        qtbot.waitUntil(lambda r=more: r.render_count >= 1, timeout=2000)
    assert seen == []
    assert f"[image: x] (http://127.0.0.1:{port}/a.png)" in view.toPlainText()


def test_local_files_are_refused(qtbot: QtBot, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    url = QUrl.fromLocalFile(str(secret))
    view = make_view(qtbot)
    assert view.loadResource(QTextDocument.ResourceType.ImageResource.value, url) is None
    view.add_assistant_message(f"![s]({url.toString()}) and ![r](secret.png)")
    view.grab()
    assert view.document().refused == [url.toString()]  # only the direct call: no image left
    assert f"[image: s] ({url.toString()}) and [image: r] (secret.png)" in view.toPlainText()


def test_app_registered_resources_still_load(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    doc = view.document()
    doc.register("sd-res:icon", QTextDocument.ResourceType.ImageResource.value, b"data")
    assert view.loadResource(2, QUrl("sd-res:icon")) == b"data"


@pytest.mark.parametrize(
    ("href", "emits"),
    [
        ("https://example.com/x", True),
        ("http://example.com/", True),
        ("mailto:a@example.com", True),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("sd-action:retry?m=0&t=guess", False),
    ],
)
def test_only_clicked_safe_links_are_emitted(qtbot: QtBot, href: str, emits: bool) -> None:
    view = make_view(qtbot)
    got: list[QUrl] = []
    retried: list[object] = []
    view.linkActivated.connect(got.append)
    view.retryRequested.connect(retried.append)
    view.add_assistant_message(f"Click [here]({href}) now", key="k")
    assert got == []  # rendering alone opens nothing
    if emits:
        click_anchor(qtbot, view, "here")
        qtbot.waitUntil(lambda: bool(got), timeout=2000)
    else:  # shown as plain text (no anchor, not link-coloured); a click on such a URL is ignored
        fmt = view.document().find("here").charFormat()
        assert not fmt.isAnchor() and not fmt.anchorHref()
        assert fmt.foreground().color() != view.document().find("Click").charFormat().foreground()
        view.anchorClicked.emit(QUrl(href))
    assert [u.toString() for u in got] == ([href] if emits else [])
    assert retried == []  # a model-written action link is not ours


@pytest.mark.parametrize("href", ["javascript:alert(1)", "file:///etc/passwd", "relative/x"])
def test_unsafe_links_render_as_plain_text_streamed_or_stored(qtbot: QtBot, href: str) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text(f"A [bad]({href}) and <{href}> and [ok](https://example.com)\n\nmore")
    reply.finish("complete")
    view.add_assistant_message(f"Stored [bad]({href})")
    doc = view.document()
    anchors: list[str] = []
    block = doc.firstBlock()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            if it.fragment().charFormat().isAnchor():
                anchors.append(it.fragment().charFormat().anchorHref())
            it += 1
        block = block.next()
    assert "https://example.com" in anchors
    assert not [a for a in anchors if href in a]
    assert view.toPlainText().count("bad") == 2


def test_an_image_shows_its_alt_text_and_url_as_text(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    reply.append_text("See ![a cat](https://example.com/cat.png) and ![b](file:///etc/x.png)\n")
    reply.finish("complete")
    text = view.toPlainText()
    assert (
        "See [image: a cat] (https://example.com/cat.png) and [image: b] (file:///etc/x.png)"
        in text
    )
    assert "\ufffc" not in text  # no image object left in the document
    assert view.document().refused == []


def test_a_one_megabyte_line_does_not_hang(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    line = "x" * 1_000_000
    for i in range(0, len(line), 50_000):
        reply.append_text(line[i : i + 50_000])
        count = reply.render_count
        qtbot.waitUntil(lambda c=count: reply.render_count > c, timeout=5000)
    reply.finish("complete")
    view.grab()
    assert view.toPlainText().replace("\u200b", "").count("x") == 1_000_000
    assert reply.text == line


def test_a_one_megabyte_code_block_does_not_hang(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    reply = view.begin_assistant()
    code = "".join(f"line_{i} = {i} * 2  # some code here\n" for i in range(30_000))
    assert len(code) > 1_000_000
    reply.append_text("```python\n")
    for i in range(0, len(code), 100_000):
        reply.append_text(code[i : i + 100_000])
        count = reply.render_count
        qtbot.waitUntil(lambda c=count: reply.render_count > c, timeout=5000)
    reply.append_text("```\n")
    reply.finish("complete")
    view.grab()
    assert "line_29999 = 29999 * 2" in view.toPlainText()


def test_document_undo_is_off(qtbot: QtBot) -> None:
    view: TranscriptView = make_view(qtbot)
    view.add_assistant_message("text")
    assert not view.document().isUndoRedoEnabled()
