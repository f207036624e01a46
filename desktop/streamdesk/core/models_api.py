"""The provider's models API: `GET {base}/models`, the ids a key may use, for the model picker.

A single request and response, so it needs none of `core.stream`'s retries or token timers; its
failures are the same `StreamError` kinds a chat request gets, so the UI shows them the same way.
"""

from __future__ import annotations

from streamdesk.core.errors import StreamError
from streamdesk.core.events import FailureKind
from streamdesk.core.providers import auth_parts, http_client_options
from streamdesk.core.request import Endpoint


async def fetch_models(endpoint: Endpoint) -> list[str]:
    """Model ids from `GET {base}/models`, sorted: OpenAI's and Anthropic's shape
    `{"data": [{"id": …}]}`, or Gemini's `{"models": [{"name": "models/…"}]}`."""
    import httpx  # loads when the list is asked for, not with the settings window

    from streamdesk.core.transports._classify import host_of, http_error, network_error

    if not endpoint.base_url:
        raise StreamError(
            FailureKind.BAD_REQUEST, "This provider has no base URL yet; enter one in Settings."
        )
    host = host_of(endpoint.base_url)
    headers, params = auth_parts(endpoint)
    if endpoint.api in ("anthropic", "gemini"):  # their own key headers, no Bearer
        from streamdesk.core.dialects import dialect

        key = endpoint.api_key
        headers, params = (dialect(endpoint.api).auth_headers(key) if key else {}), {}
    t = endpoint.timeouts
    timeout = httpx.Timeout(connect=t.connect, read=t.stall, write=t.write, pool=t.connect)
    try:
        async with httpx.AsyncClient(timeout=timeout, **http_client_options(endpoint)) as client:
            response = await client.get(endpoint.models_url, headers=headers, params=params)
    except httpx.TransportError as exc:
        proxy = endpoint.proxy or None
        raise network_error(exc, endpoint.models_url, proxy=proxy) from None
    if response.status_code // 100 != 2:
        status, url = response.status_code, endpoint.models_url
        raise http_error(status, response.headers, response.content, url) from None
    try:
        listing = response.json()
        if endpoint.api == "gemini":
            names = [str(item["name"]) for item in listing["models"]]
            ids = sorted({name.removeprefix("models/") for name in names})
        else:
            ids = sorted({str(item["id"]) for item in listing["data"]})
    except (ValueError, KeyError, TypeError) as exc:
        snippet = response.text[:120]
        raise StreamError(
            FailureKind.BAD_RESPONSE,
            f"{host} answered /models with something that is not a model list ({snippet!r}).",
            status=response.status_code,
        ) from exc
    return ids
