"""Provider profiles: where to stream from, how to authenticate, and what tokens cost.

A `Provider` is immutable data; `Provider.endpoint()` turns it plus a key into the
`core.request.Endpoint` a transport uses. Built-in profiles cover the default relay, the main
hosted APIs and the usual local OpenAI-compatible servers; user profiles live in settings.
Prices are USD per million tokens, as providers publish them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from streamdesk.core.errors import StreamError
from streamdesk.core.events import FailureKind
from streamdesk.core.request import AuthStyle, Endpoint, Timeouts
from streamdesk.core.signing import sign_headers

if TYPE_CHECKING:  # httpx and ssl (~100 ms) load on first use, not with the window's first paint
    import ssl

MOCK_PROVIDER_ID = "mock"
DEFAULT_PROVIDER_ID = "holysheep"
PER_MILLION = 1_000_000
# The context windows a user may give a model: below 512 tokens no chat fits, and beyond a
# hundred million (ten times the largest any vendor publishes) it is a typo.
MIN_CONTEXT_WINDOW = 512
MAX_CONTEXT_WINDOW = 100_000_000


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model and its list prices (None: unknown, so no cost is shown rather than a wrong one)."""

    id: str
    input_price: float | None = None  # USD per million prompt tokens
    output_price: float | None = None  # USD per million completion tokens
    cached_input_price: float | None = None  # prompt tokens read from the cache (None: input's)
    reasoning_price: float | None = None  # reasoning tokens, where billed apart (None: output's)
    vision: bool = True  # reads images; False only where the vendor says it does not
    # Tokens the model reads in one request, prompt and reply together (None: unknown, so
    # every request carries the whole conversation and the server says when it is too long).
    context_window: int | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """One OpenAI-compatible service. `free` marks local servers whose tokens cost nothing."""

    id: str
    name: str
    base_url: str
    ws_url: str | None
    auth: AuthStyle
    sign: bool
    needs_key: bool
    models: tuple[ModelInfo, ...]
    default_model: str
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_retries: int = 2
    free: bool = False
    # After a cut mid-reply: "continue" (send the partial reply as the assistant's prefix; the
    # server carries on from where it stopped), "restart" (the same request again) or "off".
    resume: str = "restart"
    resume_attempts: int = 2
    # How a continuation is sent: "assistant" (a trailing assistant message, which llama.cpp,
    # Ollama and the mock continue), "prefix" (DeepSeek: `prefix: true` on that message) or
    # "vllm" (`continue_final_message`).
    continuation: str = "assistant"
    # The API it speaks: "chat" (OpenAI chat completions), "responses" (OpenAI Responses),
    # "anthropic" (Messages) or "gemini" (streamGenerateContent).
    api: str = "chat"

    def model(self, model_id: str) -> ModelInfo | None:
        for info in self.models:
            if info.id == model_id:
                return info
        return None

    def reads_images(self, model_id: str) -> bool:
        """Whether `model_id` takes images. A model not listed is assumed to (a server that
        disagrees answers 400, which is a clear failure of its own)."""
        info = self.model(model_id)
        return info is None or info.vision

    def context_window(self, model_id: str) -> int | None:
        """The tokens `model_id` reads in one request, or None when the profile does not say."""
        info = self.model(model_id)
        return info.context_window if info is not None else None

    def cost(
        self,
        model_id: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
    ) -> float | None:
        """USD for one request, or None when a needed price is unknown (never a guess).

        `cached_tokens` are part of the prompt, billed at the cached price where the model has
        one; `reasoning_tokens` are part of the completion, billed apart where the model says.
        """
        if self.free:
            return 0.0
        info = self.model(model_id)
        if info is None:
            return None
        cached = min(cached_tokens, prompt_tokens) if info.cached_input_price is not None else 0
        reasoning = (
            min(reasoning_tokens, completion_tokens) if info.reasoning_price is not None else 0
        )
        total = 0.0
        for tokens, price in (
            (prompt_tokens - cached, info.input_price),
            (cached, info.cached_input_price),
            (completion_tokens - reasoning, info.output_price),
            (reasoning, info.reasoning_price),
        ):
            if tokens:
                if price is None:
                    return None
                total += tokens * price / PER_MILLION
        return total

    def endpoint(
        self, api_key: str | None, *, proxy: str | None = None, ca_bundle: str | None = None
    ) -> Endpoint:
        """The resolved endpoint for one request. `proxy`: None = environment, "" = none."""
        return Endpoint(
            base_url=self.base_url,
            ws_url=self.ws_url,
            api_key=api_key or None,
            auth=self.auth,
            sign=self.sign,
            timeouts=self.timeouts,
            max_retries=self.max_retries,
            ca_bundle=ca_bundle or None,
            proxy=proxy,
            api=self.api,
        )


