"""`ask --attach`: the recording mock receives each API's own image part with the right MIME
type and the pixel size after downscaling; text files arrive inlined; a 50 MB file, an unknown
binary and a model without vision are refused with a clear message and nothing is sent; the
history keeps one copy of an image attached twice; a conversation continued on another API
sends its stored image scaled for it (or as stored when it fits), and one continued on a model
without vision sends the text and says on stderr that the image was left out."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage
from tests.core.attachment_files import png

from streamdesk.cli.ask_attach import EXIT_ATTACHMENT
from streamdesk.mock import MockServer

PROMPT = "What is in the picture?"
APIS = ["chat", "responses", "anthropic", "gemini"]


def ask(mock: MockServer | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    where = ["--base-url", mock.sse_base_url, "--model", "gpt-4.1"] if mock is not None else []
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", PROMPT, *where, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def image_parts(api: str, body: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(MIME type, bytes) of each image part in a request body, read the way each API does."""
    if api == "chat":
        parts = body["messages"][-1]["content"]
        urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    elif api == "responses":
        parts = body["input"][-1]["content"]
        urls = [p["image_url"] for p in parts if p["type"] == "input_image"]
    elif api == "anthropic":
        blocks = body["messages"][-1]["content"]
        sources = [b["source"] for b in blocks if b["type"] == "image"]
        assert all(s["type"] == "base64" for s in sources)
        return [(s["media_type"], base64.b64decode(s["data"])) for s in sources]
    else:
        parts = body["contents"][-1]["parts"]
        inline = [p["inlineData"] for p in parts if "inlineData" in p]
        return [(i["mimeType"], base64.b64decode(i["data"])) for i in inline]
    found = []
    for url in urls:
        head, _, data = url.partition(";base64,")
        found.append((head.removeprefix("data:"), base64.b64decode(data)))
    return found


def last_body(mock: MockServer) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(mock.requests[-1].body)
    return body


@pytest.fixture
def wide_png(tmp_path: Path) -> Path:
    path = tmp_path / "wide.png"
    path.write_bytes(png(4000, 1000))
    return path


@pytest.mark.parametrize(
    ("api", "size"),
    [("chat", (2048, 512)), ("responses", (2048, 512)), ("anthropic", (1568, 392)),
     ("gemini", (3072, 768))],
)  # fmt: skip
def test_each_api_receives_a_downscaled_image_part(
    mock: MockServer, wide_png: Path, api: str, size: tuple[int, int]
) -> None:
    base = ["--base-url", mock.sse_base_url + ("beta" if api == "gemini" else "")]
    flags = ["--api", api, "--model", "gpt-4.1", "--no-save", "--attach", str(wide_png)]
    done = ask(None, *base, *flags)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"I received 1 image, {size[0]}×{size[1]} PNG.")
    ((mime, data),) = image_parts(api, last_body(mock))
    decoded = QImage.fromData(data)  # Qt's decoder, not our header reader, says what arrived
    assert mime == "image/png" and data.startswith(b"\x89PNG")
    assert (decoded.width(), decoded.height()) == size


def test_a_small_image_is_sent_as_it_came_with_a_text_file_inlined(
    mock: MockServer, tmp_path: Path
) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(png(64, 64))
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n```\ncode\n```\n", encoding="utf-8")
    done = ask(mock, "--no-save", "--attach", str(image), "--attach", str(notes))
    assert done.returncode == 0, done.stderr
    body = last_body(mock)
    ((mime, data),) = image_parts("chat", body)
    assert (mime, data) == ("image/png", image.read_bytes())
    text = body["messages"][-1]["content"][0]["text"]
    assert text == f"{PROMPT}\n\nnotes.md\n````markdown\n# Notes\n```\ncode\n```\n````"


