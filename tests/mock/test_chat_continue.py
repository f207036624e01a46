"""A trailing assistant message is a prefix: the mock streams the rest of the reply after it."""

from __future__ import annotations

from streamdesk.mock.chat import Defaults, plan_chat
from streamdesk.mock.replies import Take, reply_for

DEFAULTS = Defaults(tokens_per_second=0, first_token_delay=0, reply_tokens=40)


def _plan(*messages: dict[str, str], **body: object) -> list[str]:
    chat = plan_chat({"model": "m", "messages": list(messages), **body}, {}, None, DEFAULTS)
    return chat.content


def test_a_partial_prefix_is_continued_where_it_stopped() -> None:
    full = "".join(reply_for("q", 40))
    for cut in (0, 1, 7, len(full) // 2, len(full) - 1):
        rest = _plan({"role": "user", "content": "q"}, {"role": "assistant", "content": full[:cut]})
        assert full[:cut] + "".join(rest) == full


def test_a_whole_reply_as_prefix_leaves_nothing_and_max_tokens_counts_new_tokens() -> None:
    full = "".join(reply_for("q", 40))
    assert _plan({"role": "user", "content": "q"}, {"role": "assistant", "content": full}) == []
    rest = _plan(
        {"role": "user", "content": "q"}, {"role": "assistant", "content": full[:5]}, max_tokens=3
    )
    assert len(rest) == 3 and full.startswith(full[:5] + "".join(rest))


def test_an_earlier_assistant_message_is_not_a_prefix() -> None:
    msgs = ({"role": "assistant", "content": "hello"}, {"role": "user", "content": "q"})
    assert _plan(*msgs) == reply_for("q", 40)


def test_a_prefix_continues_the_take_it_was_cut_from_whichever_take_was_asked() -> None:
    prompt = "Explain server-sent events"
    free = Defaults(tokens_per_second=0, first_token_delay=0, reply_tokens=None)
    second = "".join(reply_for(prompt, variant=1))
    for asked in (0, 1, 2):
        user = {"role": "user", "content": prompt}
        body = {"model": "m", "messages": [user, {"role": "assistant", "content": second[:60]}]}
        chat = plan_chat(body, {}, None, free, take=Take(asked))
        assert second[:60] + "".join(chat.content) == second and chat.take.variant % 2 == 1
    foreign = {"role": "assistant", "content": "Not one of the mock's words"}
    body = {"model": "m", "messages": [{"role": "user", "content": prompt}, foreign]}
    assert plan_chat(body, {}, None, free, take=Take(1)).take == Take(1), "the asked take"
