"""The WebSocket chat protocol on the same port, with a plain `websockets` client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.mock.wire import PROMPT, chat_body, raw_post
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from streamdesk.mock import MockServer, reasoning_for, reply_for
from streamdesk.mock.replies import count_tokens
from streamdesk.mock.scenarios import FAULT_AFTER

pytestmark = pytest.mark.asyncio


def ws_message(prompt: str = PROMPT, **extra: Any) -> str:
    body = chat_body(prompt, **extra)
    return json.dumps({"type": "chat.completion", **body})


async def _frames(ws: ClientConnection) -> list[dict[str, Any]]:
    """Frames of one reply, up to completion.done or an error."""
    out = []
    while True:
        frame = json.loads(await ws.recv())
        out.append(frame)
        if frame["type"] in ("completion.done", "error"):
            return out


def _deltas(frames: list[dict[str, Any]], kind: str = "content.delta") -> list[str]:
    return [f["delta"] for f in frames if f["type"] == kind]


async def test_ws_reply_matches_sse_and_reply_for(server: MockServer) -> None:
    async with connect(server.ws_url) as ws:
        await ws.send(ws_message())
        frames = await _frames(ws)
    sse = await raw_post(server.port, chat_body())
    assert _deltas(frames) == sse.content() == reply_for(PROMPT)
    n, m = count_tokens(PROMPT), len(reply_for(PROMPT))
    usage = {"prompt_tokens": n, "completion_tokens": m, "total_tokens": n + m}
    assert frames[-2] == {"type": "usage", "usage": usage}
    assert frames[-1] == {"type": "completion.done", "finish_reason": "stop"}


async def test_several_requests_on_one_connection(server: MockServer) -> None:
    async with connect(server.ws_url) as ws:
        for prompt in ("one", "two", "three"):
            await ws.send(ws_message(prompt, max_tokens=4))
            frames = await _frames(ws)
            assert _deltas(frames) == reply_for(prompt)[:4]
            assert frames[-1]["finish_reason"] == "length"
    assert [r.method for r in server.requests] == ["GET", "WS", "WS", "WS"]
    assert json.loads(server.requests[2].body)["messages"][0]["content"] == "two"


async def test_reasoning_deltas_come_first(server: MockServer) -> None:
    async with connect(server.ws_url) as ws:
        await ws.send(ws_message(model="deepseek-reasoner"))
        frames = await _frames(ws)
    assert _deltas(frames, "reasoning.delta") == reasoning_for(PROMPT)
    assert frames[0]["type"] == "reasoning.delta"
    assert _deltas(frames) == reply_for(PROMPT)


async def test_a_message_that_is_not_a_chat_completion_gets_an_error_frame(
    server: MockServer,
) -> None:
    async with connect(server.ws_url) as ws:
        await ws.send("hello")
        assert json.loads(await ws.recv())["error"]["code"] == 400
        await ws.send(ws_message(max_tokens=1))
        assert _deltas(await _frames(ws)) == reply_for(PROMPT)[:1]


@pytest.mark.parametrize("how", ["field", "suffix", "header"])
async def test_error_scenario_by_field_suffix_or_upgrade_header(
    server: MockServer, how: str
) -> None:
    extra: dict[str, Any] = {}
    headers = {}
    if how == "field":
        extra["scenario"] = "error-event"
    elif how == "suffix":
        extra["model"] = "gpt-4.1#error-event"
    else:
        headers["X-Mock-Scenario"] = "error-event"
    async with connect(server.ws_url, additional_headers=headers) as ws:
        await ws.send(ws_message(**extra))
        frames = await _frames(ws)
    assert _deltas(frames) == reply_for(PROMPT)[:FAULT_AFTER]
    assert frames[-1]["type"] == "error"
    assert frames[-1]["error"]["code"] == 500
    assert server.requests[-1].scenario == "error-event"


async def test_http_scenario_per_message_is_an_error_frame_and_the_socket_lives_on(
    server: MockServer,
) -> None:
    async with connect(server.ws_url) as ws:
        await ws.send(ws_message(scenario="http-429"))
        error = json.loads(await ws.recv())
        assert error["type"] == "error"
        assert error["error"]["code"] == 429 and error["error"]["retry_after"] == 1.0
        await ws.send(ws_message(max_tokens=2))
        assert _deltas(await _frames(ws)) == reply_for(PROMPT)[:2]


async def test_http_scenario_on_the_upgrade_rejects_the_handshake(server: MockServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(server.ws_url, additional_headers={"X-Mock-Scenario": "http-429"}):
            pass
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "1"
    assert json.loads(info.value.response.body)["error"]["code"] == "rate_limit_exceeded"


async def test_flaky_on_the_upgrade_fails_the_first_handshake_only(server: MockServer) -> None:
    headers = {"X-Mock-Scenario": "flaky-503-once", "X-Mock-Flaky-Id": "w1"}
    with pytest.raises(InvalidStatus) as info:
        async with connect(server.ws_url, additional_headers=headers):
            pass
    assert info.value.response.status_code == 503
    async with connect(server.ws_url, additional_headers=headers) as ws:
        await ws.send(ws_message(max_tokens=3))
        assert _deltas(await _frames(ws)) == reply_for(PROMPT)[:3]


@pytest.mark.parametrize(("scenario", "code"), [("cut", None), ("ws-close-1011", 1011)])
async def test_connection_ends_mid_reply(
    server: MockServer, scenario: str, code: int | None
) -> None:
    """cut: TCP dropped with no close frame (1006 for the client); ws-close-1011: code 1011."""
    async with connect(server.ws_url) as ws:
        await ws.send(ws_message(scenario=scenario))
        got = []
        with pytest.raises(ConnectionClosedError) as info:
            while True:
                got.append(json.loads(await ws.recv())["delta"])
    assert got == reply_for(PROMPT)[:FAULT_AFTER]
    rcvd = info.value.rcvd
    assert (rcvd.code if rcvd else None) == code


async def test_bad_json_frame_after_a_few_tokens(server: MockServer) -> None:
    async with connect(server.ws_url) as ws:
        # a short reply: unread frames would fill the client's queue and delay its close
        await ws.send(ws_message(scenario="bad-json", max_tokens=FAULT_AFTER + 2))
        raw = [await ws.recv() for _ in range(FAULT_AFTER + 1)]
    assert [json.loads(r)["delta"] for r in raw[:-1]] == reply_for(PROMPT)[:FAULT_AFTER]
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw[-1])


async def test_split_utf8_fragments_text_frames_mid_character(server: MockServer) -> None:
    async with connect(server.ws_url) as ws:
        await ws.send(ws_message(scenario="split-utf8", max_tokens=40))
        fragmented, deltas = 0, []
        while True:
            parts = [p async for p in ws.recv_streaming()]
            fragmented += len(parts) > 1
            frame = json.loads("".join(str(p) for p in parts))
            if frame["type"] == "completion.done":
                break
            if frame["type"] == "content.delta":
                deltas.append(frame["delta"])
    assert fragmented >= 3
    assert deltas == reply_for(PROMPT)[:40]


@pytest.mark.parametrize("scenario", ["one-byte", "keepalive", "crlf", "bom", "reasoning"])
async def test_wire_only_scenarios_keep_the_same_content(server: MockServer, scenario: str) -> None:
    async with connect(server.ws_url) as ws:
        await ws.send(ws_message(scenario=scenario, max_tokens=30))
        assert _deltas(await _frames(ws)) == reply_for(PROMPT)[:30]


@pytest.mark.parametrize("scenario", ["stall", "no-first-token"])
async def test_ws_silence_and_prompt_server_close(scenario: str) -> None:
    server = MockServer(tokens_per_second=0, first_token_delay=0)
    await server.start()
    async with connect(server.ws_url) as ws:
        await ws.send(ws_message(scenario=scenario))
        expected = FAULT_AFTER if scenario == "stall" else 0
        for _ in range(expected):
            await ws.recv()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        await asyncio.wait_for(server.close(), 2)
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(ws.recv(), 2)


async def test_ws_auth_by_header_or_query_parameter() -> None:
    async with MockServer(api_key="sk-ws", tokens_per_second=0, first_token_delay=0) as srv:
        for headers, url in [
            ({}, srv.ws_url),
            ({"Authorization": "Bearer nope"}, srv.ws_url),
            ({}, srv.ws_url + "?api_key=nope"),
        ]:
            with pytest.raises(InvalidStatus) as info:
                async with connect(url, additional_headers=headers):
                    pass
            assert info.value.response.status_code == 401
        for headers, url in [
            ({"Authorization": "Bearer sk-ws"}, srv.ws_url),
            ({"X-API-Key": "sk-ws"}, srv.ws_url),
            ({}, srv.ws_url + "?api_key=sk-ws"),
        ]:
            async with connect(url, additional_headers=headers) as ws:
                await ws.send(ws_message(max_tokens=1))
                assert _deltas(await _frames(ws)) == reply_for(PROMPT)[:1]
    assert srv.requests[-2].query == "api_key=sk-ws"
