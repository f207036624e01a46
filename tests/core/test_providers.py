"""Built-in providers, prices, endpoints and the live model list against a loopback server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from streamdesk.core.errors import StreamError
from streamdesk.core.events import FailureKind
from streamdesk.core.models_api import fetch_models
from streamdesk.core.providers import (
    BUILTIN_PROVIDERS,
    MOCK_PROVIDER_ID,
    auth_parts,
    builtin,
    mock_provider,
)
from streamdesk.core.request import AuthStyle, Endpoint


def test_builtin_ids_and_urls() -> None:
    ids = [p.id for p in BUILTIN_PROVIDERS]
    assert ids == [
        "holysheep",
        "openai",
        "deepseek",
        "anthropic",
        "gemini",
        "ollama",
        "vllm",
        "lmstudio",
        "llamacpp",
        "custom",
    ]
    assert (builtin("anthropic").api, builtin("gemini").api, builtin("openai").api) == (
        "anthropic",
        "gemini",
        "chat",
    )
    assert builtin("gemini").base_url == "https://generativelanguage.googleapis.com/v1beta"
    hs = builtin("holysheep")
    assert hs.base_url == "https://api.holysheep.ai/v1"
    assert hs.ws_url == "wss://stream.holysheep.ai/v1/ws/chat"
    assert hs.sign and hs.needs_key
    assert builtin("ollama").base_url == "http://localhost:11434/v1"
    assert builtin("lmstudio").base_url == "http://localhost:1234/v1"
    assert builtin("llamacpp").base_url == "http://localhost:8080/v1"
    assert builtin("vllm").base_url == "http://localhost:8000/v1"
    assert builtin("custom").base_url == ""
    for local in ("ollama", "vllm", "lmstudio", "llamacpp"):
        assert not builtin(local).needs_key
    with pytest.raises(KeyError, match="holysheep"):
        builtin("nope")


def test_relay_output_prices_from_the_brief() -> None:
    hs = builtin("holysheep")
    out = {m.id: m.output_price for m in hs.models}
    assert out == {
        "gpt-4.1": 8.00,
        "claude-sonnet-4.5": 15.00,
        "gemini-2.5-flash": 2.50,
        "deepseek-v3.2": 0.42,
    }
    # 1M completion tokens of claude-sonnet-4.5 cost $15; 1000 prompt + 500 completion of gpt-4.1:
    assert hs.cost("claude-sonnet-4.5", 0, 1_000_000) == pytest.approx(15.0)
    assert hs.cost("gpt-4.1", 1000, 500) == pytest.approx(1000 * 2.0e-6 + 500 * 8.0e-6)


def test_cost_unknown_is_none_and_local_is_free() -> None:
    assert builtin("openai").cost("no-such-model", 10, 10) is None
    assert builtin("ollama").cost("anything", 10_000, 10_000) == 0.0
    assert builtin("custom").cost("x", 1, 1) is None


def test_mock_provider_prices_like_the_relay() -> None:
    m = mock_provider("http://127.0.0.1:9/v1", "ws://127.0.0.1:9/v1/ws/chat")
    assert m.id == MOCK_PROVIDER_ID and not m.needs_key and not m.sign
    assert m.models == builtin("holysheep").models
    assert m.cost("deepseek-v3.2", 0, 2_000_000) == pytest.approx(0.84)


def test_endpoint_carries_profile_and_network_policy() -> None:
    ep = builtin("holysheep").endpoint("sk-1", proxy="", ca_bundle="/tmp/ca.pem")
    assert ep.base_url == "https://api.holysheep.ai/v1" and ep.ws_url.endswith("/ws/chat")  # type: ignore[union-attr]
    assert ep.api_key == "sk-1" and ep.sign and ep.proxy == "" and ep.ca_bundle == "/tmp/ca.pem"
    assert "sk-1" not in repr(ep)
    assert builtin("ollama").endpoint(None).api_key is None


def test_auth_parts_per_style_and_signing() -> None:
    h, q = auth_parts(Endpoint("http://x", api_key="k1", sign=True))
    assert h["Authorization"] == "Bearer k1" and set(h) == {
        "Authorization",
        "X-Timestamp",
        "X-Signature",
    }
    assert q == {}
    h, q = auth_parts(Endpoint("http://x", api_key="k2", auth=AuthStyle.X_API_KEY))
    assert h == {"X-API-Key": "k2"} and q == {}
    h, q = auth_parts(Endpoint("http://x", api_key="k3", auth=AuthStyle.QUERY_PARAM))
    assert h == {} and q == {"api_key": "k3"}
    assert auth_parts(Endpoint("http://x")) == ({}, {})


Handler = Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]


@asynccontextmanager
async def http_server(
    handler: Handler,
) -> AsyncIterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """A one-request-per-connection HTTP/1.1 server on a loopback port; records requests."""
    seen: list[tuple[str, dict[str, str]]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1]
        headers = {
            k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
        }
        seen.append((target, headers))
        status, extra, body = handler(target, headers)
        out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
        out += [f"{k}: {v}" for k, v in extra.items()]
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1", seen
    finally:
        server.close()
        await server.wait_closed()


def _models_body(*ids: str) -> bytes:
    return json.dumps(
        {"object": "list", "data": [{"id": i, "object": "model"} for i in ids]}
    ).encode()


@pytest.mark.asyncio
async def test_fetch_models_sends_auth_and_returns_sorted_ids() -> None:
    async with http_server(
        lambda t, h: (200, {"Content-Type": "application/json"}, _models_body("b", "a", "b"))
    ) as (base, seen):
        ids = await fetch_models(Endpoint(base, api_key="sk-models", sign=True, proxy=""))
    assert ids == ["a", "b"]
    target, headers = seen[0]
    assert target == "/v1/models"
    assert headers["authorization"] == "Bearer sk-models"
    assert "x-signature" in headers and "x-timestamp" in headers


@pytest.mark.asyncio
async def test_fetch_models_query_param_auth() -> None:
    async with http_server(lambda t, h: (200, {}, _models_body("m"))) as (base, seen):
        await fetch_models(Endpoint(base, api_key="k q", auth=AuthStyle.QUERY_PARAM, proxy=""))
    assert seen[0][0] == "/v1/models?api_key=k+q"
    assert "authorization" not in seen[0][1]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "retry_after"),
    [
        (401, {}, b"{}", FailureKind.AUTHENTICATION, None),
        (403, {}, b"{}", FailureKind.PERMISSION, None),
        (404, {}, b"", FailureKind.NOT_FOUND, None),
        (429, {"Retry-After": "7"}, b"", FailureKind.RATE_LIMITED, 7.0),
        (503, {}, b"", FailureKind.SERVER_ERROR, None),
        (200, {}, b"<html>not json</html>", FailureKind.BAD_RESPONSE, None),
        (200, {}, b'{"models": []}', FailureKind.BAD_RESPONSE, None),
    ],
)
async def test_fetch_models_failures_have_kinds(
    status: int, headers: dict[str, str], body: bytes, kind: FailureKind, retry_after: float | None
) -> None:
    async with http_server(lambda t, h: (status, headers, body)) as (base, _):
        with pytest.raises(StreamError) as info:
            await fetch_models(Endpoint(base, api_key="sk-secret-xyz", proxy=""))
    assert info.value.kind is kind
    assert info.value.retry_after == retry_after
    assert "127.0.0.1" in info.value.message
    assert "sk-secret-xyz" not in info.value.message


@pytest.mark.asyncio
async def test_fetch_models_connection_refused_and_no_url() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(StreamError) as info:
        await fetch_models(Endpoint(f"http://127.0.0.1:{port}/v1", proxy=""))
    assert info.value.kind is FailureKind.CONNECTION_REFUSED
    with pytest.raises(StreamError) as info:
        await fetch_models(builtin("custom").endpoint(None))
    assert info.value.kind is FailureKind.BAD_REQUEST


@pytest.mark.asyncio
async def test_fetch_models_from_the_team_mock_server() -> None:
    """The offline demo's provider lists the mock's models, each priced like the relay."""
    from streamdesk.mock import MockServer

    async with MockServer(api_key="sk-mock-key") as m:
        provider = mock_provider(m.sse_base_url, m.ws_url)
        ids = await fetch_models(provider.endpoint("sk-mock-key", proxy=""))
        with pytest.raises(StreamError) as info:
            await fetch_models(provider.endpoint("sk-wrong", proxy=""))
    assert {mi.id for mi in provider.models} <= set(ids)
    assert info.value.kind is FailureKind.AUTHENTICATION


def test_cached_and_reasoning_tokens_are_priced_where_the_model_says() -> None:
    from streamdesk.core.providers import ModelInfo, Provider
    from streamdesk.core.request import AuthStyle

    model = ModelInfo("m", input_price=2.0, output_price=8.0, cached_input_price=0.5)
    p = Provider("p", "P", "https://x/v1", None, AuthStyle.BEARER, False, True, (model,), "m")
    plain = p.cost("m", 1_000_000, 1_000_000)
    cached = p.cost("m", 1_000_000, 1_000_000, cached_tokens=400_000)
    assert plain == 10.0 and cached == 2.0 * 0.6 + 0.5 * 0.4 + 8.0
    assert p.cost("m", 1_000_000, 0, cached_tokens=5_000_000) == 0.5  # never more than prompt
    thinking = ModelInfo("t", 1.0, 4.0, reasoning_price=2.0)
    q = Provider("q", "Q", "https://x/v1", None, AuthStyle.BEARER, False, True, (thinking,), "t")
    assert q.cost("t", 0, 1_000_000, reasoning_tokens=250_000) == 4.0 * 0.75 + 2.0 * 0.25
