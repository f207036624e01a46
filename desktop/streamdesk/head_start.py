"""Start-up work that needs no window, done by another process while the window is built.

Until the window can send, its thread imports and builds; the keychain's modules and D-Bus
look-ups and the offline demo's server would then follow on that same thread. Threads cannot
overlap them with the build (both run Python: each would wait for the GIL), another process
can. So on Linux with a second core, the app starts itself again before Qt loads (a fresh
interpreter: a fork would make the window copy every page it writes while they share them) and,
once the window has painted its first frame (`go`: beside that frame, it and the keychain
daemon slowed it), the child:

- reads from the keychain every key start-up and a first request may ask for (the settings'
  providers, the relay's, those the key index names, the proxy's credentials), with the answers
  the window's own look-ups would give (a problem is the same one sentence);
- when the user has configured nothing at all (`unconfigured`, decided as the window decides
  it), serves the offline demo's mock, as the window would start it, until the window closes
  the pipe that keeps it (or dies: the pipe closes with it).

The window reads the one JSON line the child writes once it is built (`HeadStart.result`).
The answers stand in for the keychain only until the window has loaded the keychain itself,
right after start-up (`KeysOnUse`), so a key changed later is read again. Anything else (another
system, one core, the one-file bundle, which would unpack itself again, a child that fails or
answers nothing) and the window does the same work itself, as it always did.
`STREAMDESK_HEAD_START=0` turns it off (benchmarks/startup.py measures both).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

# json, signal and logging load where they are used: this module loads before the first frame.

if TYPE_CHECKING:
    from streamdesk.core.store.secrets import KeyStore
    from streamdesk.core.store.settings import Settings

ENV = "STREAMDESK_HEAD_START"
CHILD_ENV = "STREAMDESK_HEAD_START_CHILD"  # the child's pipe ends: answer, lifeline, go
ENV_KEY = "STREAMDESK_API_KEY"  # core.store.secrets.ENV_KEY, without importing keyring here
PROXY_KEY_ID = "proxy"  # core.chat.target.PROXY_KEY_ID: the proxy's "user:password"
REAP_POLL_S = 0.01
REAP_TRIES = 200  # x REAP_POLL_S: how long closing waits for the demo's process to leave


def wanted() -> bool:
    """A head start: on Linux (where it is tried), with a second core to run it on, not from
    the one-file bundle (its every start unpacks it to a new `_MEI…` folder)."""
    if os.environ.get(ENV, "") == "0" or not sys.platform.startswith("linux"):
        return False
    unpacked = os.path.basename(getattr(sys, "_MEIPASS", ""))
    if getattr(sys, "frozen", False) and unpacked.startswith("_MEI"):
        return False
    return len(os.sched_getaffinity(0)) > 1


class KeychainAnswers:
    """What the keychain answered the head start: a `KeySource` for the providers it asked
    about (`knows`). `get` gives what `KeyStore.get` would have: the environment's key first,
    else the keychain's, or raises its `KeychainUnavailable`."""

    def __init__(
        self,
        keys: dict[str, str | None],
        problems: dict[str, str],
        listed: builtins.list[str] | None,
        list_problem: str | None,
    ) -> None:
        from streamdesk.core.redact import remember_secret

        self._keys = keys
        self._problems = problems
        self._listed = listed
        self._list_problem = list_problem
        for key in keys.values():
            if key:
                remember_secret(key)

    def knows(self, provider_id: str) -> bool:
        return provider_id in self._keys or provider_id in self._problems

    def get(self, provider_id: str, *, environment: bool = True) -> str | None:
        from streamdesk.core.errors import KeychainUnavailable

        if environment and os.environ.get(ENV_KEY):
            return os.environ[ENV_KEY].strip() or None
        if provider_id in self._problems:
            raise KeychainUnavailable(self._problems[provider_id])
        return self._keys.get(provider_id)

    def list(self) -> builtins.list[str]:
        from streamdesk.core.errors import KeychainUnavailable

        if self._listed is None:
            raise KeychainUnavailable(self._list_problem or "The OS keychain is not available.")
        return list(self._listed)