# Context windows as each vendor's model pages give them: OpenAI's (gpt-4.1 family 1,047,576;
# gpt-4o 128,000), Anthropic's (200K; the 1M window is an opt-in beta), Google's input token
# limit (1,048,576; the reply has its own), DeepSeek's pricing page (128K, read as 128,000).
GPT_41_WINDOW = 1_047_576
GPT_4O_WINDOW = 128_000
CLAUDE_WINDOW = 200_000
GEMINI_25_WINDOW = 1_048_576
DEEPSEEK_WINDOW = 128_000

# List prices as published by each vendor (input / output, USD per million tokens).
_HOLYSHEEP_MODELS = (
    ModelInfo("gpt-4.1", 2.00, 8.00, context_window=GPT_41_WINDOW),
    ModelInfo("claude-sonnet-4.5", 3.00, 15.00, context_window=CLAUDE_WINDOW),
    ModelInfo("gemini-2.5-flash", 0.30, 2.50, context_window=GEMINI_25_WINDOW),
    ModelInfo("deepseek-v3.2", 0.28, 0.42, vision=False, context_window=DEEPSEEK_WINDOW),
)
_LOCAL_TIMEOUTS = Timeouts(connect=2.0, first_token=300.0, stall=120.0)  # cold model loads


def _hosted(
    provider_id: str, name: str, base_url: str, models: tuple[ModelInfo, ...], default_model: str
) -> Provider:
    return Provider(
        id=provider_id,
        name=name,
        base_url=base_url,
        ws_url=None,
        auth=AuthStyle.BEARER,
        sign=False,
        needs_key=True,
        models=models,
        default_model=default_model,
    )


def _local(
    provider_id: str, name: str, base_url: str, default_model: str = "", resume: str = "continue"
) -> Provider:
    return dataclasses.replace(
        _hosted(provider_id, name, base_url, (), default_model),
        needs_key=False,
        timeouts=_LOCAL_TIMEOUTS,
        max_retries=0,  # a local server that fails now fails the same way a second later
        free=True,
        resume=resume,
    )


BUILTIN_PROVIDERS: tuple[Provider, ...] = (
    dataclasses.replace(
        _hosted(
            "holysheep",
            "HolySheep relay",
            "https://api.holysheep.ai/v1",
            _HOLYSHEEP_MODELS,
            "gpt-4.1",
        ),
        ws_url="wss://stream.holysheep.ai/v1/ws/chat",
        sign=True,
    ),
    _hosted(
        "openai",
        "OpenAI",
        "https://api.openai.com/v1",
        (
            ModelInfo("gpt-4.1", 2.00, 8.00, 0.50, context_window=GPT_41_WINDOW),
            ModelInfo("gpt-4.1-mini", 0.40, 1.60, 0.10, context_window=GPT_41_WINDOW),
            ModelInfo("gpt-4o", 2.50, 10.00, 1.25, context_window=GPT_4O_WINDOW),
        ),
        "gpt-4.1-mini",
    ),
    # DeepSeek-V3.2 pricing (cache-miss input), the same for both model names. Its chat
    # completion prefix mode continues a trailing assistant message marked `prefix: true`.
    dataclasses.replace(
        _hosted(
            "deepseek",
            "DeepSeek",
            "https://api.deepseek.com/v1",
            (
                ModelInfo(
                    "deepseek-chat", 0.28, 0.42, vision=False, context_window=DEEPSEEK_WINDOW
                ),
                ModelInfo(
                    "deepseek-reasoner", 0.28, 0.42, vision=False, context_window=DEEPSEEK_WINDOW
                ),
            ),
            "deepseek-chat",
        ),
        resume="continue",
        continuation="prefix",
    ),
    # Native APIs. List prices (input / output / cached input, USD per million tokens).
    dataclasses.replace(
        _hosted(
            "anthropic",
            "Anthropic",
            "https://api.anthropic.com/v1",
            (
                ModelInfo("claude-sonnet-4-5", 3.00, 15.00, 0.30, context_window=CLAUDE_WINDOW),
                ModelInfo("claude-haiku-4-5", 1.00, 5.00, 0.10, context_window=CLAUDE_WINDOW),
                ModelInfo("claude-opus-4-1", 15.00, 75.00, 1.50, context_window=CLAUDE_WINDOW),
            ),
            "claude-sonnet-4-5",
        ),
        api="anthropic",
        resume="continue",  # a trailing assistant message is a prefill: Claude carries it on
    ),
    dataclasses.replace(
        _hosted(
            "gemini",
            "Google Gemini",
            "https://generativelanguage.googleapis.com/v1beta",
            (
                ModelInfo("gemini-2.5-flash", 0.30, 2.50, 0.075, context_window=GEMINI_25_WINDOW),
                ModelInfo("gemini-2.5-pro", 1.25, 10.00, 0.31, context_window=GEMINI_25_WINDOW),
            ),
            "gemini-2.5-flash",
        ),
        api="gemini",
    ),
    _local("ollama", "Ollama", "http://localhost:11434/v1", "llama3.2"),
    dataclasses.replace(_local("vllm", "vLLM", "http://localhost:8000/v1"), continuation="vllm"),
    _local("lmstudio", "LM Studio", "http://localhost:1234/v1", resume="restart"),
    _local("llamacpp", "llama.cpp server", "http://localhost:8080/v1"),
    _hosted("custom", "Custom", "", (), ""),
)
_BY_ID = {p.id: p for p in BUILTIN_PROVIDERS}


