"""A failure message never quotes a key, whatever the exception below it said.

The key here has no secret shape: only the registry of keys read (`remember_secret`) can hide
it. Sent with a trailing CR (what a key file with CRLF ends gives when read around the key
store), httpx and websockets refuse the header and quote it in their exception.
"""

from __future__ import annotations

import secrets

import pytest

from streamdesk.core.events import Failure, Retrying
from streamdesk.core.redact import REDACTED, redact_known, remember_secret
from streamdesk.core.request import AuthStyle, ChatRequest, Endpoint, Message, Timeouts
from streamdesk.core.stream import make_transport, stream_chat
from streamdesk.mock import MockServer

QUICK = Timeouts(connect=2.0, first_token=5.0, stall=5.0)
REQUEST = ChatRequest("gpt-4.1", (Message("user", "hi"),))


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
@pytest.mark.parametrize("auth", [AuthStyle.BEARER, AuthStyle.X_API_KEY])
async def test_an_illegal_header_value_is_reported_without_the_key(
    protocol: str, auth: AuthStyle
) -> None:
    key = "k" + secrets.token_hex(16)
    remember_secret(key + "\r")
    async with MockServer(tokens_per_second=0, first_token_delay=0) as mock:
        endpoint = Endpoint(
            mock.sse_base_url, mock.ws_url, api_key=key + "\r", auth=auth, sign=True,
            timeouts=QUICK, proxy="",
        )  # fmt: skip
        transport = make_transport(protocol, endpoint)
        try:
            events = [
                e async for e in stream_chat(transport, REQUEST, timeouts=QUICK, max_retries=1)
            ]
        finally:
            await transport.aclose()
    failure = events[-1]
    assert isinstance(failure, Failure)
    texts = [failure.message] + [e.failure.message for e in events if isinstance(e, Retrying)]
    assert all(key not in text for text in texts), texts
    assert REDACTED in failure.message


def test_redact_known_hides_registered_keys_and_secret_shapes() -> None:
    key = "plain" + secrets.token_hex(8)
    remember_secret(f" {key}\r\n")  # registered as read and as used
    text = (
        f"Illegal header value b'Bearer {key}\\r' x-signature: abcdef0123456789 "
        f"ws://h/ws?api_key={key}&x=1 proxy http://bob:hunter2@proxy:3128 and {key} "
        "invalid X-Signature header: 0123456789abcdef"
    )
    clean = redact_known(text)
    assert key not in clean and "abcdef0123456789" not in clean and "hunter2" not in clean
    assert "http://bob:[redacted]@proxy:3128" in clean
    assert "x-signature: [redacted]" in clean
    assert "invalid X-Signature header: [redacted]" in clean