class DemoProcess:
    """The offline demo's mock, served by the head start's process (a `DemoServer`)."""

    def __init__(self, pid: int, lifeline: int, sse_base_url: str, ws_url: str) -> None:
        self.pid = pid
        self._lifeline = lifeline  # its write end; the child leaves when it closes
        self.sse_base_url = sse_base_url
        self.ws_url = ws_url

    async def close(self) -> None:
        """Close the pipe that keeps it, and wait for it to leave (killed if it does not)."""
        import asyncio

        if self._lifeline < 0:
            return
        os.close(self._lifeline)
        self._lifeline = -1
        for _ in range(REAP_TRIES):
            if _reaped(self.pid):
                return
            await asyncio.sleep(REAP_POLL_S)
        import signal

        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
            await asyncio.to_thread(os.waitpid, self.pid, 0)


class Result:
    """The head start's answer: the keychain's answers, and the demo's server if it serves one."""

    def __init__(self, keys: KeychainAnswers, demo: DemoProcess | None) -> None:
        self.keys = keys
        self.demo = demo


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


class HeadStart:
    """The child, from the window's side: `begin()` starts it, `result()` reads it."""

    def __init__(self, pid: int, answer: int, lifeline: int, go: int) -> None:
        self.pid = pid
        self._answer = answer  # read end of the child's one JSON line
        self._lifeline = lifeline
        self._go = go  # write end: the child starts working when it reads from it
        self._result: Result | None = None
        self._read = False

    @classmethod
    def begin(cls) -> HeadStart | None:
        """Start the child now (call it before Qt loads); None when not wanted or it cannot
        start (the window then does the work itself)."""
        if not wanted() or not sys.executable:
            return None
        answer_r, answer_w = os.pipe()
        lifeline_r, lifeline_w = os.pipe()
        go_r, go_w = os.pipe()
        theirs = (answer_w, lifeline_r, go_r)
        for fd in theirs:
            os.set_inheritable(fd, True)
        env = {**os.environ, CHILD_ENV: ",".join(map(str, theirs))}
        command = _own_command()
        quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]  # a reader waits for
        try:  # the end of the window's output: the child's lives on
            pid = os.posix_spawn(command[0], command, env, file_actions=quiet)
        except OSError:
            for fd in (answer_r, lifeline_w, go_w):
                os.close(fd)
            return None
        finally:
            for fd in theirs:
                os.close(fd)
        return cls(pid, answer_r, lifeline_w, go_w)

    def go(self) -> None:
        """Let the child ask the keychain: the window has painted its first frame. Not sooner:
        on two cores, the keychain daemon's work beside the first frame delayed it (the
        child's own imports, on the other core, did not)."""
        if self._go >= 0:
            with contextlib.suppress(OSError):
                os.write(self._go, b"g")
            os.close(self._go)
            self._go = -1

    async def result(self) -> Result | None:
        """The child's answer, read once; None when it had none (the window looks itself)."""
        import asyncio

        if not self._read:
            self._read = True
            self.go()  # if nobody did: it answers nothing before
            self._result = await asyncio.to_thread(self._take)
        return self._result

    def _take(self) -> Result | None:
        """Read the child's line (on a worker thread: it may still be asking the keychain,
        which can prompt to unlock), and reap it unless it serves the demo."""
        with os.fdopen(self._answer, "rb") as answer:
            line = answer.readline()
        result = _parse(line, self.pid, self._lifeline)
        if result is None or result.demo is None:
            os.close(self._lifeline)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)  # it leaves once its line is written, or has died
        return result


def _parse(line: bytes, pid: int, lifeline: int) -> Result | None:
    import json

    try:
        data = json.loads(line)
        keys = KeychainAnswers(
            {str(k): (str(v) if v else None) for k, v in data["keys"].items()},
            {str(k): str(v) for k, v in data["problems"].items()},
            [str(i) for i in data["listed"]] if data["listed"] is not None else None,
            data["list_problem"],
        )
        mock = data.get("mock")
        demo = DemoProcess(pid, lifeline, str(mock["sse"]), str(mock["ws"])) if mock else None
    except (ValueError, KeyError, TypeError, AttributeError):  # no line: it died first
        return None
    return Result(keys, demo)


# -- the child ----------------------------------------------------------------------------------


