"""The native routes on the wire: event order, error bodies, auth, and the non-streaming answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.mock.wire import PROMPT, RawResponse, raw_post

from streamdesk.mock import MockServer, reasoning_for, reply_for
from streamdesk.mock.anthropic import PING_EVERY
from streamdesk.mock.scenarios import FAULT_AFTER, HTTP_ERRORS

pytestmark = pytest.mark.asyncio

MESSAGES = "/v1/messages"
GEMINI = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
RESPONSES = "/v1/responses"
USER = [{"role": "user", "content": PROMPT}]


def anthropic_body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4.5",
        "max_tokens": 4096,
        "messages": USER,
        "stream": True,
        **extra,
    }


def gemini_body(**extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}], **extra}


def responses_body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4.1", "input": PROMPT, "stream": True, **extra}


ROUTES = {
    "anthropic": (MESSAGES, anthropic_body),
    "gemini": (GEMINI, gemini_body),
    "responses": (RESPONSES, responses_body),
}


async def post(
    server: MockServer, dialect: str, headers: dict[str, str] | None = None, **extra: Any
) -> RawResponse:
    path, body = ROUTES[dialect]
    return await raw_post(server.port, body(**extra), headers, path)


def named(resp: RawResponse) -> list[dict[str, Any]]:
    """Each named event's JSON, checking that its `event:` name is its `type`."""
    out = []
    for name, data in resp.events():
        event = json.loads(data)
        assert name == event["type"]
        out.append(event)
    return out


def anthropic_text(events: list[dict[str, Any]], kind: str = "text_delta") -> str:
    deltas = (e["delta"] for e in events if e["type"] == "content_block_delta")
    field = {"text_delta": "text", "thinking_delta": "thinking"}[kind]
    return "".join(d[field] for d in deltas if d["type"] == kind)


async def test_anthropic_stream_event_order(server: MockServer) -> None:
    events = named(await post(server, "anthropic"))
    kinds = [e["type"] for e in events]
    assert kinds[:4] == ["message_start", "content_block_start", "ping", "content_block_delta"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    pings = kinds.count("ping")
    assert pings == 1 + (len(reply_for(PROMPT)) - 1) // PING_EVERY
    assert anthropic_text(events) == "".join(reply_for(PROMPT))
    assert events[0]["message"]["usage"]["input_tokens"] > 0
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    assert events[-2]["usage"]["output_tokens"] == len(reply_for(PROMPT))


async def test_anthropic_thinking_block_comes_first_with_a_signature(server: MockServer) -> None:
    events = named(await post(server, "anthropic", {"X-Mock-Scenario": "reasoning"}))
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["thinking", "text"]
    assert anthropic_text(events, "thinking_delta") == "".join(reasoning_for(PROMPT))
    kinds = [e.get("delta", {}).get("type") for e in events if e["type"] == "content_block_delta"]
    first_text = kinds.index("text_delta")
    assert kinds[first_text - 1] == "signature_delta"
    assert "thinking_delta" not in kinds[first_text:]
    stops = [e["index"] for e in events if e["type"] == "content_block_stop"]
    assert stops == [0, 1]


async def test_anthropic_requires_max_tokens_and_answers_in_its_error_shape(
    server: MockServer,
) -> None:
    body = anthropic_body()
    del body["max_tokens"]
    resp = await raw_post(server.port, body, path=MESSAGES)
    assert resp.status == 400
    assert json.loads(resp.body) == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }


async def test_anthropic_system_prompt_and_prefill(server: MockServer) -> None:
    reply = "".join(reply_for(PROMPT))
    messages = [*USER, {"role": "assistant", "content": [{"type": "text", "text": reply[:25]}]}]
    resp = await post(server, "anthropic", system="Be terse.", messages=messages)
    assert reply[:25] + anthropic_text(named(resp)) == reply


