"""The conversation engine against the real mock: one token count, one cost rule, one way to
resolve an endpoint, and nothing sent without the key a provider needs."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from streamdesk.core.chat import (
    Conversation,
    MissingKey,
    Network,
    Reply,
    ReplyStatus,
    StoredTarget,
    Target,
    at_base_url,
    base_url_provider,
    collect,
    resolve_endpoint,
)
from streamdesk.core.events import FailureKind, TextDelta
from streamdesk.core.providers import builtin, mock_provider
from streamdesk.core.request import ChatRequest, Message
from streamdesk.core.store.settings import PROXY_KEY_ID
from streamdesk.core.trace import StreamTrace
from streamdesk.mock import MockServer, reply_for
from streamdesk.mock.scenarios import FAULT_AFTER


class Keys:
    """A key source with fixed contents (the real keychain is tested in core/test_secrets)."""

    def __init__(self, **keys: str) -> None:
        self.keys = keys
        self.asked: list[str] = []

    def get(self, provider_id: str, *, environment: bool = True) -> str | None:
        self.asked.append(provider_id)
        return self.keys.get(provider_id)

    def list(self) -> list[str]:
        return sorted(self.keys)


@pytest_asyncio.fixture
async def mock() -> AsyncIterator[MockServer]:
    async with MockServer(tokens_per_second=0, first_token_delay=0, reply_tokens=20) as server:
        yield server


def ask(target: Target, prompt: str) -> tuple[Reply, ChatRequest]:
    conversation = Conversation(target)
    send = conversation.ask(prompt)
    return send.turn.reply, send.request


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_a_reply_counts_its_tokens_once_and_prices_them_from_usage(
    mock: MockServer, protocol: str
) -> None:
    target = Target(mock_provider(mock.sse_base_url, mock.ws_url), "gpt-4.1", protocol)
    reply, request = ask(target, "count me")
    await collect(reply, request, keys=None)
    assert reply.status is ReplyStatus.COMPLETE and reply.text == "".join(
        reply_for("count me", tokens=20)
    )
    assert reply.usage is not None and reply.completion_tokens == reply.usage.completion_tokens
    assert not reply.estimated
    expected = target.provider.cost("gpt-4.1", reply.usage.prompt_tokens, reply.completion_tokens)
    assert reply.cost == pytest.approx(expected)
    figures = reply.figures()
    assert figures.completion_tokens == reply.completion_tokens and figures.ttft is not None


@pytest.mark.asyncio
async def test_a_cut_reply_is_partial_and_its_cost_estimated(mock: MockServer) -> None:
    target = Target(mock_provider(mock.sse_base_url, mock.ws_url), "gpt-4.1", scenario="cut")
    reply, request = ask(target, "price me!")
    await collect(reply, request, keys=None)
    assert reply.status is ReplyStatus.PARTIAL and reply.failure is not None
    assert reply.failure.kind is FailureKind.CUT_MID_STREAM
    assert reply.estimated and reply.completion_tokens == FAULT_AFTER
    assert reply.prompt_tokens == 3  # 9 characters, one token per 4, rounded up
    assert reply.cost == pytest.approx(target.provider.cost("gpt-4.1", 3, FAULT_AFTER))


@pytest.mark.asyncio
async def test_continuing_a_cut_reply_adds_to_its_count_and_cost(mock: MockServer) -> None:
    target = Target(mock_provider(mock.sse_base_url, mock.ws_url), "gpt-4.1")
    conversation = Conversation(dataclasses.replace(target, scenario="cut"))
    send = conversation.ask("continue me")
    await collect(send.turn.reply, send.request, keys=None)
    cut = send.turn.reply
    conversation.target = target
    again = conversation.continue_reply(send.turn)
    assert again is not None and again.request.messages[-1] == Message("assistant", cut.text)
    await collect(again.turn.reply, again.request, keys=None)
    whole = again.turn.reply
    assert whole.status is ReplyStatus.COMPLETE
    assert whole.text == "".join(reply_for("continue me", tokens=20))
    assert whole.completion_tokens > cut.completion_tokens
    assert whole.cost is not None and cut.cost is not None and whole.cost > cut.cost
    assert whole.estimated, "the cut part had no usage: the total holds an estimate"


@pytest.mark.asyncio
async def test_a_provider_without_its_key_sends_nothing(mock: MockServer) -> None:
    provider = at_base_url(builtin("openai"), mock.sse_base_url)
    reply, request = ask(Target(provider, "gpt-4.1"), "no key")
    before = len(mock.requests)
    await collect(reply, request, keys=Keys())
    assert reply.status is ReplyStatus.ERROR and reply.missing_key is not None
    assert reply.failure is not None and reply.failure.kind is FailureKind.AUTHENTICATION
    assert len(mock.requests) == before
    assert reply.cost is None or reply.cost == 0


@pytest.mark.asyncio
async def test_the_mock_never_takes_a_proxy_a_key_or_a_bundle() -> None:
    target = Target(
        mock_provider("http://127.0.0.1:1/v1", "ws://127.0.0.1:1/v1/ws/chat"),
        "gpt-4.1",
        network=Network(proxy_mode="manual", proxy_url="http://p:3128", ca_bundle="/x.pem"),
    )
    keys = Keys(mock="sk-never")
    endpoint = await resolve_endpoint(target, keys)
    assert endpoint.proxy == "" and endpoint.api_key is None and endpoint.ca_bundle is None
    assert keys.asked == []


@pytest.mark.asyncio
async def test_an_endpoint_takes_the_key_proxy_credentials_and_bundle_from_their_sources() -> None:
    network = Network(proxy_mode="manual", proxy_url="http://proxy.local:3128", ca_bundle="/ca.pem")
    target = Target(builtin("openai"), "gpt-4.1", network=network)
    keys = Keys(openai="sk-openai", **{PROXY_KEY_ID: "alice:s3cret"})
    endpoint = await resolve_endpoint(target, keys)
    assert endpoint.api_key == "sk-openai" and not endpoint.sign
    assert endpoint.proxy == "http://alice:s3cret@proxy.local:3128"
    assert endpoint.ca_bundle == "/ca.pem"
    with pytest.raises(MissingKey) as missing:
        await resolve_endpoint(target, Keys())
    assert missing.value.provider_id == "openai"


@pytest.mark.asyncio
async def test_only_a_profile_that_says_so_or_the_user_signs() -> None:
    keys = Keys(custom="k", holysheep="k")
    bare = Target(base_url_provider("http://127.0.0.1:9/v1"), "m")
    assert not (await resolve_endpoint(bare, keys)).sign
    assert (await resolve_endpoint(dataclasses.replace(bare, sign=True), keys)).sign
    relay = Target(at_base_url(builtin("holysheep"), "http://127.0.0.1:9/v1"), "m")
    assert (await resolve_endpoint(relay, keys)).sign


def test_a_stored_target_goes_back_to_its_own_host() -> None:
    relay = builtin("holysheep")
    moved = at_base_url(relay, "http://127.0.0.1:9/v1")
    stored = StoredTarget.of(Target(moved, "gpt-4.1", "ws"))
    provider = stored.provider(relay)
    assert provider.base_url == "http://127.0.0.1:9/v1" and provider.sign
    assert provider.ws_url == "ws://127.0.0.1:9/v1/ws/chat"
    bare = StoredTarget.of(Target(base_url_provider("http://10.1.2.3:8080/v1"), "m"))
    assert bare.provider(None).base_url == "http://10.1.2.3:8080/v1"
    same = StoredTarget.of(Target(relay, "gpt-4.1"))
    assert same.provider(relay) is relay


def test_requests_follow_the_conversation_rules() -> None:
    target = Target(base_url_provider("http://127.0.0.1:9/v1"), "m")
    conversation = Conversation(target, system_prompt="be brief")
    first = conversation.ask("first").turn
    first.reply.parts = ["one"]
    first.reply.status = ReplyStatus.COMPLETE
    failed = conversation.ask("second").turn
    failed.reply.status = ReplyStatus.ERROR  # no text: left out of later requests
    retry = conversation.retry(failed)
    roles = [(m.role, m.content) for m in retry.request.messages]
    assert roles == [
        ("system", "be brief"),
        ("user", "first"),
        ("assistant", "one"),
        ("user", "second"),
    ]
    retry.turn.reply.parts = ["half ", "a reply"]
    retry.turn.reply.status = ReplyStatus.PARTIAL
    continued = conversation.continue_reply(retry.turn)
    assert continued is not None
    assert continued.request.messages[-1] == Message("assistant", "half a reply")
    assert continued.request.messages[-2] == Message("user", "second")
    edited = conversation.edit(first, "first, edited")
    assert [t.prompt for t in conversation.turns] == ["first, edited"]
    assert [m.content for m in edited.request.messages] == ["be brief", "first, edited"]


def test_usage_with_cached_and_reasoning_tokens_gives_the_exact_cost() -> None:
    from streamdesk.core.events import Done, Usage
    from streamdesk.core.providers import ModelInfo, Provider
    from streamdesk.core.request import AuthStyle

    model = ModelInfo("m", 3.0, 15.0, cached_input_price=0.3, reasoning_price=10.0)
    provider = Provider(
        "p",
        "P",
        "https://x/v1",
        None,
        AuthStyle.BEARER,
        False,
        False,
        (model,),
        "m",
        api="anthropic",
    )
    reply = Reply(Target(provider, "m"))
    reply.begin(StreamTrace())
    reply.apply(TextDelta("hi"))
    reply.apply(Usage(10_000, 2_000, cached_tokens=8_000, reasoning_tokens=500))
    reply.apply(Done("stop"))
    expected = (2_000 * 3.0 + 8_000 * 0.3 + 1_500 * 15.0 + 500 * 10.0) / 1_000_000
    assert reply.cost == pytest.approx(expected) and not reply.estimated
