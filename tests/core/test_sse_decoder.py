"""The SSE decoder follows the WHATWG parsing rules, whatever the chunking."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamdesk.core.errors import StreamError
from streamdesk.core.events import FailureKind
from streamdesk.core.sse import MAX_EVENT_BYTES, ServerSentEvent, SSEDecoder


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [sse for chunk in chunks for sse in decoder.feed(chunk)]
    return events + decoder.close()


def datas(*chunks: bytes) -> list[str]:
    return [sse.data for sse in decode(*chunks)]


def reference(stream: bytes) -> list[ServerSentEvent]:
    """The spec's algorithm, written plainly over the whole stream at once."""
    text = stream.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = re.split("\r\n|\r|\n", text)[:-1]  # the last piece is unterminated: discarded
    events: list[ServerSentEvent] = []
    data: list[str] = []
    event, last_id, retry = "", "", None
    for line in lines:
        if not line:
            if data:
                joined = "\n".join(data)
                events.append(ServerSentEvent(joined, event or "message", last_id or None, retry))
            data, event, retry = [], "", None
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if line.startswith(":"):
            pass
        elif name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\x00" not in value:
            last_id = value
        elif name == "retry" and re.fullmatch("[0-9]+", value):
            retry = int(value)
    return events


# --- any chunking gives the same events --------------------------------------------------------

_VALUE_CHARS = st.sampled_from(
    ["a", "Z", "0", "7", ":", " ", "{", '"', "\x00", "é", "日", "🙂", "\u2028", "\x85", "\ufeff"]
)
_LINE = st.one_of(
    st.just(""),  # blank line: dispatch
    st.tuples(
        st.sampled_from(["data", "data", "data", "event", "id", "retry", "", "other", ":"]),
        st.sampled_from([": ", ":", "", ":  "]),
        st.text(_VALUE_CHARS, max_size=12),
    ).map("".join),
)
_EOL = st.sampled_from(["\n", "\n", "\r\n", "\r"])


@st.composite
def event_streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_LINE, _EOL), max_size=25))
    body = "".join(line + eol for line, eol in lines).encode()
    if draw(st.booleans()):  # an unterminated tail
        body += draw(st.text(_VALUE_CHARS, max_size=5)).encode()
    if draw(st.integers(0, 9)) == 0:  # invalid UTF-8 somewhere
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from([b"\xff", b"\xe6\x97", b"\xc3"])) + body[at:]
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + body


