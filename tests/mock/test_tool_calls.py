"""The mock calls the tools a prompt names, in every dialect, and answers their results.

The official SDKs (openai chat completions and Responses, anthropic, google-genai) must assemble
the mock's streamed calls as they would a real provider's, so the mock's dialect is the real
one; Streamdesk's own interpreters must read the same bytes into the same calls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import pytest
from google.genai import types
from tests.mock.sdks import Clients
from tests.mock.wire import raw_post
from websockets.asyncio.client import connect

from streamdesk.core.dialects import dialect
from streamdesk.core.events import (
    Done,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)
from streamdesk.core.openai_chunks import ChunkInterpreter
from streamdesk.core.request import ChatRequest, Message, ToolSpec
from streamdesk.core.sse import SSEDecoder
from streamdesk.core.ws_frames import FrameInterpreter
from streamdesk.mock import MockServer, reply_for

pytestmark = pytest.mark.asyncio

ADD_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}
NOTE_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "limit": {"type": "integer"}},
    "required": ["title"],
}
TOOLS = (
    ToolSpec("add", "Add two numbers", ADD_SCHEMA),
    ToolSpec("read_note", "Read a note", NOTE_SCHEMA),
)
CHAT_TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": t.name,
            "description": t.description,
            "parameters": dict(t.parameters),
        },
    }
    for t in TOOLS
]
ADD = "add 2 and 3"
BOTH = 'add 2 and 3, then read_note "shopping list"'
RESULT_TEXT = "The add tool returned: 5."
NATIVE_ROUTES = [
    ("anthropic", "/v1/messages"),
    ("responses", "/v1/responses"),
    ("gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
]


# --- what the mock decides -----------------------------------------------------------------


async def chat_stream(server: MockServer, **body: Any) -> bytes:
    sent = {"model": "gpt-4.1", "stream": True, "tools": CHAT_TOOLS, **body}
    return (await raw_post(server.port, sent)).body


def chunk_events(stream: bytes, interpreter: Any, cuts: Sequence[int] = ()) -> list[StreamEvent]:
    bounds = sorted({0, len(stream), *cuts})
    decoder = SSEDecoder()
    return [
        event
        for start, end in pairwise(bounds)
        for sse in decoder.feed(stream[start:end])
        for event in interpreter.interpret(sse)
    ]


def calls_of(events: list[StreamEvent]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, dict(e.arguments)) for e in events if isinstance(e, ToolCall)]


def user(prompt: str) -> Any:
    return [{"role": "user", "content": prompt}]


async def test_a_named_tool_is_called_with_numbers_and_quoted_text_from_the_prompt(
    server: MockServer,
) -> None:
    events = chunk_events(await chat_stream(server, messages=user(BOTH)), ChunkInterpreter())
    assert calls_of(events) == [
        ("add", {"a": 2, "b": 3}),
        ("read_note", {"title": "shopping list"}),
    ]
    assert all(not e.error for e in events if isinstance(e, ToolCall))
    fragments = [e for e in events if isinstance(e, ToolCallDelta) and e.arguments]
    assert len(fragments) > 4  # the arguments stream in pieces
    assert not any(isinstance(e, TextDelta) for e in events)
    assert events[-1] == Done("tool_calls")


@pytest.mark.parametrize(
    ("prompt", "schema", "arguments"),
    [
        ("Add 1.5 and -4 please", ADD_SCHEMA, {"a": 1.5, "b": -4}),
        ("read_note groceries", NOTE_SCHEMA, {"title": "groceries"}),
        (
            "use read_note on 'todo' (limit 7)",
            {**NOTE_SCHEMA, "required": ["title", "limit"]},
            {"title": "todo", "limit": 7},
        ),
        (
            "read_note",
            {
                "type": "object",
                "properties": {"mode": {"enum": ["fast", "slow"]}, "on": {"type": "boolean"}},
            },
            {"mode": "fast", "on": True},
        ),
        ("read_note now", {"type": "object"}, {}),
    ],
)
async def test_arguments_fit_the_schema(
    server: MockServer, prompt: str, schema: dict[str, Any], arguments: dict[str, Any]
) -> None:
    tools = [
        {"type": "function", "function": {"name": n, "parameters": schema}}
        for n in ("add", "read_note")
    ]
    events = chunk_events(
        await chat_stream(server, messages=user(prompt), tools=tools), ChunkInterpreter()
    )
    assert [dict(e.arguments) for e in events if isinstance(e, ToolCall)] == [arguments]


async def test_tools_the_prompt_does_not_name_as_a_word_get_the_usual_reply(
    server: MockServer,
) -> None:
    prompt = "an address, additionally"
    events = chunk_events(await chat_stream(server, messages=user(prompt)), ChunkInterpreter())
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "".join(reply_for(prompt))
    assert events[-1] == Done("stop")


async def test_max_tokens_cuts_the_arguments_and_the_call_fails_not_the_reply(
    server: MockServer,
) -> None:
    stream = await chat_stream(server, messages=user(ADD), max_tokens=3)
    events = chunk_events(stream, ChunkInterpreter())
    call = next(e for e in events if isinstance(e, ToolCall))
    assert call.arguments_text == '{"a' and "not valid JSON" in call.error
    assert events[-1] == Done("length")


def after_call(content: str, **result: Any) -> list[dict[str, Any]]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
    }
    return [
        *user(ADD),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": content, **result},
    ]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("5", RESULT_TEXT),
        ("Error: the server is down", "The add tool failed: Error: the server is down."),
        (
            "The user denied this call.",
            "The add tool was not run: the call was denied (The user denied this call).",
        ),
    ],
)
async def test_results_are_quoted_once_and_failures_said_as_such(
    server: MockServer, content: str, said: str
) -> None:
    events = chunk_events(
        await chat_stream(server, messages=after_call(content)), ChunkInterpreter()
    )
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == said
    assert events[-1] == Done("stop")


@pytest.mark.parametrize("scenario", ["ok", "reasoning", "one-byte"])
async def test_every_dialect_carries_the_same_calls_and_our_interpreters_read_them(
    server: MockServer, scenario: str
) -> None:
    request = ChatRequest("gemini-2.5-flash", (Message("user", BOTH),), tools=TOOLS)
    expected = [("add", {"a": 2, "b": 3}), ("read_note", {"title": "shopping list"})]
    headers = {"X-Mock-Scenario": scenario}
    for api, path in NATIVE_ROUTES:
        native = dialect(api)
        body = native.request_body(request)
        stream = (await raw_post(server.port, body, headers, path=path)).body
        for cuts in ((), range(0, len(stream), 7)):
            events = chunk_events(stream, native.interpreter(), cuts)
            assert calls_of(events) == expected, api
            assert events[-1] == Done("tool_calls"), api
            thought = any(isinstance(e, ReasoningDelta) for e in events)
            assert thought == (scenario == "reasoning"), api
        ids = [e.call_id for e in events if isinstance(e, ToolCall)]
        assert len(set(ids)) == 2 and all(ids), api


async def test_every_dialect_answers_results_sent_in_its_own_shape(server: MockServer) -> None:
    call = ToolCall(0, "call_x", "add", {"a": 2, "b": 3}, '{"a": 2, "b": 3}')
    messages = (
        Message("user", ADD),
        Message("assistant", "", tool_calls=(call,)),
        Message("tool", "5", tool_call_id="call_x", name="add"),
    )
    request = ChatRequest("gemini-2.5-flash", messages, tools=TOOLS)
    for api, path in NATIVE_ROUTES:
        native = dialect(api)
        stream = (await raw_post(server.port, native.request_body(request), path=path)).body
        events = chunk_events(stream, native.interpreter())
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == RESULT_TEXT, api
    denied = (*messages[:2], Message("tool", "Denied.", tool_call_id="call_x", is_error=True))
    for api, path in (NATIVE_ROUTES[0], NATIVE_ROUTES[2]):
        native = dialect(api)
        body = native.request_body(ChatRequest("m", denied, tools=TOOLS))
        events = chunk_events(
            (await raw_post(server.port, body, path=path)).body, native.interpreter()
        )
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == "The add tool was not run: the call was denied (Denied).", api


async def test_websocket_streams_tool_call_delta_frames(server: MockServer) -> None:
    request = ChatRequest("gpt-4.1", (Message("user", BOTH),), tools=TOOLS)
    interpreter = FrameInterpreter(server.ws_url)
    async with connect(server.ws_url) as ws:
        await ws.send(json.dumps(request.websocket_message()))
        frames: list[dict[str, Any]] = []
        events: list[StreamEvent] = []
        while not events or not isinstance(events[-1], Done):
            raw = await ws.recv()
            frames.append(json.loads(raw))
            events += interpreter.interpret(raw)
        firsts = [f for f in frames if f["type"] == "tool_call.delta" and "id" in f]
        assert [(f["index"], f["name"], f["arguments"]) for f in firsts] == [
            (0, "add", ""),
            (1, "read_note", ""),
        ]
        assert frames[-1] == {"type": "completion.done", "finish_reason": "tool_calls"}
        assert calls_of(events) == [
            ("add", {"a": 2, "b": 3}),
            ("read_note", {"title": "shopping list"}),
        ]
        results = ChatRequest(
            "gpt-4.1",
            (
                Message("user", ADD),
                Message(
                    "assistant",
                    "",
                    tool_calls=(next(e for e in events if isinstance(e, ToolCall)),),
                ),
                Message("tool", "5", tool_call_id=firsts[0]["id"], name="add"),
            ),
            tools=TOOLS,
        )
        await ws.send(json.dumps(results.websocket_message()))
        text = []
        while (frame := json.loads(await ws.recv()))["type"] != "completion.done":
            text += [frame["delta"]] if frame["type"] == "content.delta" else []
        assert "".join(text) == RESULT_TEXT


async def test_non_streaming_answers_carry_the_calls(server: MockServer) -> None:
    whole = await raw_post(
        server.port,
        {"model": "gpt-4.1", "messages": user(ADD), "tools": CHAT_TOOLS},
    )
    choice = json.loads(whole.body)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "a": 2,
        "b": 3,
    }


# --- the official SDKs -----------------------------------------------------------------------


async def test_openai_chat_stream_assembles_parallel_tool_calls(clients: Clients) -> None:
    fragments: dict[int, list[str]] = {}
    async with clients.openai.chat.completions.stream(
        model="gpt-4.1",
        messages=user(BOTH),
        tools=CHAT_TOOLS,
    ) as stream:
        async for event in stream:
            if event.type == "tool_calls.function.arguments.delta":
                fragments.setdefault(event.index, []).append(event.arguments_delta)
        final = await stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("add", {"a": 2, "b": 3}),
        ("read_note", {"title": "shopping list"}),
    ]
    assert all(len(pieces) > 1 for pieces in fragments.values()) and len(fragments) == 2
    assert len({c.id for c in calls}) == 2

    messages: Any = [
        *user(ADD),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [calls[0].model_dump(include={"id", "type", "function"})],
        },
        {"role": "tool", "tool_call_id": calls[0].id, "content": "5"},
    ]
    answer = await clients.openai.chat.completions.create(
        model="gpt-4.1", stream=True, tools=CHAT_TOOLS, messages=messages
    )
    text = "".join([c.choices[0].delta.content or "" async for c in answer if c.choices])
    assert text == RESULT_TEXT


async def test_openai_responses_stream_has_function_call_items(clients: Clients) -> None:
    tools: Any = [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "parameters": dict(t.parameters),
        }
        for t in TOOLS
    ]
    stream = await clients.openai.responses.create(
        model="gpt-4.1",
        input=ADD,
        tools=tools,
        stream=True,
    )
    deltas, done = [], None
    async for event in stream:
        if event.type == "response.function_call_arguments.delta":
            deltas.append(event.delta)
        elif event.type == "response.completed":
            done = event.response
    assert done is not None and len(deltas) > 1
    (item,) = done.output
    assert item.type == "function_call" and item.name == "add"
    assert json.loads(item.arguments) == {"a": 2, "b": 3} == json.loads("".join(deltas))

    answer = await clients.openai.responses.create(
        model="gpt-4.1",
        stream=True,
        tools=tools,
        input=[
            {"role": "user", "content": ADD},
            {
                "type": "function_call",
                "call_id": item.call_id,
                "name": "add",
                "arguments": item.arguments,
            },
            {"type": "function_call_output", "call_id": item.call_id, "output": "5"},
        ],
    )
    text = "".join([e.delta async for e in answer if e.type == "response.output_text.delta"])
    assert text == RESULT_TEXT


async def test_anthropic_stream_gets_tool_use_blocks_with_their_input(clients: Clients) -> None:
    tools: Any = [
        {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
        for t in TOOLS
    ]
    partial = []
    async with clients.anthropic.messages.stream(
        model="claude-sonnet-4.5",
        max_tokens=1024,
        messages=user(BOTH),
        tools=tools,
    ) as stream:
        async for event in stream:
            if event.type == "input_json":
                partial.append(event.partial_json)
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use" and len(partial) > 2
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [(b.name, b.input) for b in uses] == [
        ("add", {"a": 2, "b": 3}),
        ("read_note", {"title": "shopping list"}),
    ]

    results: Any = [
        *user(BOTH),
        {"role": "assistant", "content": [b.model_dump() for b in uses]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": uses[0].id, "content": "5"},
                {
                    "type": "tool_result",
                    "tool_use_id": uses[1].id,
                    "content": "no such note",
                    "is_error": True,
                },
            ],
        },
    ]
    async with clients.anthropic.messages.stream(
        model="claude-sonnet-4.5", max_tokens=1024, tools=tools, messages=results
    ) as stream:
        text = await stream.get_final_text()
    assert text == RESULT_TEXT + " The read_note tool failed: no such note."


async def test_google_genai_gets_function_calls(clients: Clients) -> None:
    declarations = [
        types.FunctionDeclaration(
            name=t.name, description=t.description, parameters_json_schema=dict(t.parameters)
        )
        for t in TOOLS
    ]
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=declarations)])
    calls = []
    stream = await clients.gemini.aio.models.generate_content_stream(
        model="gemini-2.5-flash", contents=BOTH, config=config
    )
    async for chunk in stream:
        calls += chunk.function_calls or []
    assert [(c.name, c.args) for c in calls] == [
        ("add", {"a": 2, "b": 3}),
        ("read_note", {"title": "shopping list"}),
    ]

    contents = [
        types.Content(role="user", parts=[types.Part(text=ADD)]),
        types.Content(role="model", parts=[types.Part(function_call=calls[0])]),
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="add", response={"output": 5})],
        ),
    ]
    answer = await clients.gemini.aio.models.generate_content_stream(
        model="gemini-2.5-flash",
        contents=contents,
        config=config,
    )
    assert "".join([c.text or "" async for c in answer]) == RESULT_TEXT
