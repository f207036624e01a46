# ruff: noqa: E501 - a Markdown table row cannot be wrapped
"""The offline demo's reply library: a few realistic Markdown answers per topic.

Each `Topic` lists the words that point to it (with weights), the word groups a prompt must
touch for it to apply at all, its takes (Regenerate walks through them) and the reasoning shown
before a take when thinking is on. `{subject}` (`{Subject}`: capitalized) stands for the
prompt's subject.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def weights(spec: str) -> dict[str, int]:
    """ "stream:3, what can you do:6" as {"stream": 3, "what can you do": 6}."""
    pairs = (item.rsplit(":", 1) for item in spec.split(", "))
    return {word: int(weight) for word, weight in pairs}


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    keywords: dict[str, int]
    takes: tuple[str, ...]
    reasoning: str
    needs: tuple[frozenset[str], ...] = field(default=())  # each group: at least one word


STREAMING = Topic(
    name="streaming",
    keywords=weights(
        "stream:3, streaming:4, streamed:3, streams:3, token:2, tokens:2, incremental:2, "
        "incrementally:2, chunk:2, chunks:2, ttft:3, backpressure:2, latency:1, realtime:1, "
        "live:1, httpx:4, aiter_lines:4"
    ),
    reasoning=(
        "The question is about streaming replies. The useful part is what happens between the "
        "model and the screen: why a reply is sent piece by piece, how the pieces travel, and "
        "what a client must get right — decoding, rendering, cuts. A short code sample that "
        "reads a stream would make it concrete, then a few numbers worth measuring."
    ),
    takes=(
        """## 🚀 Streaming, token by token

Streaming shows a reply while the model writes it. Bytes split anywhere — even inside é or \
中 — so a client decodes the stream as a whole, never chunk by chunk.

### Why stream at all
- **Time to first token** drops from the whole generation time to a fraction of a second.
- **The reader starts reading** while the rest is generated, so a long answer feels fast.
- **You can stop early** — cancelling the request ends the generation and its cost.

