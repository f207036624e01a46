"""Each SSE fault scenario, checked on the wire with a raw HTTP client or plain httpx."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from tests.mock.wire import PROMPT, chat_body, raw_post

from streamdesk.mock import MockServer, reply_for
from streamdesk.mock.scenarios import FAULT_AFTER, HTTP_ERRORS

pytestmark = pytest.mark.asyncio

FIRST = reply_for(PROMPT)[:FAULT_AFTER]


@pytest.mark.parametrize("name", sorted(HTTP_ERRORS))
async def test_http_error_scenarios_answer_with_openai_error_json(
    server: MockServer, name: str
) -> None:
    resp = await raw_post(server.port, chat_body(), {"X-Mock-Scenario": name})
    assert resp.status == int(name[5:])
    error = json.loads(resp.body)["error"]
    assert set(error) == {"message", "type", "code"} and error["message"]
    if name == "http-429":
        assert resp.headers["retry-after"] == "1"
        assert resp.headers["retry-after-ms"] == "1000"


async def test_scenario_from_model_suffix_and_unknown_scenario(server: MockServer) -> None:
    assert (await raw_post(server.port, chat_body(model="gpt-4.1#http-503"))).status == 503
    resp = await raw_post(server.port, chat_body(model="gpt-4.1#nope"))
    assert resp.status == 400
    assert "nope" in json.loads(resp.body)["error"]["message"]


async def test_bad_json_sends_a_non_json_data_line_after_a_few_tokens(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(), {"X-Mock-Scenario": "bad-json"})
    data = resp.data_lines()
    bad = data[1 + FAULT_AFTER]
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad)
    assert all(json.loads(d) for d in data[: 1 + FAULT_AFTER])


async def test_error_event_puts_an_error_object_in_a_data_line(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(), {"X-Mock-Scenario": "error-event"})
    data = resp.data_lines()
    assert resp.complete and "[DONE]" not in data
    assert json.loads(data[-1])["error"]["type"] == "server_error"
    assert len(data) == 1 + FAULT_AFTER + 1


@pytest.mark.parametrize("name", ["cut", "ws-close-1011"])
async def test_cut_closes_mid_body_without_done(server: MockServer, name: str) -> None:
    resp = await raw_post(server.port, chat_body(), {"X-Mock-Scenario": name})
    assert not resp.complete
    assert resp.content() == FIRST
    assert "[DONE]" not in resp.data_lines()
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(
                f"{server.sse_base_url}/chat/completions",
                json=chat_body(),
                headers={"X-Mock-Scenario": name},
            )


async def _read_until_silent(
    server: MockServer, scenario: str, wanted: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """Send a request, read until `wanted` has arrived, and prove nothing follows for a while."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    body = json.dumps(chat_body()).encode()
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Mock-Scenario: %b\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (scenario.encode(), len(body), body)
    )
    seen = await reader.readuntil(wanted)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), 0.3)
    return reader, writer, seen


@pytest.mark.parametrize(
    ("scenario", "wanted"),
    [
        ("stall", b"\n\n\r\n"),  # the end of the chunk holding the first tokens
        ("no-first-token", b"\r\n\r\n"),
    ],
)
async def test_silence_keeps_the_connection_open_and_close_does_not_hang(
    scenario: str, wanted: bytes
) -> None:
    server = MockServer(tokens_per_second=0, first_token_delay=0)
    await server.start()
    reader, writer, seen = await _read_until_silent(server, scenario, wanted)
    assert seen.startswith(b"HTTP/1.1 200")
    if scenario == "stall":
        assert seen.count(b'"content":') == 1 + FAULT_AFTER
    assert not reader.at_eof()
    await asyncio.wait_for(server.close(), 2)
    assert await asyncio.wait_for(reader.read(), 2) == b""  # the server let go of it
    writer.close()


