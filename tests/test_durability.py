"""The SQLite store as users run it: a real `python -m mock_server serve --store sqlite:PATH` process that is
restarted, killed with SIGKILL in the middle of writes, and run with several workers."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from mock_server.cli import listening_socket

from .helpers import QUIET, START_TIMEOUT, Served, serve_command, serving

ON_LINUX = Path("/proc/self/fd").is_dir() and Path("/proc/net/tcp").is_file()


def test_a_restarted_server_serves_what_was_created_before(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'mock.db'}"
    with serving(*QUIET, "--store", store) as server, server.client() as api:
        created = api.post("/threads", json={"messages": [{"role": "user", "content": "one"}], "metadata": {"a": "1"}})
        thread_id = created.json()["id"]
        api.post(f"/threads/{thread_id}/messages", json={"role": "assistant", "content": "two"}).raise_for_status()
        modified = api.post(f"/threads/{thread_id}", json={"metadata": {"b": "2"}}).json()
        messages = api.get(f"/threads/{thread_id}/messages", params={"order": "asc"}).json()
        deleted = api.post("/threads").json()["id"]
        assert api.delete(f"/threads/{deleted}").status_code == 200
    assert server.process.returncode is not None
    with serving(*QUIET, "--store", store) as server, server.client() as api:
        assert api.get(f"/threads/{thread_id}").json() == modified
        assert api.get(f"/threads/{thread_id}/messages", params={"order": "asc"}).json() == messages
        assert [m["content"][0]["text"]["value"] for m in messages["data"]] == ["one", "two"]
        assert api.get(f"/threads/{deleted}").status_code == 404
        assert httpx.get(f"{server.url}/__mock__/health").json()["store"]["threads"] == 1


@dataclass
class Answered:
    """What the server answered with a 200 before it was killed."""

    threads: dict[str, dict[str, Any]]
    messages: dict[tuple[str, str], dict[str, Any]]
    last_step: dict[str, int]  # thread id -> the last metadata step a modify answered
    lock: threading.Lock


def write_until_killed(server: Served, answered: Answered, client: int, stop: threading.Event) -> None:
    """Creates threads, adds messages and modifies the thread, recording each answer, until the server dies."""
    with server.client() as api:
        try:
            while not stop.is_set():
                thread = api.post("/threads", json={"metadata": {"client": str(client)}})
                assert thread.status_code == 200, thread.text
                thread_id = thread.json()["id"]
                with answered.lock:
                    answered.threads[thread_id] = thread.json()
                for step in range(3):
                    body = {"role": "user", "content": f"client {client} step {step}"}
                    message = api.post(f"/threads/{thread_id}/messages", json=body)
                    assert message.status_code == 200, message.text
                    with answered.lock:
                        answered.messages[thread_id, message.json()["id"]] = message.json()
                    modify = api.post(f"/threads/{thread_id}", json={"metadata": {"step": str(step)}})
                    assert modify.status_code == 200, modify.text
                    with answered.lock:
                        answered.last_step[thread_id] = step
        except httpx.TransportError:
            return  # the kill, in the middle of a request: that one was never answered


def test_kill_9_during_writes_loses_nothing_that_was_answered(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'mock.db'}"
    answered = Answered({}, {}, {}, threading.Lock())
    stop = threading.Event()
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            write_until_killed(server, answered, index, stop)
        except BaseException as error:  # re-raised below: a failure in a thread would pass silently
            errors.append(error)

    with serving(*QUIET, "--store", store) as server:
        clients = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 20
        while len(answered.messages) < 200 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        stop.set()
        for thread in clients:
            thread.join(15)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in clients)
    assert len(answered.messages) >= 200, "the clients wrote too little before the deadline"

    with serving(*QUIET, "--store", store) as server, server.client() as api:
        for thread_id, created in answered.threads.items():
            stored = api.get(f"/threads/{thread_id}")
            assert stored.status_code == 200, thread_id
            # A modify may have been written but not answered when the kill came: at least the last answered.
            stored_thread = stored.json()
            step = stored_thread["metadata"].pop("step", None)
            assert stored_thread == created, thread_id
            if thread_id in answered.last_step:
                assert step is not None and int(step) >= answered.last_step[thread_id], thread_id
        for (thread_id, message_id), message in answered.messages.items():
            assert api.get(f"/threads/{thread_id}/messages/{message_id}").json() == message


def proc_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        # The command name, in parentheses, may hold spaces; the parent pid is the second field after it.
        if int(text.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def worker_pids(pid: int) -> list[int]:
    """uvicorn's workers: the children started by multiprocessing's spawn (not its resource tracker)."""
    workers = []
    for child in proc_children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
        except OSError:
            continue
    return sorted(workers)


@pytest.mark.skipif(not ON_LINUX, reason="finds the worker processes through /proc")
def test_two_workers_share_one_consistent_state(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'mock.db'}"
    with serving(*QUIET, "--store", store, "--workers", "2") as server, ExitStack() as connections:
        deadline = time.monotonic() + START_TIMEOUT
        while len(worker_pids(server.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = worker_pids(server.process.pid)
        assert len(workers) == 2, workers

        with server.client() as api:
            thread_id = api.post("/threads", json={"messages": [{"role": "user", "content": "0"}]}).json()["id"]

        # Each request below goes on a new connection (kept open), which the kernel hands to either worker.
        def fresh() -> httpx.Client:
            return connections.enter_context(server.client())

        for i in range(1, 31):
            added = fresh().post(f"/threads/{thread_id}/messages", json={"role": "user", "content": str(i)})
            assert added.status_code == 200
            listing = fresh().get(f"/threads/{thread_id}/messages", params={"order": "asc", "limit": 100})
            assert [m["content"][0]["text"]["value"] for m in listing.json()["data"]] == [str(n) for n in range(i + 1)]
            got = fresh().get(f"/threads/{thread_id}/messages/{added.json()['id']}")
            assert got.json() == added.json()
        # New connections land on either worker; the health answer names the process that served it.
        served_by = {fresh().get(f"{server.url}/__mock__/health").json()["pid"] for _ in range(60)}
        assert served_by == set(workers), f"workers {workers}, served by {served_by}"
        assert httpx.get(f"{server.url}/__mock__/health").json()["store"]["threads"] == 1


def test_workers_connections_get_tcp_nodelay() -> None:
    """The workers' shared listener hands asyncio connections it sets TCP_NODELAY on (see listening_socket)."""
    config = uvicorn.Config("mock_server.cli:worker_app", factory=True, host="127.0.0.1", port=0, workers=2)
    listener = listening_socket(config)
    options: list[int] = []

    class Record(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            options.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Record, sock=listener)
        async with server:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(200):
                if options:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(accept_one())
    assert options == [1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "2"], "--workers 2 needs a store the workers share: add --store sqlite:PATH"),
        (["--workers", "2", "--store", "sqlite:{db}", "--seed", "1"], "--seed needs a single worker"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--max-threads", "0"], "max_threads must be at least 1"),
        (["--store", "sqlite:{tmp}/missing/dir/x.db"], "cannot open the sqlite store"),
        (
            ["--store", "pg://localhost"],
            "unknown store 'pg://localhost'; known: memory, redis://HOST:PORT/DB, sqlite:PATH",
        ),
        (["--store", "redis://127.0.0.1:1/0"], "cannot reach the redis store 'redis://127.0.0.1:1/0'"),
    ],
)
def test_serve_refuses_what_it_cannot_keep(tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.format(db=tmp_path / "x.db", tmp=tmp_path) for a in args]
    result = subprocess.run(serve_command(*QUIET, *args), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"threads-mock serve: error: {message}" in result.stderr
