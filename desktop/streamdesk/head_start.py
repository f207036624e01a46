"""Start-up work that needs no window, done by another process while the window is built.

Until the window can send, its thread imports and builds; the keychain's modules and D-Bus
look-ups and the offline demo's server would then follow on that same thread. Threads cannot
overlap them with the build (both run Python: each would wait for the GIL), another process
can. So on Linux with a second core, the app starts itself again before Qt loads (a fresh
interpreter: a fork would make the window copy every page it writes while they share them) and,
once the window has painted its first frame (`go`: beside that frame, it and the keychain
daemon slowed it), the child:

- asks the key store what the window's start would ask it, in the same order and no more (the
  chosen provider's key; the relay's and the list of stored keys only when nothing else may be
  configured; the manual proxy's credentials), stopping at the first answer that the keychain
  cannot be reached (a locked one prompts once, as it would for the window), and keeps each
  answer as the window's own look-up would give it (the environment's key, a key refused as
  unusable, the same one sentence for a problem);
- when the user has configured nothing at all (`unconfigured`, decided from those answers as
  the window decides it), serves the offline demo's mock, as the window would start it, until
  the window closes the pipe that keeps it (or dies: the pipe closes with it).

The window reads the one JSON line the child writes once it is built (`HeadStart.result`).
The answers stand in for the keychain only until the window has loaded the keychain itself,
right after start-up, or changed a key (`KeysOnUse`, `core.key_changes`): a key changed later
is read again. Anything else (another
system, one core, the one-file bundle, which would unpack itself again, a child that fails or
answers nothing) and the window does the same work itself, as it always did.
`STREAMDESK_HEAD_START=0` turns it off (benchmarks/startup.py measures both).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

# json, signal and logging load where they are used: this module loads before the first frame.

if TYPE_CHECKING:
    import asyncio

    from streamdesk.core.store.secrets import KeyStore
    from streamdesk.core.store.settings import Settings

ENV = "STREAMDESK_HEAD_START"
CHILD_ENV = "STREAMDESK_HEAD_START_CHILD"  # the child's pipe ends: answer, lifeline, go
REAP_POLL_S = 0.01
REAP_TRIES = 200  # x REAP_POLL_S: how long closing waits for the child to leave


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
    """What the key store answered the head start: a `KeySource` for what it was asked
    (`knows`, `knows_list`), each answer as `KeyStore.get` / `list` gave it: a key, None, or
    its `KeychainUnavailable` sentence raised again."""

    def __init__(
        self,
        keys: dict[tuple[str, bool], str | None],
        problems: dict[tuple[str, bool], str],
        listed: builtins.list[str] | None,
        list_problem: str | None,
    ) -> None:
        self._keys = keys  # (provider id, environment) -> key
        self._problems = problems
        self._listed = listed
        self._list_problem = list_problem

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> KeychainAnswers:
        """From the child's JSON; raises ValueError, KeyError or TypeError when malformed."""
        keys: dict[tuple[str, bool], str | None] = {}
        problems: dict[tuple[str, bool], str] = {}
        for provider_id, environment, key, problem in message["answers"]:
            asked = (str(provider_id), bool(environment))
            if problem is not None:
                problems[asked] = str(problem)
            else:
                keys[asked] = str(key) if key else None
        listed = message["listed"]
        return cls(
            keys,
            problems,
            [str(i) for i in listed] if listed is not None else None,
            str(message["list_problem"]) if message["list_problem"] is not None else None,
        )

    def knows(self, provider_id: str, *, environment: bool = True) -> bool:
        asked = (provider_id, environment)
        return asked in self._keys or asked in self._problems

    def knows_list(self) -> bool:
        return self._listed is not None or self._list_problem is not None

    def get(self, provider_id: str, *, environment: bool = True) -> str | None:
        from streamdesk.core.errors import KeychainUnavailable

        asked = (provider_id, environment)
        if asked in self._problems:
            raise KeychainUnavailable(self._problems[asked])
        return self._keys.get(asked)

    def list(self) -> builtins.list[str]:
        from streamdesk.core.errors import KeychainUnavailable

        if self._listed is None:
            raise KeychainUnavailable(self._list_problem or "The OS keychain is not available.")
        return builtins.list(self._listed)

    def secrets(self) -> builtins.list[str]:
        """Every key answered (for the redaction of logs and failure texts)."""
        return [key for key in self._keys.values() if key]


