"""Streamdesk's built-in mock LLM server: one loopback port, SSE in four dialects and WebSocket.

Endpoints (all on the same port):

- ``POST /v1/chat/completions``: OpenAI chat completions; with ``"stream": true`` the reply is a
  server-sent event stream of ``chat.completion.chunk`` objects, a last chunk with
  ``finish_reason``, a usage chunk (``choices: []``) when ``stream_options.include_usage`` is true,
  then ``data: [DONE]``. Without ``stream`` the whole reply comes as one JSON object.
- ``POST /v1/messages``: Anthropic Messages (``max_tokens`` required; top-level ``system``; a
  trailing assistant message is a prefill). Named events ``message_start``,
  ``content_block_start/delta/stop`` (a ``thinking`` block with ``thinking_delta`` and
  ``signature_delta`` first when reasoning), ``ping``, ``message_delta`` (stop_reason
  end_turn/max_tokens, usage.output_tokens), ``message_stop``; errors as ``event: error``.
- ``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``: Gemini; ``data:`` lines of whole
  GenerateContentResponse objects, thought parts (``"thought": true``) first when reasoning, the
  last with ``finishReason`` and ``usageMetadata``; errors as Google's error JSON.
  ``:generateContent`` answers in one object.
- ``POST /v1/responses``: OpenAI Responses; events named as their ``type``, numbered, from
  ``response.created`` to ``response.completed`` (``response.incomplete`` when capped) with usage;
  reasoning as ``response.reasoning_summary_text.delta``; a mid-stream failure is ``error`` then
  ``response.failed``.
- ``GET /v1/models``: gpt-4.1, claude-sonnet-4.5, gemini-2.5-flash, deepseek-v3.2,
  deepseek-reasoner.
- ``GET /v1/ws/chat`` with ``Upgrade: websocket``: send
  ``{"type": "chat.completion", "model", "messages", "stream": true, "max_tokens"}``; receive
  ``{"type": "reasoning.delta", "delta"}`` (when reasoning), ``{"type": "content.delta", "delta"}``
  frames, ``{"type": "usage", "usage": {...}}``, ``{"type": "completion.done", "finish_reason"}``,
  or ``{"type": "error", "error": {"message", "type", "code"}}`` where ``code`` is the HTTP status
  the failure would have had (``retry_after`` in seconds for 429/503). Requests on one connection
  are answered one after another.

Every dialect carries the same reply, pacing and fault scenarios, each fault in its own shape
(a dialect's stream without its terminal event is a cut or a truncation).

Tools (``mock.tools``): a request that offers tools (chat ``tools``, Anthropic ``tools`` with
``input_schema``, Gemini ``functionDeclarations``, Responses function ``tools``) whose last user
prompt names one as a word gets a streamed call of each named tool instead of text, arguments
built from the tool's JSON Schema (numbers and quoted text from the prompt) in fragments:
chat ``delta.tool_calls`` with ``finish_reason: "tool_calls"``, Anthropic ``tool_use`` blocks
with ``input_json_delta`` and ``stop_reason: "tool_use"``, Gemini ``functionCall`` parts (whole
``args``, no id), Responses ``function_call`` items with
``response.function_call_arguments.delta``/``.done``, and WebSocket
``{"type": "tool_call.delta", "index", "id", "name", "arguments"}`` frames (id and name in a
call's first frame) before ``completion.done`` with ``"tool_calls"``. A conversation that ends
with tool results gets text quoting each result once ("The add tool returned: 5."), an error
result as a failure, a denied one as not run.

Replies are deterministic Markdown (same last user message, same reply: ``reply_for(prompt)``),
300-600 tokens by default. ``max_tokens`` (or ``max_completion_tokens``) caps the reply
(``finish_reason: "length"``); reasoning tokens, streamed first when the last user message is
``/reasoning`` or the model name contains "reasoner" or "r1", are not counted against it.
The native dialects cap with ``max_tokens`` / ``maxOutputTokens`` / ``max_output_tokens`` and
also reason when their own option asks (Anthropic ``thinking``, Gemini
``thinkingConfig.includeThoughts``, Responses ``reasoning.summary``).

Per-request options (request headers; WebSocket: headers of the upgrade request):
``X-Mock-Tokens-Per-Second`` (0 or ``inf``: as fast as possible), ``X-Mock-First-Token-Delay``
(seconds), ``X-Mock-Tokens`` (exact reply length, up to 100,000), ``X-Mock-Scenario``,
``X-Mock-Flaky-Id``.

Fault scenarios: ``X-Mock-Scenario: NAME``, or on WebSocket a ``"scenario": NAME`` field in the
``chat.completion`` message, or a model name ending in ``#NAME`` (``gpt-4.1#http-429``; the
suffix is stripped when the model is echoed). An explicit header or field wins over the suffix.
``SCENARIOS`` lists every name with one line on what it does. ``http-*`` and ``flaky-*`` set on
a WebSocket upgrade request reject the handshake with that status; chosen per message, they give
an error frame instead.

Auth: ``MockServer(api_key="K")`` requires ``Authorization: Bearer K``, ``X-API-Key: K`` or
``X-Goog-Api-Key: K``
(WebSocket also ``?api_key=K``), else 401; ``None`` accepts anything. ``X-Timestamp`` and
``X-Signature`` are accepted and recorded like every header in ``MockServer.requests``.

This package imports nothing from ``streamdesk.core``: it is the other side of the wire.
"""

from streamdesk.mock.replies import reasoning_for, reply_for
from streamdesk.mock.scenarios import SCENARIOS
from streamdesk.mock.server import MockServer, RecordedRequest, run_mock_in_thread

__all__ = [
    "SCENARIOS",
    "MockServer",
    "RecordedRequest",
    "reasoning_for",
    "reply_for",
    "run_mock_in_thread",
]