@settings(max_examples=300, deadline=None)
@given(stream=event_streams(), data=st.data())
def test_any_chunking_gives_the_events_of_the_spec(stream: bytes, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    expected = reference(stream)
    assert decode(stream) == expected
    assert decode(*chunks) == expected
    assert decode(*(stream[i : i + 1] for i in range(len(stream)))) == expected


@settings(max_examples=100, deadline=None)
@given(payloads=st.lists(st.text(_VALUE_CHARS, min_size=1, max_size=30), min_size=1, max_size=30))
def test_fast_path_matches_the_spec_in_every_chunking(payloads: list[str]) -> None:
    """The common shape (LF, `data: ` lines) takes the fast path; it must agree too."""
    stream = "".join(f"data: {p}\n\n" for p in payloads).encode()
    expected = reference(stream)
    for size in (1, 2, 3, 7, 64, len(stream)):
        assert decode(*(stream[i : i + size] for i in range(0, len(stream), size))) == expected


# --- line ends ---------------------------------------------------------------------------------


def test_lf_crlf_and_cr_line_ends() -> None:
    assert datas(b"data: a\n\ndata: b\n\n") == ["a", "b"]
    assert datas(b"data: a\r\n\r\ndata: b\r\n\r\n") == ["a", "b"]
    assert datas(b"data: a\r\rdata: b\r\r") == ["a", "b"]
    assert datas(b"data: a\ndata: b\r\n\r") == ["a\nb"]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    # If the LF after the CR counted as a blank line, "a" and "b" would be two events.
    assert datas(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == ["a\nb"]


def test_cr_at_chunk_end_then_blank_line_dispatches() -> None:
    assert datas(b"data: a\r", b"\r") == ["a"]


# --- BOM, comments, fields ---------------------------------------------------------------------


def test_leading_bom_is_stripped_once() -> None:
    assert datas(b"\xef\xbb\xbfdata: x\n\n") == ["x"]
    # A second BOM is part of the first field's name ("\ufeffdata"), which is unknown: ignored.
    assert datas(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n") == ["y"]


def test_bom_split_across_chunks() -> None:
    assert datas(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == ["x"]


def test_bom_later_in_the_stream_is_kept() -> None:
    assert datas(b"data: x\n\ndata: \xef\xbb\xbfy\n\n") == ["x", "\ufeffy"]


def test_comments_are_ignored() -> None:
    assert datas(b": keep-alive\n\ndata: x\n\n") == ["x"]
    assert datas(b"data: a\n:comment\ndata: b\n\n") == ["a\nb"]


def test_multi_line_data_is_joined_with_lf() -> None:
    assert datas(b"data: line one\ndata:line two\ndata\n\n") == ["line one\nline two\n"]


def test_only_one_space_after_the_colon_is_removed() -> None:
    assert datas(b"data:  two\n\ndata:[DONE]\n\ndata: a:b\n\n") == [" two", "[DONE]", "a:b"]


def test_data_without_colon_or_value_dispatches_empty_data() -> None:
    # The spec's data buffer holds "\n" after a bare `data` line, so the event is dispatched.
    assert datas(b"data\n\n") == [""]
    assert datas(b"data:\n\n") == [""]


def test_event_without_data_is_not_dispatched() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: ping\n\nid: 7\n\nretry: 100\n\n: hi\n\n\n\n") == []
    assert decoder.last_event_id == "7"
    assert decoder.retry == 100
    assert decoder.feed(b"data: x\n\n") == [ServerSentEvent("x", "message", "7", None)]


def test_event_id_and_retry_fields() -> None:
    decoder = SSEDecoder()
    first = decoder.feed(b"event: update\nid: 42\nretry: 1500\ndata: x\n\n")
    assert first == [ServerSentEvent("x", "update", "42", 1500)]
    # The event type and retry belong to one event; the last event ID persists.
    assert decoder.feed(b"data: y\n\n") == [ServerSentEvent("y", "message", "42", None)]
    assert decoder.last_event_id == "42"
    assert decoder.retry == 1500


def test_id_with_nul_is_ignored_and_empty_id_resets() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid\ndata: c\n\n")
    assert [sse.id for sse in events] == ["1", "1", None]


def test_retry_must_be_ascii_digits() -> None:
    decoder = SSEDecoder()
    for bad in ("10a", "-1", " 5", "1.5", "\u0661\u0662", ""):
        decoder.feed(f"retry: {bad}\ndata: x\n\n".encode())
    assert decoder.retry is None
    assert decode(b"retry: 0300\ndata: x\n\n")[0].retry == 300


def test_unknown_fields_are_ignored() -> None:
    assert datas(b"foo: bar\ndata: x\nDATA: y\n\n") == ["x"]


# --- text --------------------------------------------------------------------------------------


def test_unicode_line_separators_inside_json_do_not_split() -> None:
    payload = '{"content":"a\u2028b\x85c\x0bd\x0ce\x1cf\u2029g"}'
    stream = f"data: {payload}\n\n".encode()
    assert datas(stream) == [payload]
    assert datas(*(stream[i : i + 1] for i in range(len(stream)))) == [payload]


def test_multibyte_character_split_across_chunks() -> None:
    stream = "data: 日本🙂é\n\n".encode()
    for at in range(len(stream)):
        assert datas(stream[:at], stream[at:]) == ["日本🙂é"]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert datas(b"data: a\xffb\n\n") == ["a\ufffdb"]
    assert datas(b"data: \xe6\x97\n\n") == ["\ufffd"]
    # The same after a first event, when the fast path takes the run of events.
    stream = b"data: a\xffb\n\ndata: \xe6\x97\n\ndata: \xc3\xa9\n\n"
    assert datas(b"data: x\n\n", stream) == ["x", "a\ufffdb", "\ufffd", "\u00e9"]


# --- end of stream -----------------------------------------------------------------------------


def test_unterminated_event_is_discarded_at_close_and_counted_as_pending() -> None:
    decoder = SSEDecoder()
    assert [sse.data for sse in decoder.feed(b"data: a\n\ndata: b\n")] == ["a"]
    assert decoder.pending_bytes > 0
    assert decoder.close() == []
    assert decoder.pending_bytes > 0  # still visible: the transport reports a cut stream


def test_pending_bytes_is_zero_at_an_event_boundary() -> None:
    for stream in (b"data: a\n\n", b"data: a\r\n\r\n", b"data: a\r\r", b"event: e\ndata: a\n\n"):
        decoder = SSEDecoder()
        assert decoder.pending_bytes == 0
        for i in range(len(stream)):
            decoder.feed(stream[i : i + 1])
            if i < len(stream) - 1 and stream[i + 1 :] not in (b"\n",):
                assert decoder.pending_bytes > 0, (stream, i)
        assert decoder.pending_bytes == 0, stream


def test_fast_and_full_paths_alternate_without_losing_state() -> None:
    stream = [b"data: a\n\n", b"data: b\r\n\r\n", b"data: c\n", b"\n", b"data: d\ndata: e\n\n"]
    stream += [b"data: f\n\n" * 3, b"id: 9\r\ndata: g\r\n\r\n", b"data: h\n\n"]
    events = decode(*stream)
    assert [sse.data for sse in events] == ["a", "b", "c", "d\ne", "f", "f", "f", "g", "h"]
    assert [sse.id for sse in events][-2:] == ["9", "9"]


def test_empty_chunks_are_harmless() -> None:
    assert datas(b"", b"data: a", b"", b"\n", b"", b"\n", b"") == ["a"]


# --- bounded memory ----------------------------------------------------------------------------

MIB = 1024 * 1024
CHUNK = 64 * 1024


def feed_until_failure(decoder: SSEDecoder, chunks: Iterable[bytes]) -> StreamError:
    """Feed until the decoder refuses; the buffered bytes never pass the limit plus one chunk."""
    for chunk in chunks:
        try:
            decoder.feed(chunk)
        except StreamError as error:
            return error
        assert decoder.pending_bytes <= decoder.max_event_bytes + len(chunk)
    raise AssertionError("the decoder took the whole stream")


def endless_line(head: bytes, total: int, size: int = CHUNK) -> Iterator[bytes]:
    """`head`, then `data: xxxx…` with no line end, `total` bytes in all, in `size` chunks."""
    yield head + b"data: "
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("head", [b"", b": comment\n", b"event: e\r\n", b"\xef\xbb\xbf"])
def test_an_endless_data_line_fails_as_message_too_big(head: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.max_event_bytes == MAX_EVENT_BYTES == 16 * MIB
    error = feed_until_failure(decoder, endless_line(head, 20_000_000))
    assert error.kind is FailureKind.MESSAGE_TOO_BIG
    assert not error.kind.retryable
    assert error.message.startswith("The server sent one event larger than 16 MiB; ")
    assert decoder.pending_bytes == 0  # what the event held is dropped at once


def test_every_chunk_after_the_failure_fails_the_same_way() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    first = feed_until_failure(decoder, [b"data: " + b"x" * 200])
    with pytest.raises(StreamError) as again:
        decoder.feed(b"\n\ndata: y\n\n")
    assert again.value is first


@pytest.mark.parametrize(
    "stream",
    [
        b"data: " + b"x" * 200 + b"\n\n",  # the common shape, whole in one chunk
        b"data: a\n\ndata: " + b"x" * 200 + b"\n\ndata: b\n\n",  # inside a run of events
        b"data: " + b"x" * 100 + b"\ndata: " + b"y" * 100 + b"\n\n",  # over several lines
        b"id: 1\r\ndata: " + b"x" * 200 + b"\r\n\r\n",  # the line-by-line rules
    ],
)
def test_an_event_over_the_limit_fails_in_any_chunking(stream: bytes) -> None:
    for size in (1, 7, 64, len(stream)):
        decoder = SSEDecoder(max_event_bytes=150)
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert feed_until_failure(decoder, chunks).kind is FailureKind.MESSAGE_TOO_BIG
        assert "larger than 150 bytes" in feed_until_failure(SSEDecoder(150), [stream]).message


def test_events_under_the_limit_pass_and_the_limit_is_per_event() -> None:
    stream = b"".join(b"data: " + bytes([65 + i]) * 90 + b"\n\n" for i in range(20))
    for size in (1, 64, len(stream)):
        decoder = SSEDecoder(max_event_bytes=100)
        events = [
            sse for i in range(0, len(stream), size) for sse in decoder.feed(stream[i : i + size])
        ]
        assert [len(sse.data) for sse in events] == [90] * 20


# --- linear on every path ----------------------------------------------------------------------


def cpu_seconds(chunks: list[bytes]) -> float:
    """Best CPU time of three to feed `chunks` to a new decoder."""
    best = float("inf")
    for _ in range(3):
        decoder = SSEDecoder()
        start = time.process_time()
        for chunk in chunks:
            decoder.feed(chunk)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("head", [b": comment\n", b"id: 1\r\n", b"data: a\r\ndata: b\r"])
def test_a_long_line_in_small_chunks_costs_linear_time(head: bytes) -> None:
    """Four times the bytes cost about four times the time (a quadratic decoder: sixteen).

    `head` arrives in the first chunk with the start of the line, so the line-by-line rules
    parse it and the rest of the event goes through them too.
    """
    small, large = ([head + b"data: "] + [b"x" * 8] * n + [b"\n\n"] for n in (32_000, 128_000))
    ratio = cpu_seconds(large) / cpu_seconds(small)
    assert ratio < 8, ratio
