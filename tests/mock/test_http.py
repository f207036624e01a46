"""The HTTP/1.1 layer over raw sockets: keep-alive, pipelining, bad requests, the WS handoff."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from tests.mock.wire import PROMPT, chat_body
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response as WsResponse
from websockets.uri import parse_uri

from streamdesk.mock import MockServer, reply_for

pytestmark = pytest.mark.asyncio


def _get(path: str) -> bytes:
    return b"GET %b HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode()


def _post(body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(data), data)
    )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One Content-Length framed response: status, lower-case headers, body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


async def test_keep_alive_answers_two_requests_on_one_connection(server: MockServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(_get("/v1/models"))
    status, headers, body = await _read_response(reader)
    assert status == 200
    assert headers["connection"] == "keep-alive"
    assert json.loads(body)["object"] == "list"
    writer.write(_post(chat_body(max_tokens=3, stream=False)))
    status, _, body = await _read_response(reader)
    writer.close()
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"] == "".join(reply_for(PROMPT)[:3])
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ]


async def test_pipelined_requests_are_answered_in_order(server: MockServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(_get("/v1/models/gpt-4.1") + _get("/v1/nope") + _get("/v1/models/deepseek-v3.2"))
    answers = [await _read_response(reader) for _ in range(3)]
    writer.close()
    assert [status for status, _, _ in answers] == [200, 404, 200]
    assert json.loads(answers[2][2])["id"] == "deepseek-v3.2"


@pytest.mark.parametrize(
    "garbage",
    [
        b"NONSENSE AT ALL\r\n\r\n",
        b"GET /v1/models HTTP/9\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nno colon here\r\n\r\n",
        b"\x00\xff\xfe garbage\r\n\r\n",
    ],
)
async def test_garbage_request_gets_a_400_not_a_traceback(
    server: MockServer, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(garbage)
    status, headers, body = await _read_response(reader)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the server closed the connection
    writer.close()
    assert status == 400
    assert headers["connection"] == "close"
    assert json.loads(body)["error"]["type"] == "invalid_request_error"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(_get("/v1/models"))
    assert (await _read_response(reader))[0] == 200  # the server itself is fine
    writer.close()


async def test_a_head_answer_has_no_body_and_the_connection_stays_usable(
    server: MockServer,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 405 ")
    writer.write(_get("/v1/models"))
    status, _, _ = await _read_response(reader)
    writer.close()
    assert status == 200


async def test_frames_sent_with_the_upgrade_request_are_not_lost(server: MockServer) -> None:
    """A client that does not wait for the handshake answer: its first frame shares the write."""
    client = ClientProtocol(parse_uri(server.ws_url))
    client.send_request(client.connect())
    message = json.dumps({"type": "chat.completion", **chat_body(max_tokens=2)}).encode()
    frame = Frame(Opcode.TEXT, message).serialize(mask=True)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"".join(client.data_to_send()) + frame)
    replies: list[dict[str, Any]] = []
    handshake: list[WsResponse] = []
    while not replies or replies[-1]["type"] != "completion.done":
        client.receive_data(await asyncio.wait_for(reader.read(65536), 5))
        for event in client.events_received():
            if isinstance(event, WsResponse):
                handshake.append(event)
            elif isinstance(event, Frame):
                replies.append(json.loads(event.data))
    writer.close()
    assert [r.status_code for r in handshake] == [101]
    assert [r["delta"] for r in replies if r["type"] == "content.delta"] == reply_for(PROMPT)[:2]
