"""The offline demo's prompt token count on a long conversation: what the first send costs the
window's event loop (the in-process mock counts the whole prompt on it).

A conversation of `--messages` messages (~2 MB at 1,000: user questions and ~4 KB Markdown
replies from the mock's own library) is counted three ways in the same run:

- old, first send: the mock's former count — every message cut into tokens (`tokenize`), keyed
  by a BLAKE2b digest in a cache that is cold on the conversation's first send;
- old, later sends: the same with the cache warm (only the digests are computed);
- now: `count_tokens`, an estimate from the length (one token per 4 characters).

Then `plan_chat` on the whole request, as the server runs it on a send. Figures are the median
of `--repeat` runs, in milliseconds.

    .venv/bin/python benchmarks/mock_prompt_tokens.py [--messages 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable

from streamdesk.mock.chat import Defaults, plan_chat
from streamdesk.mock.replies import count_tokens, reply_for, tokenize

REPLY_TOKENS = 1300  # ~4 KB of Markdown per assistant message
QUESTIONS = (
    "Explain server-sent events",
    "SSE vs WebSocket?",
    "Show me a Python example",
    "asyncio with a timeout",
    "Write a poem",
    "JSON over HTTP basics",
    "How do I bake bread?",
)


def conversation(messages: int) -> list[dict[str, str]]:
    """Alternating questions and replies; every message text differs (a count keyed by text
    would otherwise count each one once)."""
    out: list[dict[str, str]] = []
    for k in range(messages // 2):
        prompt = f"{QUESTIONS[k % len(QUESTIONS)]} (question {k})"
        reply = f"Answer {k}.\n\n" + "".join(reply_for(prompt, REPLY_TOKENS))
        out.extend(({"role": "user", "content": prompt}, {"role": "assistant", "content": reply}))
    return out


def old_count(cache: dict[bytes, int]) -> Callable[[str], int]:
    """The former `count_tokens`: tokenize texts of 256+ characters once, keyed by digest."""

    def count(text: str) -> int:
        if len(text) < 256:
            return len(tokenize(text))
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if key not in cache:
            cache[key] = len(tokenize(text))
        return cache[key]

    return count


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    messages = conversation(args.messages)
    texts = [m["content"] for m in messages]
    size = sum(len(t.encode()) for t in texts)
    print(f"{len(messages)} messages, {size / 1e6:.2f} MB")

    old_cold = median_ms(lambda: sum(map(old_count({}), texts)), args.repeat)
    warm: dict[bytes, int] = {}
    sum(map(old_count(warm), texts))
    old_warm = median_ms(lambda: sum(map(old_count(warm), texts)), args.repeat)
    new = median_ms(lambda: sum(map(count_tokens, texts)), args.repeat)
    print(f"old, first send (tokenize, cold cache): {old_cold:9.3f} ms")
    print(f"old, later sends (digests, warm cache): {old_warm:9.3f} ms")
    print(f"now (length estimate):                  {new:9.3f} ms")
    print(f"first send: {old_cold / new:,.0f}x faster; later sends: {old_warm / new:,.0f}x faster")

    exact = sum(len(tokenize(t)) for t in texts)
    estimate = sum(map(count_tokens, texts))
    print(f"estimate {estimate:,} tokens against {exact:,} counted ({estimate / exact:.2f}x)")

    request = {"model": "gpt-4.1", "messages": [*messages, {"role": "user", "content": "next?"}]}
    defaults = Defaults(tokens_per_second=0, first_token_delay=0, reply_tokens=None)
    plan = median_ms(lambda: plan_chat(request, {}, None, defaults), args.repeat)
    print(f"plan_chat for the next send, whole:     {plan:9.3f} ms")


if __name__ == "__main__":
    main()
