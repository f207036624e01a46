"""The official SDKs stream from the mock's native routes as clients nobody here wrote.

Anthropic's `messages.stream`, google-genai's `generate_content_stream` and OpenAI's
`responses.create(stream=True)` must receive the chat-completions reply of the same prompt, and
each fault must reach them as their own error (or a stream without its terminal event).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anthropic
import httpx2
import openai
import pytest
from google.genai import errors as genai_errors
from google.genai import types
from tests.mock.sdks import Clients
from tests.mock.wire import PROMPT, chat_body, raw_post

from streamdesk.mock import MockServer, reasoning_for, reply_for
from streamdesk.mock.scenarios import FAULT_AFTER

pytestmark = pytest.mark.asyncio

REPLY = "".join(reply_for(PROMPT))
# what the SDKs raise on a cut or a bad data line (JSONDecodeError and google-genai's parse error
# are ValueErrors)
FIRST_ATTEMPT_ERRORS = (httpx2.RemoteProtocolError, openai.APIConnectionError, ValueError)


@dataclass
class Received:
    """What one SDK stream delivered: text, reasoning, and how it ended."""

    text: str = ""
    reasoning: str = ""
    stop: str | None = None  # the dialect's stop reason; None without the terminal event
    usage: dict[str, int | None] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


async def via_anthropic(
    c: Clients, prompt: str = PROMPT, scenario: str = "ok", **extra: object
) -> Received:
    got = Received()
    messages = extra.pop("messages", [{"role": "user", "content": prompt}])
    async with c.anthropic.messages.stream(
        model="claude-sonnet-4.5",
        max_tokens=extra.pop("max_tokens", 4096),  # type: ignore[arg-type]
        messages=messages,  # type: ignore[arg-type]
        extra_headers={"X-Mock-Scenario": scenario},
        **extra,  # type: ignore[arg-type]
    ) as stream:
        async for event in stream:
            got.events.append(event.type)
            if event.type == "thinking":
                got.reasoning += event.thinking
            elif event.type == "text":
                got.text += event.text
        final = await stream.get_final_message()
    if "message_stop" in got.events:
        got.stop = final.stop_reason
        got.usage = {"input": final.usage.input_tokens, "output": final.usage.output_tokens}
    return got


async def via_gemini(
    c: Clients, prompt: str = PROMPT, scenario: str = "ok", **config: object
) -> Received:
    got = Received()
    options = types.HttpOptions(headers={"X-Mock-Scenario": scenario})
    stream = await c.gemini.aio.models.generate_content_stream(
        model="gemini-2.5-flash",
        contents=prompt,
        config=types.GenerateContentConfig(http_options=options, **config),  # type: ignore[arg-type]
    )
    async for chunk in stream:
        candidate = (chunk.candidates or [types.Candidate()])[0]
        parts = candidate.content.parts if candidate.content else None
        for part in parts or []:
            if part.thought:
                got.reasoning += part.text or ""
            else:
                got.text += part.text or ""
        if candidate.finish_reason is not None:
            got.stop = candidate.finish_reason.value
        meta = chunk.usage_metadata
        if meta is not None:
            got.usage = {
                "input": meta.prompt_token_count,
                "output": meta.candidates_token_count,
                "thoughts": meta.thoughts_token_count,
            }
    return got


async def via_responses(
    c: Clients, prompt: str = PROMPT, scenario: str = "ok", **extra: object
) -> Received:
    got = Received()
    stream = await c.openai.responses.create(
        model="gpt-4.1",
        input=prompt,
        stream=True,
        extra_headers={"X-Mock-Scenario": scenario},
        **extra,  # type: ignore[call-overload]
    )
    async for event in stream:
        got.events.append(event.type)
        if event.type == "response.output_text.delta":
            got.text += event.delta
        elif event.type == "response.reasoning_summary_text.delta":
            got.reasoning += event.delta
        elif event.type in ("response.completed", "response.incomplete"):
            got.stop = event.response.status
            usage = event.response.usage
            assert usage is not None
            reasoning = usage.output_tokens_details.reasoning_tokens
            got.usage = {
                "input": usage.input_tokens,
                "output": usage.output_tokens,
                "thoughts": reasoning,
            }
    return got


async def chat_completions_text(server: MockServer, prompt: str = PROMPT) -> str:
    return "".join((await raw_post(server.port, chat_body(prompt))).content())


@pytest.mark.parametrize("prompt", [PROMPT, "Write a table, please", "中文 and émoji 🚀"])
async def test_every_sdk_receives_the_chat_completions_text(
    server: MockServer, clients: Clients, prompt: str
) -> None:
    expected = await chat_completions_text(server, prompt)
    assert expected == "".join(reply_for(prompt))
    for receive in (via_anthropic, via_gemini, via_responses):
        got = await receive(clients, prompt)
        assert got.text == expected, receive.__name__


async def test_anthropic_final_message_has_stop_reason_and_usage(clients: Clients) -> None:
    got = await via_anthropic(clients)
    assert got.stop == "end_turn"
    assert got.usage["output"] == len(reply_for(PROMPT)) and got.usage["input"]
    short = await via_anthropic(clients, max_tokens=7)
    assert short.text == "".join(reply_for(PROMPT)[:7])
    assert (short.stop, short.usage["output"]) == ("max_tokens", 7)


async def test_anthropic_trailing_assistant_message_is_a_prefill(clients: Clients) -> None:
    prefix = REPLY[:40]
    messages = [
        {"role": "user", "content": PROMPT},
        {"role": "assistant", "content": prefix},
    ]
    got = await via_anthropic(clients, messages=messages)
    assert prefix + got.text == REPLY


async def test_gemini_last_chunk_has_finish_reason_and_usage(clients: Clients) -> None:
    got = await via_gemini(clients)
    assert got.stop == "STOP"
    assert got.usage["output"] == len(reply_for(PROMPT)) and got.usage["input"]
    short = await via_gemini(clients, max_output_tokens=7)
    assert (short.text, short.stop) == ("".join(reply_for(PROMPT)[:7]), "MAX_TOKENS")


async def test_responses_completed_event_has_usage(clients: Clients) -> None:
    got = await via_responses(clients)
    assert got.events[:2] == ["response.created", "response.in_progress"]
    assert got.events[-1] == "response.completed" and got.stop == "completed"
    assert got.usage["output"] == len(reply_for(PROMPT)) and got.usage["input"]
    short = await via_responses(clients, max_output_tokens=7)
    assert (short.stop, short.events[-1]) == ("incomplete", "response.incomplete")


async def test_reasoning_scenario_gives_each_dialect_its_thinking(clients: Clients) -> None:
    thinking = "".join(reasoning_for(PROMPT))
    for receive in (via_anthropic, via_gemini, via_responses):
        got = await receive(clients, scenario="reasoning")
        assert (got.reasoning, got.text) == (thinking, REPLY), receive.__name__
        assert got.stop is not None
    assert (await via_gemini(clients, scenario="reasoning")).usage["thoughts"] == len(
        reasoning_for(PROMPT)
    )


async def test_each_dialect_thinking_option_asks_for_reasoning(clients: Clients) -> None:
    thinking = "".join(reasoning_for(PROMPT))
    budget = {"type": "enabled", "budget_tokens": 1024}
    assert (await via_anthropic(clients, thinking=budget)).reasoning == thinking
    gemini_config = types.ThinkingConfig(include_thoughts=True)
    assert (await via_gemini(clients, thinking_config=gemini_config)).reasoning == thinking
    summary = {"effort": "low", "summary": "auto"}
    assert (await via_responses(clients, reasoning=summary)).reasoning == thinking


async def test_http_429_is_each_sdks_rate_limit_error(clients: Clients) -> None:
    with pytest.raises(anthropic.RateLimitError):
        await via_anthropic(clients, scenario="http-429")
    with pytest.raises(genai_errors.ClientError) as gemini_error:
        await via_gemini(clients, scenario="http-429")
    assert (gemini_error.value.code, gemini_error.value.status) == (429, "RESOURCE_EXHAUSTED")
    with pytest.raises(openai.RateLimitError):
        await via_responses(clients, scenario="http-429")


async def test_http_401_is_each_sdks_auth_error(clients: Clients) -> None:
    with pytest.raises(anthropic.AuthenticationError):
        await via_anthropic(clients, scenario="http-401")
    with pytest.raises(genai_errors.ClientError) as gemini_error:
        await via_gemini(clients, scenario="http-401")
    assert gemini_error.value.code == 401
    with pytest.raises(openai.AuthenticationError):
        await via_responses(clients, scenario="http-401")


async def test_http_500_and_503_are_each_sdks_server_errors(clients: Clients) -> None:
    for scenario in ("http-500", "http-503"):
        with pytest.raises(anthropic.InternalServerError):
            await via_anthropic(clients, scenario=scenario)
        with pytest.raises(genai_errors.ServerError):
            await via_gemini(clients, scenario=scenario)
        with pytest.raises(openai.InternalServerError):
            await via_responses(clients, scenario=scenario)


async def test_a_cut_ends_each_sdk_stream_with_a_connection_error(clients: Clients) -> None:
    for receive in (via_anthropic, via_gemini):
        with pytest.raises(httpx2.RemoteProtocolError):
            await receive(clients, scenario="cut")
    with pytest.raises(openai.APIConnectionError):
        await via_responses(clients, scenario="cut")


async def test_truncate_ends_each_stream_without_its_terminal_event(clients: Clients) -> None:
    first = "".join(reply_for(PROMPT)[:FAULT_AFTER])
    anthropic_got = await via_anthropic(clients, scenario="truncate")
    assert "message_stop" not in anthropic_got.events and anthropic_got.text == first
    gemini_got = await via_gemini(clients, scenario="truncate")
    assert gemini_got.stop is None and gemini_got.text == first
    responses_got = await via_responses(clients, scenario="truncate")
    assert responses_got.stop is None and responses_got.text == first


async def test_error_event_is_each_dialects_own_mid_stream_error(clients: Clients) -> None:
    with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
        await via_anthropic(clients, scenario="error-event")
    with pytest.raises(genai_errors.ServerError) as gemini_error:
        await via_gemini(clients, scenario="error-event")
    assert gemini_error.value.status == "INTERNAL"
    got = await via_responses(clients, scenario="error-event")
    assert got.events[-2:] == ["error", "response.failed"] and got.stop is None
    assert got.text == "".join(reply_for(PROMPT)[:FAULT_AFTER])


@pytest.mark.parametrize(
    "scenario", ["one-byte", "split-utf8", "crlf", "cr", "keepalive", "cut-once", "bad-json-once"]
)
async def test_byte_level_and_once_scenarios_still_deliver_the_reply(
    clients: Clients, scenario: str
) -> None:
    """A BOM is left out: the anthropic and google-genai SDKs do not strip it (a real API never
    sends one), and google-genai reads an SSE comment line as part of an error JSON."""
    receivers = [via_anthropic, via_responses]
    if scenario != "keepalive":
        receivers.append(via_gemini)
    for receive in receivers:
        prompt = f"中文 and émoji 🚀 over {receive.__name__}"  # a *-once fault per prompt
        expected = "".join(reply_for(prompt))
        if scenario.endswith("-once"):  # the first attempt fails, the retry gets the reply
            with pytest.raises(FIRST_ATTEMPT_ERRORS):
                await receive(clients, prompt, scenario)
        got = await receive(clients, prompt, scenario)
        assert got.text == expected and got.stop is not None, (receive.__name__, scenario)


async def test_bad_json_breaks_each_sdk_stream(clients: Clients) -> None:
    for receive in (via_anthropic, via_responses):
        with pytest.raises(ValueError, match="Unterminated string"):
            await receive(clients, scenario="bad-json")
    with pytest.raises(genai_errors.UnknownApiResponseError):
        await via_gemini(clients, scenario="bad-json")


async def test_each_sdk_lists_the_mocks_models(server: MockServer, clients: Clients) -> None:
    anthropic_ids = [m.id async for m in clients.anthropic.models.list()]
    assert anthropic_ids == list(server.models)
    gemini_names = [m.name async for m in await clients.gemini.aio.models.list()]
    assert gemini_names == [f"models/{m}" for m in server.models]
