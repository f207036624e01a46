"""The failure sentence on a message, against the real mock: no repeated text, the server's
words quoted once and only when they add something, the key's place named as it is."""

from __future__ import annotations

import dataclasses
import re

import pytest
from plain_checks import shown_text
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot
from ui_helpers import open_window, wait_reply

from streamdesk.core.chat import Reply, ResumePolicy, Target, stream_reply
from streamdesk.core.events import Failure, FailureKind
from streamdesk.core.providers import mock_provider
from streamdesk.core.request import ChatRequest, Message, Timeouts
from streamdesk.core.wording import adds_to
from streamdesk.mock import MockServer
from streamdesk.ui.failures import (
    SET_KEY,
    describe_failure,
    failure_text,
    failure_title,
    reply_failure_title,
)


async def _failure(
    scenario: str, protocol: str = "sse", resume: ResumePolicy | None = None
) -> tuple[Failure, Reply]:
    async with MockServer(tokens_per_second=0.0, first_token_delay=0.0) as server:
        target = Target(mock_provider(server.sse_base_url, server.ws_url), "gpt-4.1", protocol)
        stall = Timeouts(first_token=5.0, stall=0.3)
        target = dataclasses.replace(target, scenario=scenario, timeouts=stall)
        reply = Reply(target)
        request = ChatRequest(target.request_model, (Message("user", "hi"),))
        events = stream_reply(reply, request, keys=None, resume=resume)
        failures = [e async for e in events if isinstance(e, Failure)]
    assert len(failures) == 1
    return failures[0], reply


def _shown(failure: Failure, reply: Reply) -> str:
    """Title and sentence as the failure box shows them."""
    title = failure_title(failure, reply.completion_tokens)
    return f"{title}: {failure_text(failure, resumable=reply.has_text)}"


def _repeats(text: str) -> list[str]:
    """Runs of three or more words said twice."""
    words = re.findall(r"[a-z]+", text.lower())
    runs = [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    return sorted({r for r in runs if runs.count(r) > 1})


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_an_error_sent_mid_stream_is_said_once(protocol: str) -> None:
    failure, reply = await _failure("error-event", protocol)
    assert failure.kind is FailureKind.SERVER_ERROR
    assert "had an error" not in failure.message  # the mock's words add nothing: not quoted
    assert failure.message.startswith("The server sent an error mid-stream (server_error")
    shown = _shown(failure, reply)
    assert shown.startswith("Server error after 5 tokens: The server sent an error mid-stream")
    assert "had an error" not in shown, shown
    assert "(server_error" in shown  # the error's type stays, for whoever reports it
    assert _repeats(shown) == [], shown
    assert shown.endswith("Press Continue to resume.")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("scenario", "protocol", "title"),
    [
        ("cut", "sse", "Connection cut"),
        ("cut", "ws", "Connection cut"),
        ("truncate", "sse", "Connection cut"),
        ("stall", "sse", "Stalled"),
        ("ws-close-1011", "ws", "WebSocket closed"),
        ("bad-json", "sse", "Bad response"),
    ],
)
async def test_a_resumed_reply_that_fails_says_one_token_count(
    scenario: str, protocol: str, title: str
) -> None:
    """The title counts the reply's tokens (5 per attempt, two resumes); the core's sentence,
    which knew only its own request's, names none."""
    failure, reply = await _failure(scenario, protocol, ResumePolicy("continue", 2))
    shown = f"{reply_failure_title(reply)}: {failure_text(failure, resumable=True)}"
    assert shown.startswith(f"{title} after 15 tokens (5 since it resumed): "), shown
    assert len(re.findall(r"\btokens?\b", shown)) == 1, shown
    assert failure_title(failure, 15) == f"{title} after 15 tokens"