def _own_command() -> list[str]:
    """This app again: the frozen bundle's executable, else this Python with `-m streamdesk`
    (both start at `run_if_child`)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "streamdesk"]


def run_if_child() -> None:
    """In a process the window started as its head start: do the work and leave. The entry
    points call it first (streamdesk/__main__.py, packaging/entry.py)."""
    fds = os.environ.pop(CHILD_ENV, None)
    if fds is None:
        return
    status = 1
    try:
        answer, lifeline, go = (int(fd) for fd in fds.split(","))
        _load()
        if os.read(go, 1):  # nothing: the window ended before its first frame
            status = _child(answer, lifeline)
    except BaseException:  # the window, reading no line, does the work itself
        import logging

        logging.getLogger(__name__).debug("the head start failed", exc_info=True)
    finally:
        os._exit(status)


CHILD_MODULES = (
    "asyncio",
    "streamdesk.core.store.secrets",
    "keyring.backends.SecretService",
    "streamdesk.core.store.settings",
    "streamdesk.core.chat.target",
    "streamdesk.mock.server",
)


def _load() -> None:
    """Import what the work needs while the window paints its first frame: on the other
    core, work of this process alone (the keychain is asked only after `go`)."""
    import importlib

    for name in CHILD_MODULES:
        with contextlib.suppress(ImportError):  # the work says what is missing
            importlib.import_module(name)


def _child(answer: int, lifeline: int) -> int:
    """Answer, then serve the demo until `lifeline` closes when nothing is configured."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the window's; the pipe ends us
    from streamdesk.core.store.secrets import KeyStore, load_backend

    with contextlib.suppress(Exception):  # the look-ups below say what is wrong
        load_backend()
    settings = _settings()
    message = _ask_keychain(KeyStore(), _provider_ids(settings))
    if not _unconfigured(settings, message):
        _write(answer, message)
        return 0
    import asyncio

    return asyncio.run(_serve_demo(answer, lifeline, message))


def _settings() -> Settings:
    """The settings as the window reads them, without its side effects (a bad file's backup):
    defaults when the file is missing or bad, as the window then uses."""
    import tomllib

    from streamdesk.core.store.settings import Settings, parse_settings, settings_path

    try:
        return parse_settings(tomllib.loads(settings_path().read_bytes().decode("utf-8")))
    except Exception:
        return Settings()


def _provider_ids(settings: Settings) -> list[str]:
    from streamdesk.core.providers import DEFAULT_PROVIDER_ID

    ids = [DEFAULT_PROVIDER_ID, settings.active_provider, PROXY_KEY_ID]
    ids += [p.id for p in settings.providers]
    return list(dict.fromkeys(i for i in ids if i))


def _ask_keychain(store: KeyStore, provider_ids: list[str]) -> dict[str, Any]:
    from streamdesk.core.errors import KeychainUnavailable

    keys: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    listed: list[str] | None = None
    list_problem = None
    try:
        listed = store.list()
    except KeychainUnavailable as exc:
        list_problem = str(exc)
    for provider_id in dict.fromkeys([*provider_ids, *(listed or [])]):
        try:
            keys[provider_id] = store.get(provider_id, environment=False)
        except KeychainUnavailable as exc:
            problems[provider_id] = str(exc)
    return {"keys": keys, "problems": problems, "listed": listed, "list_problem": list_problem}


def _unconfigured(settings: Settings, message: dict[str, Any]) -> bool:
    """As the window will decide it from the same answers (`_parse`)."""
    import json

    from streamdesk.core.chat.target import unconfigured

    answers = _parse((json.dumps(message) + "\n").encode(), 0, -1)
    return answers is not None and unconfigured(settings, answers.keys)


def _write(fd: int, message: dict[str, Any]) -> None:
    import json

    data = (json.dumps(message) + "\n").encode("utf-8")
    while data:
        data = data[os.write(fd, data) :]
    os.close(fd)


async def _serve_demo(answer: int, lifeline: int, message: dict[str, Any]) -> int:
    import asyncio

    from streamdesk.mock.server import MockServer

    async with MockServer(vary_replies=True) as server:
        message["mock"] = {"sse": server.sse_base_url, "ws": server.ws_url}
        _write(answer, message)
        closed = asyncio.Event()  # the window closed the pipe, or died
        asyncio.get_running_loop().add_reader(lifeline, closed.set)
        await closed.wait()
    return 0
