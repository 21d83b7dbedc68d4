"""What several test modules share: headers, the streamed event order, a garbage-collector probe, and a real
`python -m mock_server serve` process on a port the system chose."""

from __future__ import annotations

import gc
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

HEADERS = {"Authorization": "Bearer sk-mock", "OpenAI-Beta": "assistants=v2"}

# httpx loads the CA bundle into a new SSL context for every client it builds (a tenth of a second each on
# a busy machine); the tests speak plain HTTP to loopback, so the clients they build by the hundred share one.
SHARED_SSL = ssl.create_default_context()

# The event order of a streamed text reply, as the real API sent it (openai-runs-facts.md); deltas once.
TEXT_REPLY_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.delta",
    "thread.message.completed",
    "thread.run.step.completed",
    "thread.run.completed",
]

T = TypeVar("T")


def uploaded(api: httpx.Client, content: bytes = b"A file a body names.", filename: str = "doc.txt") -> str:
    """The id of a new `assistants` file: a body naming a file needs one an upload made."""
    answer = api.post("/files", files={"file": (filename, content)}, data={"purpose": "assistants"})
    assert answer.status_code == 200, answer.text
    file_id: str = answer.json()["id"]
    return file_id


CONTAINERS = (dict, list, tuple, deque)


def tracked_within(containers: Iterable[Any]) -> list[Any]:
    """What the containers hold, at any depth, that the garbage collector still tracks (after a collection,
    the objects each young collection would walk again)."""
    found: list[Any] = []
    stack = [item for item in containers if isinstance(item, CONTAINERS)]
    while stack:
        container = stack.pop()
        held = [*container.keys(), *container.values()] if isinstance(container, dict) else container
        for item in held:
            if gc.is_tracked(item):
                found.append(item)
            if isinstance(item, CONTAINERS):
                stack.append(item)
    return found


class Reachable(Protocol):
    """A running mock, in this process (BackgroundServer) or its own (Served)."""

    @property
    def url(self) -> str: ...


def journal(server: Reachable, **filters: Any) -> list[dict[str, Any]]:
    """The request journal as a client reads it, GET /__mock__/requests."""
    answer = httpx.get(f"{server.url}/__mock__/requests", params=filters, verify=SHARED_SSL)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def wait_until(condition: Callable[[], T], seconds: float = 10.0, message: str = "condition not met in time") -> T:
    """Polls until the condition gives something true, and returns it. The bound is a safety net for a
    broken server, not a timing assertion."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.02)
    return found


# ---- a server in its own process ----

# Generous for a loaded 2-core machine; only a server that never comes up waits this long.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# For servers under load: no line per request.
QUIET = ("--log-level", "warning")
# What `serve` prints on stderr once its socket is bound ("threads-mock 0.1.0 on http://127.0.0.1:4010/v1");
# uvicorn's own "running on" line names no /v1.
START_LINE = re.compile(r" on http://(?P<host>\S+):(?P<port>\d+)/v1\b")


def serve_command(*args: str, python: str = sys.executable) -> list[str]:
    """`serve` on a port the system chooses; later options (a test's own --port) win."""
    return [python, "-m", "mock_server", "serve", "--port", "0", *args]


class Served:
    """A running `serve` process: the port its start line named, and everything it printed, stdout and
    stderr together, read as it comes so that a chatty server never blocks on a full pipe."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        self._port: int | None = None
        self._announced = threading.Event()
        self._reader = threading.Thread(target=self._read, name="served-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)
            found = START_LINE.search(line) if self._port is None else None
            if found:
                self._port = int(found["port"])
                self._announced.set()
        self._announced.set()  # the output ended: the process is gone, with or without a start line

    @property
    def port(self) -> int:
        assert self._port is not None, "the server has not said where it listens"
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        """All it printed so far; all it ever printed once it has stopped."""
        if self.process.poll() is not None:
            self._reader.join(STOP_TIMEOUT)
        return "".join(self._lines)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/v1", headers=HEADERS, timeout=10, verify=SHARED_SSL)

    def wait_until_ready(self) -> None:
        """Until the start line names the port and the server answers its health check."""
        deadline = time.monotonic() + START_TIMEOUT
        self._announced.wait(START_TIMEOUT)
        while self._port is not None and self.process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/__mock__/health", timeout=1, verify=SHARED_SSL).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the server did not start:\n{self.output}")

    def stop(self) -> str:
        """SIGTERM, then SIGKILL to whatever is left of its process group (workers of a killed parent);
        returns all it printed."""
        if self.process.poll() is None:
            self.process.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT)
        # The group is ours: the process was started in a session of its own below.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)
        return self.output


@contextmanager
def serving(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None, python: str = sys.executable
) -> Iterator[Served]:
    """`python -m mock_server serve ARGS` in its own process group, ready to answer; stopped on exit.
    `env` is added to this process's environment."""
    process = subprocess.Popen(
        serve_command(*args, python=python),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    served = Served(process)
    try:
        served.wait_until_ready()
        yield served
    finally:
        served.stop()


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port bound and never listened on, held for the block: every connection to it is refused,
    and no other process can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


def collapse(names: list[str]) -> list[str]:
    """Stream event names with each run of the same name (the deltas) counted once."""
    return [name for i, name in enumerate(names) if i == 0 or name != names[i - 1]]