### How it travels
Most APIs use \
[server-sent events](https://html.spec.whatwg.org/multipage/server-sent-events.html): one HTTP \
response that stays open, with a `data:` line per chunk. A client in Python:

```python
import json

import httpx

with httpx.stream("POST", url, json=body, timeout=None) as response:
    for line in response.iter_lines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line.removeprefix("data: "))
        delta = chunk["choices"][0]["delta"].get("content") or ""
        print(delta, end="", flush=True)
```

### What a good client gets right
1. **Decode incrementally.** Use an incremental UTF-8 decoder across network reads.
2. **Render incrementally.** Append to what is shown; re-rendering the whole reply per token \
gets slower with every token.
3. **Survive a cut.** Keep the partial text, and offer to continue from it.
4. **Measure.** Time to first token and tokens per second tell you where the wait comes from.
""",
        """## Why replies stream

A language model produces its answer one token at a time, so there is no reason to make you \
wait for the last token before showing the first. Streaming passes each piece on as soon as it \
exists — the café-menu version: the kitchen sends dishes out as they are ready (中文里叫 \
“流式输出”) 🍜.

### The life of a streamed reply
1. The client sends the request with `"stream": true`.
2. The server answers `200 OK` with `Content-Type: text/event-stream` and keeps the \
connection open.
3. Each generated chunk goes out as an event: `data: {"choices": [{"delta": {"content": "Hi"}}]}`.
4. A final event carries the finish reason and, if asked for, the token usage.
5. The stream ends with `data: [DONE]` (OpenAI-style APIs) or a closing event.

### The numbers that matter

| Figure | What it measures | Typical cause when it is bad |
|---|---|---|
| Time to first token | Queueing + prompt processing | A long prompt, a busy server |
| Tokens per second | Generation speed | Model size, load, the network |
| Total time | Both together | Usually a very long reply |

### Things that go wrong
- **A proxy buffers the response** and delivers everything at the end. Nginx needs \
`proxy_buffering off` (or an `X-Accel-Buffering: no` header) for event streams.
- **The connection is cut** mid-reply. A good client keeps the partial text and resumes.
- **The UI re-renders everything per token** and slows down as the reply grows.

> Streaming changes *when* you see the answer, not *what* it says.
""",
    ),
)

SSE = Topic(
    name="sse",
    keywords=weights(
        "sse:6, server-sent:6, eventsource:6, event-stream:6, events:2, event:1, server:1, "
        "sent:1, push:1, last-event-id:4"
    ),
    reasoning=(
        "They want server-sent events explained. I should start from what SSE is — one long "
        "HTTP response carrying text events — then show the wire format, because it is small "
        "enough to read in full. The browser's EventSource is worth a short example, and the "
        "practical notes: reconnection with Last-Event-ID, and why LLM APIs use POST with fetch "
        "or an HTTP client instead of EventSource."
    ),
    takes=(
        """## Server-sent events (SSE)

**Server-sent events** are a simple way for a server to push updates to a client over plain \
HTTP. The client makes one request; the server answers with `Content-Type: text/event-stream` \
and keeps writing to the response for as long as it has something to say.

### The wire format
Each event is a few `field: value` lines followed by a blank line:

```text
event: update
id: 42
data: {"price": 101.5}

: lines starting with a colon are comments (handy as keep-alives)

data: a message can span
data: several data lines

```

| Field | Meaning |
|---|---|
| `data` | The payload; several `data` lines are joined with newlines |
| `event` | The event's type (default `message`) |
| `id` | Sent back as `Last-Event-ID` when the client reconnects |
| `retry` | How long to wait before reconnecting, in milliseconds |

### In the browser

```javascript
const source = new EventSource("/updates");
source.addEventListener("update", (event) => {
  console.log(JSON.parse(event.data));
});
source.onerror = () => console.log("connection lost, retrying…");
```

### Good to know
- `EventSource` **reconnects by itself** and sends the last `id` it saw.
- It only makes `GET` requests without custom headers, which is why LLM APIs (which need a \
`POST` body and an API key) read the same format with `fetch` or an HTTP client instead.
- SSE is text only and one-way; for two-way traffic see WebSockets.
""",
        """## How SSE works, step by step

Server-sent events turn one HTTP response into a stream of small text messages. Nothing \
beyond HTTP is needed, so SSE passes through proxies, load balancers and CDNs that already \
understand HTTP.

1. **The client asks.** A `GET` (or, for LLM APIs, a `POST`) with `Accept: text/event-stream`.
2. **The server keeps the response open** and writes events as they happen.
3. **Each event ends with a blank line.** Lines inside it are `data:`, `event:`, `id:` or \
`retry:`; a line starting with `:` is a comment.
4. **The client parses line by line**, joining `data` lines until the blank line, then \
dispatches the event.
5. **When the connection drops**, a browser's `EventSource` waits `retry` ms and reconnects \
with a `Last-Event-ID` header, so the server can resume.

A minimal parser in Python:

```python
def events(lines):
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield "\\n".join(data)
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
```

### Pitfalls a robust client handles
- Lines may end with `\\n`, `\\r\\n` or a lone `\\r`.
- The stream may start with a UTF-8 byte order mark.
- A chunk from the network can end in the middle of a line — or of a character.
- Comment lines (`: keep-alive`) must be skipped, not treated as data.

> SSE is the quiet workhorse behind most streaming chat APIs: OpenAI, Anthropic and Gemini all \
stream this way.
""",
    ),
)

SSE_VS_WEBSOCKET = Topic(
    name="sse-vs-websocket",
    keywords=weights(
        "vs:4, versus:4, compare:3, comparison:3, difference:3, differences:3, or:1, which:1, "
        "choose:2, better:2, between:2, sse:4, server-sent:4, eventsource:4, websocket:4, "
        "websockets:4"
    ),
    needs=(
        frozenset({"sse", "server-sent", "eventsource", "event-stream"}),
        frozenset({"websocket", "websockets", "ws"}),
    ),
    reasoning=(
        "This is a comparison: SSE against WebSocket. A table is the clearest way to line them "
        "up — direction, framing, reconnection, proxies. Then I should say when each one wins, "
        "and mention that chat APIs mostly stream over SSE because a reply is one-way."
    ),
    takes=(
        """## SSE vs WebSocket

Both keep a connection open so the server can send data the moment it has it. The difference \
is direction and weight: **SSE is one-way text over ordinary HTTP**, **WebSocket is a two-way \
channel** with its own framing after an HTTP upgrade.

| | Server-sent events | WebSocket |
|---|---|---|
| Direction | Server → client | Both ways |
| Transport | A normal HTTP response | HTTP upgrade, then WebSocket frames |
| Data | UTF-8 text | Text or binary |
| Reconnect | Built in (`EventSource`, `Last-Event-ID`) | Up to you |
| Proxies and CDNs | Work as with any HTTP | Need upgrade support |
| Browser API | `EventSource` (GET only) or `fetch` | `WebSocket` |

### Pick SSE when
- the server talks and the client mostly listens: notifications, progress, **LLM replies**;
- you want HTTP's auth, caching rules, logging and tooling to keep working;
- automatic reconnection is welcome.

### Pick WebSocket when
- both sides send often: chat presence, collaborative editing, games;
- you need binary frames or very low overhead per message;
- one long-lived connection should carry many independent exchanges.

> A chat reply is one request and one long answer, which is why OpenAI, Anthropic and Gemini \
stream over SSE. Streamdesk speaks both, so you can compare them on the same reply.
""",
        """## Choosing between SSE and WebSocket

Ask three questions, in this order:

1. **Who sends?** If only the server streams after one request, SSE fits. If the client keeps \
sending while the server replies, WebSocket fits.
2. **What sits in between?** Corporate proxies, CDNs and serverless platforms handle a long \
HTTP response (SSE) more often than an upgraded connection (WebSocket).
3. **What happens on a drop?** SSE has a reconnection story built in; with WebSocket you write \
your own — resend, resume, or start over.

### Side by side

| Question | SSE | WebSocket |
|---|---|---|
| Setup | One `POST`/`GET`, `text/event-stream` | `Upgrade: websocket`, `101 Switching Protocols` |
| Messages | `data:` lines, blank line ends one | Frames, with ping/pong and close codes |
| Errors | An HTTP status, or an error event | A close code such as `1011` |
| Overhead per message | A few bytes of text | 2–14 bytes of frame header |

### In practice
- For **LLM streaming**, SSE is the default; a WebSocket saves little because the client has \
nothing to say mid-reply.
- For **interactive apps** — typing indicators, cursors, voice — WebSocket is the natural choice.
- Whichever you pick, handle the **cut connection**: keep what arrived and resume.
""",
    ),
)

WEBSOCKET = Topic(
    name="websocket",
    keywords=weights(
        "websocket:6, websockets:6, ws:4, wss:4, socket:3, sockets:3, upgrade:2, frame:2, "
        "frames:2, duplex:3, ping:1, pong:1, rfc:1, 6455:4"
    ),
    reasoning=(
        "The user asks about WebSockets. I'll explain the upgrade handshake first, since that is "
        "where a WebSocket starts, then frames and close codes. A Python client with the "
        "`websockets` library will show the shape of real code, and a short list of the things "
        "that bite in production: keep-alives, reconnection, and proxies."
    ),
    takes=(
        """## WebSockets in a nutshell

A **WebSocket** is a long-lived, two-way connection between a client and a server, defined in \
[RFC 6455](https://www.rfc-editor.org/rfc/rfc6455). It starts as an HTTP request and then \
switches protocols:

```http
GET /chat HTTP/1.1
Host: example.com
Upgrade: websocket
Connection: Upgrade
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Sec-WebSocket-Version: 13
```

The server answers `101 Switching Protocols`, and from then on both sides exchange **frames**: \
text, binary, `ping`/`pong` and `close`.

### A client in Python

```python
import asyncio
import json

from websockets.asyncio.client import connect


async def main() -> None:
    async with connect("ws://localhost:8765/chat") as ws:
        await ws.send(json.dumps({"type": "hello", "name": "Ada"}))
        async for message in ws:
            print(json.loads(message))


asyncio.run(main())
```

### Worth knowing
- **Frames from the client are masked**; servers reject unmasked ones.
- **Close codes** say why a connection ended: `1000` normal, `1001` going away, `1011` server error.
- **Pings** keep idle connections alive through NAT and proxies.
- **Nothing reconnects for you**: plan how a client resumes after a drop.
""",
        """## How a WebSocket connection lives and dies

1. **Handshake.** The client sends an HTTP `GET` with `Upgrade: websocket` and a random \
`Sec-WebSocket-Key`; the server proves it understood by hashing that key into \
`Sec-WebSocket-Accept` and answering `101`.
2. **Messages.** Either side sends whenever it likes. A message is one or more frames; large \
messages can be fragmented.
3. **Heartbeats.** `ping` frames must be answered with `pong`; libraries do this for you and \
close connections that stop answering.
4. **Closing.** One side sends a `close` frame with a code and a reason, the other echoes it, \
then TCP closes. A connection that just vanishes (no close frame) is a network failure.

### Close codes you will meet

| Code | Meaning |
|---|---|
| `1000` | Normal closure |
| `1001` | Going away (server restart, page closed) |
| `1006` | Abnormal: no close frame was received |
| `1008` | Policy violation (often: not authorised) |
| `1011` | The server hit an unexpected error |

### Tips
- Send **JSON messages with a `type` field**; it keeps the protocol readable and extensible.
- Put **authentication in the handshake** (a header or a token in the URL), not in a message.
- Test behind the **real proxy**: some drop idle connections after 60 seconds.
""",
    ),
)

PYTHON = Topic(
    name="python",
    keywords=weights(
        "python:6, py:3, code:2, script:3, function:3, functions:3, example:1, snippet:3, "
        "dataclass:4, class:2, program:2, pathlib:4, list:1, dict:2, comprehension:4, "
        "typing:3, decorator:4"
    ),
    reasoning=(
        "They want Python. A working example is the heart of the answer, so I'll write a short, "
        "complete script with type hints and explain the few lines that matter. Then a couple of "
        "idioms worth knowing and how to run it."
    ),
    takes=(
        """## A small, idiomatic Python example

Here is a complete script that reads a file of JSON lines (one object per line) and prints a \
summary. It shows dataclasses, type hints, `pathlib` and a generator — the everyday tools of \
modern Python.

```python
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


@dataclass(frozen=True)
class Event:
    kind: str
    duration_ms: float


def read_events(path: Path) -> Iterator[Event]:
    with path.open(encoding="utf-8") as file:
        for line in file:
            if line.strip():
                raw = json.loads(line)
                yield Event(raw["kind"], float(raw["duration_ms"]))


def main() -> None:
    events = list(read_events(Path(sys.argv[1])))
    kinds = Counter(e.kind for e in events)
    for kind, count in kinds.most_common():
        total = sum(e.duration_ms for e in events if e.kind == kind)
        print(f"{kind:<12} {count:>5}  avg {total / count:8.1f} ms")


if __name__ == "__main__":
    main()
```

### What to notice
- **`read_events` is a generator**: it yields one event at a time, so a huge file never sits \
in memory all at once (the `list(...)` in `main` is a choice, not a necessity).
- **`frozen=True`** makes events immutable and hashable.
- **f-string format specs** (`:<12`, `:8.1f`) align the output without extra libraries.

Run it with `python summary.py events.jsonl`.
""",
        """## Python: a tiny command-line tool

A good way to learn Python is to write a small tool you will actually use. This one counts the \
most common words in text files:

```python
import argparse
import re
from collections import Counter
from pathlib import Path

WORD = re.compile(r"[\\w']+")


def count_words(paths: list[Path]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        counts.update(word.lower() for word in WORD.findall(text))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Count common words.")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("-n", "--top", type=int, default=10)
    args = parser.parse_args()
    for word, count in count_words(args.files).most_common(args.top):
        print(f"{count:6}  {word}")


if __name__ == "__main__":
    main()
```

### Why it is written this way
1. **`argparse`** gives you `--help`, error messages and type conversion for free.
2. **`Counter`** does the counting and the sorting (`most_common`).
3. **A compiled regex** is reused for every file instead of being rebuilt.
4. **`errors="replace"`** keeps one badly encoded file from stopping the run.

Try `python words.py *.md -n 20`, then add a `--min-length` option as an exercise.
""",
    ),
)

ASYNCIO = Topic(
    name="asyncio",
    keywords=weights(
        "asyncio:8, async:5, await:5, coroutine:5, coroutines:5, concurrency:3, concurrent:3, "
        "gather:4, taskgroup:5, loop:2, tasks:2, task:1, queue:2, nonblocking:3, "
        "non-blocking:3, backpressure:4, producer:3, consumer:3"
    ),
    reasoning=(
        "The question is about asyncio. The mental model matters more than the API: one thread, "
        "an event loop, coroutines that pause at `await`. I'll show a concrete example that runs "
        "several requests at once with a timeout, then the usual mistakes — blocking calls, lost "
        "tasks, forgotten awaits."
    ),
    takes=(
        """## asyncio: doing many things while waiting

`asyncio` runs many tasks on **one thread**. Each task is a coroutine that pauses at every \
`await`, and the **event loop** resumes whichever task has something to do. It shines when \
the work is mostly *waiting* — on the network, on disk, on timers.

```python
import asyncio

import httpx


async def fetch(client: httpx.AsyncClient, url: str) -> int:
    response = await client.get(url)
    return len(response.content)


async def main(urls: list[str]) -> None:
    async with httpx.AsyncClient() as client:
        async with asyncio.timeout(10), asyncio.TaskGroup() as group:
            tasks = [group.create_task(fetch(client, u)) for u in urls]
    for url, task in zip(urls, tasks):
        print(f"{task.result():>8} bytes  {url}")


asyncio.run(main(["https://example.com", "https://www.python.org"]))
```

All requests run at once, so the total time is about that of the slowest one.

### Common mistakes
- **Blocking the loop.** `time.sleep`, `requests.get` or heavy CPU work freeze every task. Use \
`await asyncio.sleep`, an async client, or `await asyncio.to_thread(fn)`.
- **Forgetting `await`.** Calling a coroutine function without `await` does nothing but warn.
- **Losing tasks.** Keep a reference to tasks you create, or use a `TaskGroup`, which also \
cancels the rest when one fails.
""",
        """## Producers and consumers with asyncio

Many real programs have the same shape: something produces work, something else consumes it, \
and the two run at different speeds. `asyncio.Queue` connects them and adds **backpressure** \
for free — a full queue makes the producer wait.

```python
import asyncio
import random


async def producer(queue: asyncio.Queue[int], count: int) -> None:
    for n in range(count):
        await queue.put(n)  # waits while the queue is full
    await queue.put(-1)  # tell the consumer we are done


async def consumer(queue: asyncio.Queue[int]) -> None:
    while (item := await queue.get()) != -1:
        await asyncio.sleep(random.uniform(0.01, 0.05))  # the work
        print(f"handled {item}")


async def main() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=5)
    await asyncio.gather(producer(queue, 20), consumer(queue))


asyncio.run(main())
```

### The ideas behind it
1. **Coroutines** (`async def`) are paused at each `await` and resumed by the event loop.
2. **Tasks** wrap coroutines so they run concurrently; `gather` and `TaskGroup` create them.
3. **Cancellation** raises `CancelledError` at the `await` where a task is paused — clean up in \
`finally`.
4. **Timeouts** are cancellation with a deadline: `async with asyncio.timeout(5): ...`.

> Rule of thumb: asyncio for many slow I/O operations, threads for blocking libraries, \
processes for CPU-heavy work.
""",
    ),
)

TABLES = Topic(
    name="table",
    keywords=weights(
        "table:6, tables:6, compare:2, comparison:2, protocol:3, protocols:4, api:1, apis:2, "
        "model:2, models:3, llm:2, llms:2, transport:2, transports:2, overview:1, matrix:3"
    ),
    reasoning=(
        "A comparison that is best read as a table. I'll pick columns a reader actually decides "
        "on, keep cells short, and add a sentence or two after the table on how to choose."
    ),
    takes=(
        """## Ways to stream from server to client

| Technique | Direction | Runs over | Reconnects | Good for |
|---|---|---|---|---|
| **Server-sent events** | Server → client | One HTTP response | Built in | LLM replies, feeds, progress |
| **WebSocket** | Both ways | HTTP upgrade, then frames | By hand | Chat, games, collaboration |
| **Long polling** | Server → client | Repeated HTTP requests | Each request | Old clients, strict proxies |
| **HTTP/2 or HTTP/3 streams** | Both ways | One multiplexed connection | By hand | gRPC, many parallel streams |
| **gRPC streaming** | Either or both | HTTP/2 with Protocol Buffers | By hand | Service-to-service APIs |

### How to read it
- If the server does the talking, **SSE** is the simplest thing that works and passes through \
most infrastructure unchanged.
- If both sides talk continuously, use a **WebSocket**.
- **Long polling** is the fallback when nothing else gets through.
- Between your own services, **gRPC** gives you typed messages and streaming in one package.
""",
        """## How the big chat APIs stream

Every major provider streams replies over server-sent events, but each shapes its events \
differently. Streamdesk reads all four:

| API | Endpoint | Text arrives as | The end | Thinking |
|---|---|---|---|---|
| OpenAI Chat Completions | `/v1/chat/completions` | `choices[0].delta.content` | `data: [DONE]` | `reasoning_content` (DeepSeek style) |
| OpenAI Responses | `/v1/responses` | `response.output_text.delta` events | `response.completed` | Reasoning summary events |
| Anthropic Messages | `/v1/messages` | `content_block_delta` with `text_delta` | `message_stop` | `thinking_delta` blocks |
| Google Gemini | `…:streamGenerateContent?alt=sse` | `candidates[0].content.parts` | A `finishReason` | Parts marked `thought` |

### Differences that matter to a client
- **Usage** comes in the last chunk (OpenAI, when asked with `stream_options`), in \
`message_delta` (Anthropic) or in `usageMetadata` (Gemini).
- **Errors mid-stream** are an `error` event in Anthropic's stream, an error object in a data \
line elsewhere.
- **Stop reasons** differ in name: `stop`, `end_turn`, `STOP` and `completed` mean the same thing.
""",
    ),
)

POEM = Topic(
    name="poem",
    keywords=weights(
        "poem:8, poems:8, poetry:8, verse:6, verses:6, haiku:8, rhyme:6, sonnet:8, limerick:8, "
        "lyrics:5, stanza:6, poet:5"
    ),
    reasoning=(
        "A poem. Short lines, one per verse line, a clear image and a turn at the end. I'll keep "
        "it small and let the rhythm carry it rather than explaining anything."
    ),
    takes=(
        """## Tokens at Dusk

The cursor blinks, a patient light,
the question sent into the night;
somewhere a model weighs each word
and answers, one by one, unheard.

A syllable, a space, a line —
the screen fills up like slow-poured wine;
no page arrives already whole,
it grows the way a thought takes hold.

And when the final token lands,
the sentence settles in your hands:
a reply built from little parts,
the way that every story starts.
""",
        """## Three haiku for a slow connection

*Loading*
spinner turns and turns —
somewhere past the copper wire
a reply takes shape

*Streaming*
one word, then the next,
rain filling a paper cup,
drop by patient drop

*Done*
the cursor goes still;
in the quiet after it,
the whole answer waits
""",
        """## Ode to the Event Loop

You never sleep, you only wait,
you hold each task at its own gate;
a socket stirs, a timer rings,
and you attend to waiting things.

No thread to spare, no second hand,
yet all of it goes as planned:
you pause the ones with naught to do
and let the ready ones run through.

So here's to you, unhurried friend,
who starts each turn and sees it end —
the quiet heart, the single thread,
that keeps a thousand tasks well fed.
""",
    ),
)

HOW_TO = Topic(
    name="how-to",
    keywords=weights(
        "setup:4, set:1, install:4, installing:4, venv:6, virtualenv:6, pip:5, uv:4, "
        "project:3, environment:3, dependencies:4, packaging:4, pyproject:6, steps:2, start:1, "
        "started:1, new:1"
    ),
    reasoning=(
        "A how-to. The reader wants steps they can follow in order, with the exact commands, "
        "and a note on what to do when a step fails. Numbered steps, each with one command."
    ),
    takes=(
        """## How to set up a Python project

A clean setup takes five minutes and saves hours later. These steps work on Linux, macOS and \
Windows (use `py` instead of `python3` on Windows).

1. **Create a folder and a virtual environment**
   ```bash
   mkdir myproject && cd myproject
   python3 -m venv .venv
   source .venv/bin/activate   # Windows: .venv\\Scripts\\activate
   ```
2. **Describe the project in `pyproject.toml`** — its name, version, Python version and \
dependencies live in one file.
3. **Install your dependencies** with `pip install -e .` so the code is importable while you \
edit it.
4. **Add the tools** you will run every day:
   - `pytest` for tests,
   - `ruff` for linting and formatting,
   - `mypy` for type checks.
5. **Put the environment in `.gitignore`** (`.venv/`) and commit everything else.
6. **Write one test** before the second feature; it keeps the setup honest.

### When something goes wrong
- *"command not found: python3"* — install Python from python.org or your package manager.
- *"externally-managed-environment"* — you are outside the venv; activate it first.
- *A package fails to build* — upgrade pip (`python -m pip install -U pip`) and try again.
""",
        """## How to start a Python project with uv

[uv](https://docs.astral.sh/uv/) is a fast, all-in-one tool for Python projects. It creates \
the environment, installs packages and runs your code.

1. **Install uv** (once): `curl -LsSf https://astral.sh/uv/install.sh | sh`
2. **Create the project**: `uv init myproject && cd myproject`
3. **Add dependencies**: `uv add httpx rich` — this updates `pyproject.toml` and the lock file.
4. **Add development tools**: `uv add --dev pytest ruff`
5. **Run things inside the environment** without activating it:
   ```bash
   uv run python main.py
   uv run pytest
   uv run ruff check .
   ```
6. **Commit `pyproject.toml` and `uv.lock`**, so everyone gets the same versions.

### Checklist before you share it
- [ ] `uv run pytest` passes on a fresh clone
- [ ] `README.md` says how to install and run it
- [ ] The Python version is pinned in `.python-version`
- [ ] No secrets in the repository (use environment variables)
""",
    ),
)

JSON_HTTP = Topic(
    name="json-http",
    keywords=weights(
        "json:6, http:5, https:3, rest:4, request:2, requests:2, response:2, status:2, "
        "header:2, headers:3, curl:5, endpoint:3, get:1, post:2, payload:2, body:1, 404:4, "
        "500:3, 429:4"
    ),
    reasoning=(
        "This is about HTTP and JSON basics. I'll show a real request and response so the parts "
        "have names — method, path, headers, body, status — then the status codes a client "
        "actually has to handle, and a curl command they can try."
    ),
    takes=(
        """## HTTP and JSON, the basics

An HTTP exchange is a **request** and a **response**, both plain text headers followed by an \
optional body. APIs usually put **JSON** in the body:

```http
POST /v1/orders HTTP/1.1
Host: api.example.com
Content-Type: application/json
Authorization: Bearer sk-…

{"item": "coffee", "quantity": 2}
```

```http
HTTP/1.1 201 Created
Content-Type: application/json

{"id": "ord_123", "status": "pending"}
```

### Status codes a client must handle

| Code | Meaning | What to do |
|---|---|---|
| `200` / `201` | Success / created | Read the body |
| `400` | Bad request | Fix the request; retrying will not help |
| `401` / `403` | Not authenticated / not allowed | Check the key and its permissions |
| `404` | Not found | Check the URL or the resource id |
| `429` | Too many requests | Wait (see `Retry-After`), then retry |
| `500` / `503` | Server error / unavailable | Retry later with backoff |

### Try it

```bash
curl -s https://httpbin.org/post \\
  -H 'Content-Type: application/json' \\
  -d '{"hello": "world"}'
```
""",
        """## JSON in five rules

JSON is the lingua franca of web APIs because it is small, readable and every language can \
parse it. The whole format fits in a few rules:

1. **Six kinds of values**: objects `{}`, arrays `[]`, strings, numbers, `true`/`false` and `null`.
2. **Strings use double quotes** — `'single'` is not JSON.
3. **No comments and no trailing commas.**
4. **Numbers have no fixed size** in the spec, but many parsers use 64-bit floats: very large \
integers (ids!) are safer as strings.
5. **Text is UTF-8** on the wire.

```json
{
  "id": "9007199254740993",
  "name": "Ada",
  "tags": ["admin", "beta"],
  "active": true,
  "manager": null
}
```

### In Python

```python
import json

data = json.loads(text)  # str -> dict / list / ...
text = json.dumps(data, ensure_ascii=False, indent=2)  # and back
```

### Common errors
- `Expecting property name enclosed in double quotes` — a trailing comma or single quotes.
- `Extra data` — two JSON documents in one string (JSON Lines needs one `loads` per line).
- Dates have no JSON type: send them as ISO 8601 strings like `"2026-11-30T14:00:00Z"`.
""",
    ),
)

GREETING = Topic(
    name="greeting",
    keywords=weights(
        "hello:6, hi:6, hey:6, hallo:6, bonjour:6, greetings:6, help:3, demo:4, offline:4, "
        "streamdesk:5, capabilities:4, what can you do:6, who are you:6, what are you:6, "
        "what is this:6, how does this work:6, getting started:4"
    ),
    reasoning=(
        "A greeting, or a question about what this is. I should say plainly that this is the "
        "offline demo: replies come from a mock server on this computer, not from a model. Then "
        "what they can try, and how to connect a real provider."
    ),
    takes=(
        """## 👋 Hi! This is Streamdesk's offline demo

No key and no network needed: the replies you see come from a **mock server built into the \
app**, running on this computer. It streams them exactly as a real provider would — token by \
token, over server-sent events or a WebSocket — so everything in the window works for real: \
rendering, stopping, continuing a cut reply, history and search.

### Things to try
- *"Explain server-sent events"* — a topic the demo knows well.
- *"SSE vs WebSocket"* — a comparison with a table.
- *"Show me a Python example"* — syntax-highlighted code with a Copy button.
- *"Write a poem"* — short lines, kept as you see them.
- Press **Regenerate** on a reply to get another version.

### What the demo cannot do
It does not understand your question the way a language model does: it picks the closest \
answer from a small library of topics. For real answers, open **Settings** (`Ctrl+,`) and add a \
provider — OpenAI, Anthropic, Gemini, DeepSeek, or a local server such as LM Studio or \
llama.cpp.
""",
        """## What you can do here

You are using the **offline demo**: a built-in mock server answers instead of a real model, so \
you can explore Streamdesk without an API key.

| You want to… | Try |
|---|---|
| See streaming Markdown | "Explain streaming" |
| Compare protocols | "Compare SSE and WebSocket" |
| Read code | "Python asyncio example" |
| See a table | "Make a table of streaming techniques" |
| Get something lighter | "Write a haiku" |

### Also worth a look
1. **Switch the protocol** (SSE ↔ WebSocket) in the header: the same reply arrives either way.
2. **Stop a reply** mid-stream, then **Continue** it.
3. **Regenerate** a reply and flip between versions with ‹ ›.
4. **Search** your history from the sidebar.

When you are ready for real answers, add a provider in **Settings** (`Ctrl+,`); your \
conversations stay where they are.
""",
    ),
)

FALLBACK = Topic(
    name="general",
    keywords={},
    reasoning=(
        "This offline demo has no prepared answer on that, so the honest reply says so, gives "
        "a useful way to approach {subject}, and points to connecting a real provider."
    ),
    takes=(
        """## {Subject}

This window is running Streamdesk's *offline demo*: replies come from a small built-in library \
instead of a language model, so I cannot give you a real answer on this topic — but here is how \
a good one would be put together.

### How I would approach it
1. **Pin down the goal.** Is the question what something *is*, how to *do* something with it, \
or how to *choose* between options? Each needs a different answer.
2. **Start from a concrete case.** One small, real example usually says more than a definition.
3. **Name the trade-offs.** Most useful answers end with "it depends on…" followed by the two \
or three things it actually depends on.
4. **Check it.** Try the idea on a small scale before relying on it.

### Get a real answer
- Open **Settings** (`Ctrl+,`) and add a provider: OpenAI, Anthropic, Gemini, DeepSeek, or a \
local server such as LM Studio or llama.cpp.
- Then press **Regenerate** or ask again: the conversation keeps its history.

> The demo knows a few topics well: streaming and server-sent events, WebSockets, Python and \
asyncio, JSON over HTTP, tables, how-to lists and short poems.
""",
        """## {Subject}: where to start

Here is a structured way into the question. (This is the offline demo, which answers from a \
small library of prepared topics; add a provider in **Settings** for an answer written for \
your exact question.)

### Questions worth asking first
- What would a good outcome look like, concretely?
- What have you already tried, and what happened?
- What constraints are fixed — time, budget, tools, people?
- Who has solved something similar, and what did they write down?

### A simple plan

| Step | What to do | Why |
|---|---|---|
| 1 | Write the question down in one sentence | Vague questions get vague answers |
| 2 | Collect two or three good sources | Compare them instead of trusting one |
| 3 | Try the smallest version | Cheap mistakes teach the most |
| 4 | Review and adjust | The second attempt is where it gets good |

> Tip: the demo has real answers for streaming, server-sent events, WebSockets, Python, \
asyncio, JSON and HTTP, tables and poems — try one of those to see a full reply.
""",
    ),
)

TOPICS = (
    SSE_VS_WEBSOCKET,
    SSE,
    WEBSOCKET,
    STREAMING,
    ASYNCIO,
    PYTHON,
    TABLES,
    POEM,
    HOW_TO,
    JSON_HTTP,
    GREETING,
)
"""The topics a prompt can match, best first when two score the same."""