async def test_slow_first_token_waits_three_seconds(server: MockServer) -> None:
    started = time.monotonic()
    headers = {"X-Mock-Scenario": "slow-first-token"}
    resp = await raw_post(server.port, chat_body(max_tokens=2), headers)
    assert time.monotonic() - started >= 2.9
    assert resp.content() == reply_for(PROMPT)[:2]


async def test_one_byte_writes_one_byte_per_chunk(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(max_tokens=20), {"X-Mock-Scenario": "one-byte"})
    assert resp.complete and len(resp.chunks) > 500
    assert {len(c) for c in resp.chunks} == {1}
    assert resp.content() == reply_for(PROMPT)[:20]


@pytest.mark.parametrize(("scenario", "eol"), [("crlf", b"\r\n"), ("cr", b"\r")])
async def test_line_end_scenarios(server: MockServer, scenario: str, eol: bytes) -> None:
    resp = await raw_post(server.port, chat_body(max_tokens=5), {"X-Mock-Scenario": scenario})
    body = resp.body
    assert body.endswith(b"data: [DONE]" + eol + eol)
    if scenario == "cr":
        assert b"\n" not in body
    else:
        assert body.count(b"\r\n") == 2 * body.count(b"data: ")
    lines = [x for x in body.decode().split(eol.decode()) if x.startswith("data: {")]
    text = [json.loads(x[6:])["choices"][0]["delta"].get("content") for x in lines[1:-1]]
    assert text == reply_for(PROMPT)[:5]


async def test_keepalive_puts_comments_between_events(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(max_tokens=5), {"X-Mock-Scenario": "keepalive"})
    events = resp.body.decode().split("\n\n")[:-1]
    assert events[0] == ": keep-alive"
    assert events[1::2] == [": keep-alive"] * len(events[1::2])
    assert resp.content() == reply_for(PROMPT)[:5]


async def test_split_utf8_writes_cut_multibyte_characters(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(max_tokens=60), {"X-Mock-Scenario": "split-utf8"})
    broken = 0
    for piece in resp.chunks:
        try:
            piece.decode()
        except UnicodeDecodeError:
            broken += 1
    assert broken >= 3  # é, 中 and an emoji among them
    text = "".join(resp.content())
    assert "é" in text and "中" in text and any(ord(c) > 0xFFFF for c in text)
    assert resp.content() == reply_for(PROMPT)[:60]


async def test_bom_starts_the_stream(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(max_tokens=3), {"X-Mock-Scenario": "bom"})
    assert resp.body.startswith(b"\xef\xbb\xbfdata: {")
    assert resp.body.count(b"\xef\xbb\xbf") == 1


async def test_reasoning_scenario_streams_reasoning_content(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(), {"X-Mock-Scenario": "reasoning"})
    first = json.loads(resp.data_lines()[1])["choices"][0]["delta"]
    assert "reasoning_content" in first
    assert resp.content() == reply_for(PROMPT)


@pytest.mark.parametrize(("name", "status"), [("flaky-429-once", 429), ("flaky-503-once", 503)])
async def test_flaky_fails_once_per_id_then_succeeds(
    server: MockServer, name: str, status: int
) -> None:
    def headers(flaky_id: str) -> dict[str, str]:
        return {"X-Mock-Scenario": name, "X-Mock-Flaky-Id": flaky_id}

    first = await raw_post(server.port, chat_body(max_tokens=2), headers("a"))
    assert first.status == status
    assert first.headers["retry-after"] == "0.1" and first.headers["retry-after-ms"] == "100"
    second = await raw_post(server.port, chat_body(max_tokens=2), headers("a"))
    assert second.status == 200 and second.content() == reply_for(PROMPT)[:2]
    assert (await raw_post(server.port, chat_body(max_tokens=2), headers("b"))).status == status
    by_prompt = chat_body("another prompt", model=f"gpt-4.1#{name}", max_tokens=2)
    assert (await raw_post(server.port, by_prompt)).status == status
    assert (await raw_post(server.port, by_prompt)).status == 200