def builtin(provider_id: str) -> Provider:
    """A built-in profile by id; KeyError names the known ids."""
    try:
        return _BY_ID[provider_id]
    except KeyError:
        known = ", ".join(_BY_ID)
        raise KeyError(f"unknown provider {provider_id!r} (built in: {known})") from None


def context_window_problem(tokens: int) -> str | None:
    """Why `tokens` cannot be a model's context window (a clause), or None when it can."""
    if MIN_CONTEXT_WINDOW <= tokens <= MAX_CONTEXT_WINDOW:
        return None
    return (
        f"must be a whole number of tokens from {MIN_CONTEXT_WINDOW:,} to"
        f" {MAX_CONTEXT_WINDOW:,}, got {tokens:,}"
    )


def known_window(model_id: str, provider_id: str = "") -> int | None:
    """The context window the built-in profiles give `model_id`: `provider_id`'s own, else any
    built-in's (a window belongs to the model, whoever serves it); None when none knows it."""
    own = _BY_ID.get(provider_id)
    window = own.context_window(model_id) if own is not None else None
    if window is None:
        window = next((w for p in BUILTIN_PROVIDERS if (w := p.context_window(model_id))), None)
    return window


def mock_provider(sse_base_url: str, ws_url: str) -> Provider:
    """The in-process mock, priced like the default relay so the offline demo shows costs."""
    relay = _hosted(
        MOCK_PROVIDER_ID, "Built-in mock (offline demo)", sse_base_url, _HOLYSHEEP_MODELS, "gpt-4.1"
    )
    return dataclasses.replace(relay, ws_url=ws_url, needs_key=False, resume="continue")


def auth_parts(endpoint: Endpoint) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters that authenticate (and sign) a request to `endpoint`."""
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    key = endpoint.api_key
    if key:
        if endpoint.auth is AuthStyle.BEARER:
            headers["Authorization"] = f"Bearer {key}"
        elif endpoint.auth is AuthStyle.X_API_KEY:
            headers["X-API-Key"] = key
        else:
            params["api_key"] = key
        if endpoint.sign:
            headers.update(sign_headers(key))
    return headers, params


def ca_context(path: str) -> ssl.SSLContext:
    """The system's trust plus the PEM bundle at `path`; a bundle that cannot be used is a
    TLS_ERROR naming the file (not a traceback), since every TLS connection would fail."""
    import ssl

    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:  # missing, unreadable, or not PEM certificates
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StreamError(
            FailureKind.TLS_ERROR,
            f"The CA bundle {path} cannot be used ({why}). "
            "Fix the path or clear it in Settings ▸ Network.",
        ) from None


def http_client_options(endpoint: Endpoint) -> dict[str, Any]:
    """`httpx.AsyncClient` keyword arguments for the endpoint's proxy and CA policy.

    TLS is always verified; a CA bundle adds trust, it never disables checks.
    """
    verify: ssl.SSLContext | bool = True
    if endpoint.ca_bundle:
        verify = ca_context(endpoint.ca_bundle)
    options: dict[str, Any] = {"verify": verify}
    if endpoint.proxy is None:
        options["trust_env"] = True
    elif endpoint.proxy == "":
        options["trust_env"] = False
    else:
        options["trust_env"] = False
        options["proxy"] = endpoint.proxy
    return options