class DemoProcess:
    """The offline demo's mock, served by the head start's process (a `DemoServer`)."""

    def __init__(self, head: HeadStart, sse_base_url: str, ws_url: str) -> None:
        self._head = head
        self.sse_base_url = sse_base_url
        self.ws_url = ws_url

    @property
    def pid(self) -> int:
        return self._head.pid

    async def close(self) -> None:
        await self._head.close()

    def on_end(self, callback: Callable[[], None]) -> None:
        """`callback` on the loop if the process serving it ends before `close()`."""
        self._head.on_end(callback)


class Result(NamedTuple):
    """The head start's answer: the key store's answers, and the demo's server if it serves one."""

    keys: KeychainAnswers
    demo: DemoProcess | None


class HeadStart:
    """The child, from the window's side: `begin()` starts it, `go()` lets it ask the
    keychain, `result()` reads its answer, `close()` ends it (the demo's server with it)."""

    def __init__(self, pid: int, answer: int, lifeline: int, go: int) -> None:
        self.pid = pid
        self._fds = {"answer": answer, "lifeline": lifeline, "go": go}  # ours; -1: closed
        self._fds_lock = threading.Lock()  # `_take` runs on a worker thread
        self._result: Result | None = None
        self._read = False
        self._reaped = False
        self._cpu = 0.0  # its CPU seconds, once reaped
        self._watched: tuple[asyncio.AbstractEventLoop, int] | None = None  # `on_end`
        self._closing = False

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
        # Its output goes nowhere: a reader of the window's would wait for the child's end too.
        quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
        try:
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
        with self._fds_lock:
            go = self._fds["go"]
            if go >= 0:
                with contextlib.suppress(OSError):
                    os.write(go, b"g")
        self._close_fd("go")

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
        which can prompt to unlock); unless it serves the demo, it has nothing more to do."""
        with self._fds_lock:
            answer = self._fds["answer"]
            self._fds["answer"] = -1
        if answer < 0:  # closed: the window is shutting down
            return None
        line = _read_line(answer)
        result = _parse(line, self)
        if result is not None and result.demo is not None and not self._closing:
            with self._fds_lock:  # the child keeps its end open while it serves: `on_end`
                self._fds["answer"] = answer
        else:
            os.close(answer)
            self._close_fd("lifeline")
            with contextlib.suppress(ChildProcessError):
                _, _, usage = os.wait4(self.pid, 0)  # it leaves once its line is written
                self._cpu = usage.ru_utime + usage.ru_stime
            self._reaped = True
        return result

    def on_end(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the loop if the child ends (killed, crashed) before `close()`:
        its end of the answer pipe closes with it."""
        import asyncio

        loop = asyncio.get_running_loop()
        with self._fds_lock:
            answer = self._fds["answer"]
        if answer < 0:
            return

        def ended() -> None:
            loop.remove_reader(answer)
            self._watched = None
            callback()

        self._watched = (loop, answer)
        loop.add_reader(answer, ended)

    def _unwatch(self) -> None:
        if self._watched is not None:
            loop, fd = self._watched
            self._watched = None
            with contextlib.suppress(Exception):  # the loop may be closed already
                loop.remove_reader(fd)

    def cpu_seconds(self) -> float:
        """The CPU time the child has used (benchmarks/startup.py counts it with the window's)."""
        if self._reaped:
            return self._cpu
        try:  # still running (it serves the demo): fields 14 and 15 of its stat, in ticks
            with open(f"/proc/{self.pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    async def close(self) -> None:
        """End the child: whatever it was doing, and the demo's server if it serves one;
        waits for it to leave (killed if it does not)."""
        import asyncio

        self._closing = True
        self._unwatch()
        self._close_fd("go")  # before go: it leaves without asking anything
        self._close_fd("lifeline")
        self._close_fd("answer")  # not while a worker thread reads it: `_take` holds it then
        for _ in range(REAP_TRIES):
            if self._reap():
                return
            await asyncio.sleep(REAP_POLL_S)
        import signal

        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
            await asyncio.to_thread(os.waitpid, self.pid, 0)
        self._reaped = True

    def _reap(self) -> bool:
        if not self._reaped:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                done = self.pid
            self._reaped = done == self.pid
        return self._reaped

    def _close_fd(self, name: str) -> None:
        with self._fds_lock:
            fd, self._fds[name] = self._fds[name], -1
        if fd >= 0:
            os.close(fd)


def _parse(line: bytes, head: HeadStart | None) -> Result | None:
    """The child's line as the window takes it (its keys registered for redaction); None when
    there is none (the child died first) or it is malformed."""
    import json

    from streamdesk.core.redact import remember_secret

    try:
        message = json.loads(line)
        keys = KeychainAnswers.from_message(message)
        mock = message.get("mock")
        demo = (
            DemoProcess(head, str(mock["sse"]), str(mock["ws"]))
            if mock and head is not None
            else None
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    for key in keys.secrets():
        remember_secret(key)
    return Result(keys, demo)


# -- the child ----------------------------------------------------------------------------------


def _own_command() -> list[str]:
    """This app again, as it was started: the frozen bundle's executable, else this Python
    with its flags and `-m streamdesk` (both start at `run_if_child`). `-P`: the current
    folder is not put first on the module path, as the `streamdesk` script does not either."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    flags = sys.flags
    options = [
        option
        for option, on in (
            ("-I", flags.isolated),
            ("-E", flags.ignore_environment and not flags.isolated),
            ("-s", flags.no_user_site and not flags.isolated),
            ("-S", flags.no_site),
            ("-B", flags.dont_write_bytecode),
        )
        if on
    ]
    options += ["-O"] * flags.optimize
    for name, value in getattr(sys, "_xoptions", {}).items():
        options += ["-X", name if value is True else f"{name}={value}"]
    return [sys.executable, "-P", *options, "-m", "streamdesk"]


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
        # nothing to read: the window ended before its first frame, or closed
        status = _child(answer, lifeline) if os.read(go, 1) else 0
    except BaseException as exc:  # the window, reading no line, does the work itself
        import logging

        from streamdesk.core.redact import install_log_redaction

        install_log_redaction()
        logging.getLogger(__name__).warning(
            "the head start failed, the window does its work itself: %s: %s",
            type(exc).__name__,
            exc,
        )
    finally:
        os._exit(status)


CHILD_MODULES = (
    "asyncio",
    "streamdesk.core.store.secrets",
    "keyring.backends.SecretService",
    "streamdesk.core.store.settings",
    "streamdesk.core.store.history",
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
    from streamdesk.core.chat.target import unconfigured
    from streamdesk.core.store.secrets import KeyStore

    settings = _settings()
    asking = _Asking(KeyStore())
    _ask_as_the_window_would(asking, settings)
    message = asking.message()
    answers = KeychainAnswers.from_message(message)
    if not unconfigured(settings, answers):
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


class _Asking:
    """The key store's answers, asked one at a time; once the keychain cannot be reached,
    every later question gets that answer without asking (a locked keychain prompts once)."""

    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._answers: builtins.list[tuple[str, bool, str | None, str | None]] = []
        self._unreachable: str | None = None
        self._listed: builtins.list[str] | None = None
        self._list_problem: str | None = None
        self._backend_chosen = False

    def get(self, provider_id: str, *, environment: bool = True) -> str | None:
        from streamdesk.core.errors import KeychainUnavailable
        from streamdesk.core.store.secrets import InvalidKey

        for asked_id, asked_env, answered, why in self._answers:
            if (asked_id, asked_env) == (provider_id, environment):
                if why is not None:
                    raise KeychainUnavailable(why)
                return answered
        key: str | None = None
        problem: str | None = self._unreachable
        if problem is None:
            self._choose_backend()
            try:
                key = self._store.get(provider_id, environment=environment)
            except InvalidKey as exc:  # this key only
                problem = str(exc)
            except KeychainUnavailable as exc:
                problem = self._unreachable = str(exc)
        self._answers.append((provider_id, environment, key, problem))
        if problem is not None:
            raise KeychainUnavailable(problem)
        return key

    def list(self) -> builtins.list[str]:
        from streamdesk.core.errors import KeychainUnavailable

        if self._listed is None and self._list_problem is None:
            self._list_problem = self._unreachable
            if self._list_problem is None:
                self._choose_backend()
                try:
                    self._listed = self._store.list()
                except KeychainUnavailable as exc:
                    self._list_problem = self._unreachable = str(exc)
        if self._listed is None:
            raise KeychainUnavailable(self._list_problem or "The OS keychain is not available.")
        return builtins.list(self._listed)

    def _choose_backend(self) -> None:
        """As the window does (ui/app.py), once, and only if the keychain is asked at all."""
        if not self._backend_chosen:
            self._backend_chosen = True
            from streamdesk.core.store.secrets import load_backend

            with contextlib.suppress(Exception):  # the look-up says what is wrong
                load_backend()

    def message(self) -> dict[str, Any]:
        return {
            "answers": [list(answer) for answer in self._answers],
            "listed": self._listed,
            "list_problem": self._list_problem,
        }


def _ask_as_the_window_would(asking: _Asking, settings: Settings) -> None:
    """The questions of the window's start (`MainWindow.start`, `ProviderSwitcher.use`,
    `unconfigured`), for the provider it starts with, and the manual proxy's credentials a
    first request reads; never a question the window would not ask."""
    from streamdesk.core.chat.target import unconfigured
    from streamdesk.core.errors import KeychainUnavailable
    from streamdesk.core.providers import MOCK_PROVIDER_ID
    from streamdesk.core.store.settings import PROXY_KEY_ID

    key = None
    chosen = _chosen_provider(settings)
    if chosen != MOCK_PROVIDER_ID:
        with contextlib.suppress(KeychainUnavailable):
            key = asking.get(chosen)
    if not key:
        unconfigured(settings, asking)  # asks the relay's key and the list only if it must
    if settings.proxy_mode == "manual":
        with contextlib.suppress(KeychainUnavailable):
            asking.get(PROXY_KEY_ID, environment=False)


def _chosen_provider(settings: Settings) -> str:
    """The provider the window starts with: the reopened last chat's when the settings know it
    (built-in or profile), else the saved choice."""
    from streamdesk.core.providers import MOCK_PROVIDER_ID
    from streamdesk.core.store.history import last_used_provider
    from streamdesk.core.store.settings import resolve_provider

    for provider_id in (last_used_provider(), settings.active_provider):
        if provider_id and provider_id != MOCK_PROVIDER_ID:  # the demo's is listed only in it
            with contextlib.suppress(KeyError):  # no such provider any more
                return resolve_provider(settings, provider_id).id
    return settings.active_provider


def _write(fd: int, message: dict[str, Any], *, keep_open: bool = False) -> None:
    """The one line; `keep_open`: the window sees the pipe close when this process ends."""
    import json

    data = (json.dumps(message) + "\n").encode("utf-8")
    while data:
        data = data[os.write(fd, data) :]
    if not keep_open:
        os.close(fd)


def _read_line(fd: int) -> bytes:
    """Up to the first newline (the child writes one line), or all there is before the end."""
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 65536)
        chunks.append(chunk)
        if not chunk or b"\n" in chunk:
            return b"".join(chunks)


async def _serve_demo(answer: int, lifeline: int, message: dict[str, Any]) -> int:
    import asyncio

    from streamdesk.mock.server import MockServer

    async with MockServer(vary_replies=True) as server:
        message["mock"] = {"sse": server.sse_base_url, "ws": server.ws_url}
        _write(answer, message, keep_open=True)
        closed = asyncio.Event()  # the window closed the pipe, or died
        asyncio.get_running_loop().add_reader(lifeline, closed.set)
        await closed.wait()
    return 0
