"""The conversation engine: a conversation's target, its turns and rules, the reply being
streamed (its one token count, cost, figures and end state), and the one place that opens a
transport. The window, the CLI and every tool use it; it never imports Qt."""

from streamdesk.core.chat.conversation import Conversation, Send, Turn, fill_turn, turns_of
from streamdesk.core.chat.engine import (
    ChatEvent,
    Joiner,
    ResumePolicy,
    Resuming,
    collect,
    missing_key_failure,
    prewarm,
    stream_reply,
)
from streamdesk.core.chat.record import ConversationRecord, ReplyRecord
from streamdesk.core.chat.reply import Attempt, Earlier, Reply, ReplyFigures, ReplyStatus
from streamdesk.core.chat.target import (
    KeySource,
    MissingKey,
    Network,
    StoredTarget,
    Target,
    at_base_url,
    base_url_provider,
    only_server_model,
    resolve_endpoint,
    unconfigured,
    websocket_url_for,
    with_api,
)

__all__ = [
    "Attempt",
    "ChatEvent",
    "Conversation",
    "ConversationRecord",
    "Earlier",
    "Joiner",
    "KeySource",
    "MissingKey",
    "Network",
    "Reply",
    "ReplyFigures",
    "ReplyRecord",
    "ReplyStatus",
    "ResumePolicy",
    "Resuming",
    "Send",
    "StoredTarget",
    "Target",
    "Turn",
    "at_base_url",
    "base_url_provider",
    "collect",
    "fill_turn",
    "missing_key_failure",
    "only_server_model",
    "prewarm",
    "resolve_endpoint",
    "stream_reply",
    "turns_of",
    "unconfigured",
    "websocket_url_for",
    "with_api",
]
