"""SSE chat completions over real loopback HTTP: happy path, pace, options, the openai SDK."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import pytest
from tests.mock.wire import PROMPT, chat_body, raw_post

from streamdesk.mock import MockServer, reasoning_for, reply_for

pytestmark = pytest.mark.asyncio


async def _events(server: MockServer, body: dict[str, object], **headers: str) -> list[str]:
    """The `data:` payloads of one streamed response, read with httpx."""
    async with (
        httpx.AsyncClient() as client,
        client.stream(
            "POST", f"{server.sse_base_url}/chat/completions", json=body, headers=headers
        ) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        text = (await resp.aread()).decode()
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


async def test_stream_is_openai_shaped_and_ends_with_stop_usage_and_done(
    server: MockServer,
) -> None:
    data = await _events(server, chat_body(stream_options={"include_usage": True}))
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "gpt-4.1" for c in chunks)
    text = [c["choices"][0]["delta"].get("content", "") for c in chunks[1:-2]]
    assert text == reply_for(PROMPT)  # one event per token
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    usage = chunks[-1]
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == len(reply_for(PROMPT))
    assert usage["usage"]["total_tokens"] == usage["usage"]["prompt_tokens"] + len(text)


async def test_no_usage_chunk_unless_asked(server: MockServer) -> None:
    data = await _events(server, chat_body())
    assert all("usage" not in json.loads(d) for d in data[:-1])


async def test_max_tokens_caps_the_reply_with_finish_reason_length(server: MockServer) -> None:
    data = await _events(server, chat_body(max_tokens=7))
    chunks = [json.loads(d) for d in data[:-1]]
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]] == reply_for(PROMPT)[:7]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


async def test_x_mock_tokens_sets_an_exact_long_length(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(), {"X-Mock-Tokens": "20000"})
    assert resp.complete
    assert resp.content() == reply_for(PROMPT, 20000)


@pytest.mark.parametrize(
    ("prompt", "model"),
    [("/reasoning", "gpt-4.1"), (PROMPT, "deepseek-reasoner"), (PROMPT, "deepseek-r1")],
)
async def test_reasoning_content_streams_before_the_reply(
    server: MockServer, prompt: str, model: str
) -> None:
    data = await _events(server, chat_body(prompt, model=model))
    deltas = [json.loads(d)["choices"][0]["delta"] for d in data[1:-2]]
    reasoning = [d["reasoning_content"] for d in deltas if "reasoning_content" in d]
    content = [d["content"] for d in deltas if "content" in d]
    assert reasoning == reasoning_for(prompt)
    assert content == reply_for(prompt)
    assert deltas.index({"content": content[0]}) == len(reasoning)


async def test_model_suffix_is_stripped_when_echoed(server: MockServer) -> None:
    data = await _events(server, chat_body(model="claude-sonnet-4.5#crlf"))
    assert json.loads(data[0].rstrip("\r"))["model"] == "claude-sonnet-4.5"
    assert server.requests[-1].scenario == "crlf"


async def test_pace_follows_tokens_per_second_and_first_token_delay() -> None:
    async with (
        MockServer(tokens_per_second=200, first_token_delay=0.2) as srv,
        httpx.AsyncClient() as client,
        client.stream(
            "POST",
            f"{srv.sse_base_url}/chat/completions",
            json=chat_body(),
            headers={"X-Mock-Tokens": "60"},
        ) as resp,
    ):
        start = time.monotonic()
        arrivals = []
        async for line in resp.aiter_lines():
            if '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) == 60
    assert 0.18 <= arrivals[0] <= 0.6
    assert 0.25 <= arrivals[-1] - arrivals[0] <= 0.9  # 59 gaps at 5 ms


async def test_headers_override_pace_and_inf_is_fast() -> None:
    async with MockServer(tokens_per_second=1, first_token_delay=30) as srv:
        headers = {"X-Mock-Tokens-Per-Second": "inf", "X-Mock-First-Token-Delay": "0"}
        started = time.monotonic()
        resp = await asyncio.wait_for(raw_post(srv.port, chat_body(), headers), 10)
        assert resp.content() == reply_for(PROMPT)
        assert time.monotonic() - started < 5


async def test_bad_pace_header_is_a_400(server: MockServer) -> None:
    resp = await raw_post(server.port, chat_body(), {"X-Mock-Tokens-Per-Second": "fast"})
    assert resp.status == 400
    assert json.loads(resp.body)["error"]["type"] == "invalid_request_error"


async def test_non_streaming_request_gets_the_whole_reply(server: MockServer) -> None:
    async with httpx.AsyncClient() as client:
        resp = await client.post(
            f"{server.sse_base_url}/chat/completions", json=chat_body(stream=False)
        )
    assert resp.json()["choices"][0]["message"]["content"] == "".join(reply_for(PROMPT))


async def test_keep_alive_serves_several_requests_on_one_connection(server: MockServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    body = json.dumps(chat_body(max_tokens=3)).encode()
    request = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%b" % (
        len(body),
        body,
    )
    for _ in range(2):
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        await reader.readuntil(b"data: [DONE]\n\n\r\n0\r\n\r\n")
    writer.close()
    assert len(server.requests) == 2


async def test_models_lists_the_five_models(server: MockServer) -> None:
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{server.sse_base_url}/models")
    body = resp.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [
        "gpt-4.1",
        "claude-sonnet-4.5",
        "gemini-2.5-flash",
        "deepseek-v3.2",
        "deepseek-reasoner",
    ]
    assert all(m["object"] == "model" for m in body["data"])


async def test_unknown_path_is_an_openai_shaped_404(server: MockServer) -> None:
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{server.sse_base_url}/nope")
    assert resp.status_code == 404
    assert set(resp.json()["error"]) == {"message", "type", "code"}


async def test_requests_are_recorded_with_lower_case_headers(server: MockServer) -> None:
    headers = {"X-Timestamp": "1700000000", "X-Signature": "ab" * 32}
    await raw_post(server.port, chat_body(max_tokens=1), headers)
    rec = server.requests[-1]
    assert (rec.method, rec.path, rec.scenario) == ("POST", "/v1/chat/completions", "ok")
    assert rec.headers["x-signature"] == "ab" * 32
    assert rec.headers["x-timestamp"] == "1700000000"
    assert json.loads(rec.body)["model"] == "gpt-4.1"


async def test_api_key_is_required_when_configured() -> None:
    async with (
        MockServer(api_key="sk-good", tokens_per_second=0, first_token_delay=0) as srv,
        httpx.AsyncClient() as client,
    ):
        url = f"{srv.sse_base_url}/chat/completions"
        none = await client.post(url, json=chat_body(stream=False))
        wrong = await client.post(
            url, json=chat_body(stream=False), headers={"Authorization": "Bearer sk-bad"}
        )
        bearer = await client.post(
            url, json=chat_body(stream=False), headers={"Authorization": "Bearer sk-good"}
        )
        x_key = await client.post(
            url, json=chat_body(stream=False), headers={"X-API-Key": "sk-good"}
        )
        models = await client.get(f"{srv.sse_base_url}/models")
    assert none.status_code == wrong.status_code == models.status_code == 401
    assert none.json()["error"]["code"] == "invalid_api_key"
    assert bearer.status_code == x_key.status_code == 200


async def test_official_openai_package_streams_the_whole_reply(server: MockServer) -> None:
    client = openai.AsyncOpenAI(base_url=server.sse_base_url, api_key="x", max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4.1",
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts, finish, usage = [], None, None
    async for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    await client.close()
    assert "".join(parts) == "".join(reply_for(PROMPT))
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == len(reply_for(PROMPT))
    assert server.requests[-1].headers["authorization"] == "Bearer x"


async def test_malformed_request_gets_a_400_and_the_connection_closes(server: MockServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"NONSENSE\r\n\r\n")
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert raw.startswith(b"HTTP/1.1 400 ")
    assert b'"error"' in raw


async def test_chunked_request_body_is_read(server: MockServer) -> None:
    body = json.dumps(chat_body(max_tokens=2, stream=False)).encode()
    half = len(body) // 2
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n%x\r\n%b\r\n%x\r\n%b\r\n0\r\n\r\n"
        % (half, body[:half], len(body) - half, body[half:])
    )
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    answer = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert answer["choices"][0]["message"]["content"] == "".join(reply_for(PROMPT)[:2])