async def test_gemini_stream_is_whole_responses_with_a_last_chunk(server: MockServer) -> None:
    resp = await post(server, "gemini")
    chunks = [json.loads(d) for name, d in resp.events() if name is None]
    assert len(chunks) == len(resp.events())
    texts = [p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert "".join(texts) == "".join(reply_for(PROMPT))
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    last = chunks[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    usage = last["usageMetadata"]
    assert usage["candidatesTokenCount"] == len(reply_for(PROMPT))
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + len(reply_for(PROMPT))


async def test_gemini_thought_parts_and_max_tokens(server: MockServer) -> None:
    config = {"maxOutputTokens": 9, "thinkingConfig": {"includeThoughts": True}}
    resp = await post(server, "gemini", generationConfig=config)
    parts = [
        p for _, d in resp.events() for p in json.loads(d)["candidates"][0]["content"]["parts"]
    ]
    thoughts = "".join(p["text"] for p in parts if p.get("thought"))
    assert thoughts == "".join(reasoning_for(PROMPT))
    assert "".join(p["text"] for p in parts if not p.get("thought")) == "".join(
        reply_for(PROMPT)[:9]
    )
    last = json.loads(resp.events()[-1][1])
    assert last["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert last["usageMetadata"]["thoughtsTokenCount"] == len(reasoning_for(PROMPT))


async def test_gemini_model_suffix_scenario_percent_encoded(server: MockServer) -> None:
    path = "/v1beta/models/gemini-2.5-flash%23http-503:streamGenerateContent?alt=sse"
    resp = await raw_post(server.port, gemini_body(), path=path)
    assert resp.status == 503
    assert json.loads(resp.body)["error"]["status"] == "UNAVAILABLE"


async def test_gemini_unknown_method_is_404(server: MockServer) -> None:
    path = "/v1beta/models/gemini-2.5-flash:countTokens"
    assert (await raw_post(server.port, gemini_body(), path=path)).status == 404


async def test_responses_events_are_numbered_in_order(server: MockServer) -> None:
    events = named(await post(server, "responses"))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    reply = "".join(reply_for(PROMPT))
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == reply == events[-4]["text"]
    completed = events[-1]["response"]
    assert completed["status"] == "completed"
    assert completed["output"][0]["content"][0]["text"] == reply
    assert completed["usage"]["output_tokens"] == len(reply_for(PROMPT))


async def test_responses_reasoning_summary_then_message(server: MockServer) -> None:
    events = named(await post(server, "responses", reasoning={"summary": "auto"}))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    summary = [e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta"]
    assert "".join(summary) == "".join(reasoning_for(PROMPT))
    added = [e["item"]["type"] for e in events if e["type"] == "response.output_item.added"]
    assert added == ["reasoning", "message"]
    usage = events[-1]["response"]["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == len(reasoning_for(PROMPT))


async def test_responses_error_event_then_failed_numbered_where_they_fire(
    server: MockServer,
) -> None:
    events = named(await post(server, "responses", {"X-Mock-Scenario": "error-event"}))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-1]["response"]["status"] == "failed"
    assert events[-1]["response"]["error"]["code"] == "server_error"
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == reply_for(PROMPT)[:FAULT_AFTER]


@pytest.mark.parametrize("dialect", sorted(ROUTES))
@pytest.mark.parametrize("name", sorted(HTTP_ERRORS))
async def test_http_errors_in_each_dialects_shape(
    server: MockServer, dialect: str, name: str
) -> None:
    resp = await post(server, dialect, {"X-Mock-Scenario": name})
    status = int(name[5:])
    assert resp.status == status
    body = json.loads(resp.body)
    if dialect == "anthropic":
        assert body["type"] == "error" and body["error"]["type"].endswith("_error")
    elif dialect == "gemini":
        assert body["error"]["code"] == status and body["error"]["status"].isupper()
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
    if name == "http-429":
        assert resp.headers["retry-after"] == "1"


@pytest.mark.parametrize("dialect", sorted(ROUTES))
async def test_cut_and_truncate_end_without_the_terminal_event(
    server: MockServer, dialect: str
) -> None:
    cut = await post(server, dialect, {"X-Mock-Scenario": "cut"})
    truncated = await post(server, dialect, {"X-Mock-Scenario": "truncate"})
    assert not cut.complete and truncated.complete
    for resp in (cut, truncated):
        text = resp.body.decode()
        assert "message_stop" not in text and "finishReason" not in text
        assert "response.completed" not in text


def wire_text(dialect: str, resp: RawResponse) -> str:
    """The reply text a stream carries, read straight off the wire."""
    if dialect == "anthropic":
        return anthropic_text(named(resp))
    if dialect == "responses":
        kind = "response.output_text.delta"
        return "".join(e["delta"] for e in named(resp) if e["type"] == kind)
    chunks = (json.loads(d)["candidates"][0]["content"]["parts"] for _, d in resp.events())
    return "".join(p["text"] for parts in chunks for p in parts if not p.get("thought"))


@pytest.mark.parametrize("dialect", sorted(ROUTES))
async def test_pacing_headers_apply(server: MockServer, dialect: str) -> None:
    resp = await post(server, dialect, {"X-Mock-Tokens": "12"})
    assert wire_text(dialect, resp) == "".join(reply_for(PROMPT, 12))


@pytest.mark.parametrize(
    ("dialect", "header"),
    [("anthropic", "x-api-key"), ("gemini", "x-goog-api-key"), ("responses", "Authorization")],
)
async def test_each_dialects_key_header_is_accepted(dialect: str, header: str) -> None:
    async with MockServer(tokens_per_second=0, first_token_delay=0, api_key="K") as server:
        key = "Bearer K" if header == "Authorization" else "K"
        assert (await post(server, dialect, {header: key})).status == 200
        denied = await post(server, dialect, {header: "wrong"})
        assert denied.status == 401
        body = json.loads(denied.body)
        assert "error" in body and body != {"error": None}


async def test_non_streaming_answers(server: MockServer) -> None:
    reply = "".join(reply_for(PROMPT))
    message = json.loads((await post(server, "anthropic", stream=False)).body)
    assert message["content"][-1]["text"] == reply and message["stop_reason"] == "end_turn"
    path = "/v1beta/models/gemini-2.5-flash:generateContent"
    gemini = json.loads((await raw_post(server.port, gemini_body(), path=path)).body)
    assert gemini["candidates"][0]["content"]["parts"][-1]["text"] == reply
    response = json.loads((await post(server, "responses", stream=False)).body)
    assert response["status"] == "completed"
    assert response["output"][-1]["content"][0]["text"] == reply