@pytest.mark.asyncio
async def test_quoted_bad_data_ends_before_the_action() -> None:
    failure, reply = await _failure("bad-json")
    shown = failure_text(failure, resumable=reply.has_text)
    assert shown.endswith('“{"choices": [{"delta": {"content": "oops”. Press Continue to resume.')


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", ["sse", "ws"])
async def test_rate_limited_says_it_once_and_keeps_the_wait(protocol: str) -> None:
    failure, reply = await _failure("http-429", protocol)
    assert "Rate limit reached" not in failure.message  # the CLI prints the core's sentence
    shown = _shown(failure, reply)
    assert shown.lower().count("rate limit") == 1, shown
    assert "HTTP 429 from 127.0.0.1:" in shown and "wait 1 s" in shown
    assert "Rate limit reached" not in shown  # the server's words add nothing here
    assert _repeats(shown) == [], shown


@pytest.mark.asyncio
async def test_the_servers_words_are_quoted_when_they_add_something() -> None:
    failure, reply = await _failure("http-503")
    shown = _shown(failure, reply)
    assert shown.count("The server said:") == 1
    assert (
        'The server said: "The server is overloaded."' in shown
    )  # "overloaded" is news next to "failed"
    failure, reply = await _failure("http-500")
    assert "The server said" not in _shown(failure, reply)  # "had an error": nothing new


@pytest.mark.asyncio
async def test_a_rejected_key_points_to_settings_providers() -> None:
    failure, reply = await _failure("http-401")
    shown = _shown(failure, reply)
    assert shown.startswith("Key rejected: HTTP 401 from 127.0.0.1:")
    assert shown.endswith(SET_KEY)
    assert " ".join(SET_KEY.split()) == "Set the key in Settings ▸ Providers (Ctrl+,)."
    assert "Keys" not in shown and shown.lower().count("rejected") == 1
    assert describe_failure(failure).startswith("Key rejected: HTTP 401")


def test_words_that_only_restate_ours_add_nothing() -> None:
    assert not adds_to("Rate limit reached.", "Rate limited")
    assert not adds_to("Model not found.", "Not found: check the model")
    assert adds_to("The server is overloaded.", "Server error: the server failed")
    assert adds_to("Mock: bad request.", "Request refused: the server refused it")


@pytest.mark.asyncio
async def test_the_message_box_shows_the_composed_sentence(qtbot: QtBot) -> None:
    async with open_window(qtbot) as window:
        window.set_next_scenario("error-event")
        session = window.current_session()
        session.send("fail please")
        turn = await wait_reply(session)
        assert turn.reply.failure is not None
        shown = session.view.toPlainText()
        assert "The server sent an error mid-stream (server_error)" in shown, shown[-400:]
        assert "had an error mid-stream" not in shown


def test_a_cut_reads_as_our_sentence_with_quiet_actions(qtbot: QtBot) -> None:
    """httpx's wording is not a line of the box (a "Details" tooltip holds it); Retry and
    Continue are as small as the message's other actions, not body-size links."""
    from streamdesk.ui.transcript.view import TranscriptView

    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    reply = view.begin_assistant()
    reply.append_text("partial")
    raw = "peer closed connection without sending complete message body (incomplete chunked read)"
    message = f"The connection to h:1 broke during the reply ({raw}); the partial reply was kept."
    reply.finish(
        "partial",
        failure_title="Connection cut after 5 tokens",
        failure_text=message,
        actions=("Retry", "Continue"),
    )
    shown = view.toPlainText()
    assert "Connection cut after 5 tokens: The connection to h:1 broke during the reply;" in shown
    assert raw not in shown and "Details:" not in shown
    doc = view.document()
    body = doc.find("partial").charFormat()
    body_size = body.fontPointSize() or doc.defaultFont().pointSizeF()
    for verb in ("Retry", "Continue"):
        found = doc.find(verb, 0, QTextDocument.FindFlag.FindCaseSensitively)
        assert not found.isNull()
        size = found.charFormat().fontPointSize()
        assert 0 < size < body_size, (verb, size, body_size)
    assert shown_text(doc.find("Details").charFormat().toolTip()) == raw