def test_a_50_mb_image_gets_the_size_message_and_no_request(
    mock: MockServer, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.write(png(8, 8))
        f.truncate(50 * 1024 * 1024)
    before = len(mock.requests)
    done = ask(mock, "--no-save", "--attach", str(huge))
    assert done.returncode == EXIT_ATTACHMENT
    assert "huge.png is 50.0 MB; files up to 20.0 MB can be attached." in done.stderr
    assert done.stdout == "" and len(mock.requests) == before


def test_an_unknown_binary_file_is_refused(mock: MockServer, tmp_path: Path) -> None:
    blob = tmp_path / "data.bin"
    blob.write_bytes(bytes(range(256)))
    before = len(mock.requests)
    done = ask(mock, "--no-save", "--attach", str(blob))
    assert done.returncode == EXIT_ATTACHMENT
    assert "data.bin is neither an image" in done.stderr and len(mock.requests) == before


def test_a_model_without_vision_is_told_before_anything_is_sent(tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(png(8, 8))
    done = ask(None, "--model", "deepseek-v3.2", "--no-save", "--attach", str(image))
    assert done.returncode == EXIT_ATTACHMENT
    assert "deepseek-v3.2 cannot read images, so nothing was sent." in done.stderr
    assert done.stdout == ""


def test_the_history_keeps_one_copy_of_an_image_attached_twice(
    mock: MockServer, tmp_path: Path, streamdesk_home: Path
) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(png(64, 64))
    done = ask(mock, "--attach", str(image), "--attach", str(image))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("I received 2 images: 64×64 PNG, 64×64 PNG.")
    again = subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", "--continue", "1", "And now?",
         "--base-url", mock.sse_base_url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    first_prompt = last_body(mock)["messages"][0]["content"]
    assert len(image_parts("chat", {"messages": [{"content": first_prompt}]})) == 2
    (database,) = streamdesk_home.rglob("history.sqlite3")
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("SELECT COUNT(*) FROM attachments").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM message_attachments").fetchone()[0] == 2
    finally:
        conn.close()


def test_the_websocket_protocol_sends_the_chat_shape(mock: MockServer, wide_png: Path) -> None:
    done = ask(mock, "--protocol", "ws", "--no-save", "--attach", str(wide_png))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("I received 1 image, 2048×512 PNG.")
    frame = next(r for r in reversed(mock.requests) if r.method == "WS" and r.body)
    ((mime, data),) = image_parts("chat", json.loads(frame.body))
    assert mime == "image/png" and QImage.fromData(data).width() == 2048


def continue_chat(
    mock: MockServer, *args: str, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STREAMDESK_API_KEY"}
    if key is not None:
        env["STREAMDESK_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "streamdesk", "ask", "--continue", "1", "And now?",
         "--base-url", mock.sse_base_url, *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def asked_with_photo(mock: MockServer, tmp_path: Path, size: tuple[int, int]) -> Path:
    """Conversation 1: the prompt asked on chat completions with a PNG of `size` attached."""
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(*size))
    done = ask(mock, "--attach", str(photo))
    assert done.returncode == 0, done.stderr
    return photo


def stored_images(home: Path) -> list[tuple[int, int, bytes]]:
    (database,) = home.rglob("history.sqlite3")
    conn = sqlite3.connect(database)
    try:
        return list(conn.execute("SELECT width, height, data FROM attachments"))
    finally:
        conn.close()


def test_a_chat_continued_on_anthropic_sends_its_image_scaled_and_keeps_the_stored_one(
    mock: MockServer, tmp_path: Path, streamdesk_home: Path
) -> None:
    asked_with_photo(mock, tmp_path, (2600, 1800))
    before = stored_images(streamdesk_home)
    again = continue_chat(mock, "--api", "anthropic")
    assert again.returncode == 0, again.stderr
    body = last_body(mock)
    ((mime, data),) = image_parts("anthropic", {"messages": body["messages"][:1]})
    decoded = QImage.fromData(data)
    assert mime == "image/png" and (decoded.width(), decoded.height()) == (1568, 1086)
    assert "left out" not in again.stderr
    assert stored_images(streamdesk_home) == before  # the history keeps the image it had
    ((width, height, _),) = before
    assert (width, height) == (2048, 1418)  # as it went to OpenAI, within its 2048 px


def test_a_chat_continued_on_a_model_without_vision_sends_the_text_and_says_so(
    mock: MockServer, tmp_path: Path, streamdesk_home: Path
) -> None:
    photo = asked_with_photo(mock, tmp_path, (64, 64))
    flags = ("--provider", "holysheep", "--model", "deepseek-v3.2")
    again = continue_chat(mock, *flags, key="sk-test")
    assert again.returncode == 0, again.stderr
    assert (
        "1 image of this chat left out of the request (deepseek-v3.2 cannot read images);"
        " the text was sent." in again.stderr
    )
    first = last_body(mock)["messages"][0]
    assert first == {"role": "user", "content": PROMPT}
    ((_, _, data),) = stored_images(streamdesk_home)
    assert data == photo.read_bytes()


def test_a_chat_continued_on_another_api_sends_an_image_that_fits_byte_for_byte(
    mock: MockServer, tmp_path: Path, streamdesk_home: Path
) -> None:
    photo = asked_with_photo(mock, tmp_path, (64, 64))
    again = continue_chat(mock, "--api", "anthropic")
    assert again.returncode == 0, again.stderr
    body = last_body(mock)
    assert image_parts("anthropic", {"messages": body["messages"][:1]}) == [
        ("image/png", photo.read_bytes())
    ]
