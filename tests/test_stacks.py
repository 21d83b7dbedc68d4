"""The transport-sensitive behaviours on both server stacks (issue 19): httptools + uvloop, the default where their
wheels install, and h11 + asyncio, uvicorn's pure-Python fallback (`--http h11 --loop asyncio`, and what `auto`
picks where the compiled ones are missing). The faults that drop a connection reach for the transport, which
differs between the stacks; body timeouts, event streams and graceful shutdown run on each one's own loop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from mock_server.server import BackgroundServer
from mock_server.stack import Stack

from .helpers import HEADERS, QUIET, serving
from .test_faults_concurrency import raw_request
from .test_shutdown import WAIT, in_flight, send_in_background

STACKS = [pytest.param(("httptools", "uvloop"), id="httptools-uvloop"), pytest.param(("h11", "asyncio"), id="h11")]


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[str, str]:
    http, loop = request.param
    return http, loop


def on(start_server: Callable[..., BackgroundServer], stack: tuple[str, str], **settings: object) -> BackgroundServer:
    http, loop = stack
    server = start_server(http=http, loop=loop, **settings)
    assert server.stack == Stack(http, loop)
    return server


def test_reset_sends_an_rst_and_empty_a_fin_without_an_answer(
    start_server: Callable[..., BackgroundServer], stack: tuple[str, str]
) -> None:
    server = on(start_server, stack)
    with raw_request(server, "reset") as sock:
        sock.settimeout(WAIT)
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)
    with raw_request(server, "empty") as sock:
        sock.settimeout(WAIT)
        assert sock.recv(1024) == b""


def test_a_hang_ends_at_its_bound_unanswered(
    start_server: Callable[..., BackgroundServer], stack: tuple[str, str]
) -> None:
    server = on(start_server, stack)
    with raw_request(server, "hang=200ms") as sock:
        sock.settimeout(WAIT)
        assert sock.recv(1024) == b""


def test_a_body_that_stops_coming_gets_408(
    start_server: Callable[..., BackgroundServer], stack: tuple[str, str]
) -> None:
    server = on(start_server, stack, body_timeout=0.3)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(WAIT)
        head = (
            "POST /v1/threads HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer sk-mock\r\nOpenAI-Beta: assistants=v2\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        sock.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_run_streams_to_done_and_a_slow_answer_arrives_whole(
    start_server: Callable[..., BackgroundServer], stack: tuple[str, str]
) -> None:
    server = on(start_server, stack)
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=WAIT) as api:
        assistant = api.post("/assistants", json={"model": "gpt-4o"}).json()["id"]
        thread = api.post("/threads", json={"messages": [{"role": "user", "content": "Hello"}]}).json()["id"]
        with api.stream("POST", f"/threads/{thread}/runs", json={"assistant_id": assistant, "stream": True}) as events:
            data = [line.removeprefix("data: ") for line in events.iter_lines() if line.startswith("data: ")]
        assert data[-1] == "[DONE]"
        assert json.loads(data[-2])["status"] == "completed"
        slow = api.get(f"/threads/{thread}", headers={"X-Mock-Fault": "slow=200ms"})
        assert slow.status_code == 200 and slow.json()["id"] == thread


@pytest.mark.parametrize("http,loop", [("httptools", "uvloop"), ("h11", "asyncio")])
def test_sigterm_lets_the_request_in_flight_finish(http: str, loop: str) -> None:
    with serving(*QUIET, "--http", http, "--loop", loop) as server, server.client() as api:
        thread = api.post("/threads", json={}).json()
        pending = send_in_background(
            "GET", f"{server.url}/v1/threads/{thread['id']}", headers={"X-Mock-Fault": "latency=800ms"}, timeout=WAIT
        )
        in_flight(server, f"/v1/threads/{thread['id']}")
        server.process.send_signal(signal.SIGTERM)
        assert pending.result(WAIT).json() == thread
        assert server.process.wait(WAIT) == 0
    assert "Traceback" not in server.output


BLOCKED = """
import importlib.abc, sys

class WheelsMissing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("httptools", "uvloop"):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, WheelsMissing())
from mock_server.stack import Stack
print(Stack.resolve())
try:
    Stack.resolve("httptools", "auto")
except ValueError as error:
    print(error)
"""


def test_auto_falls_back_to_the_pure_stack_where_the_wheels_are_missing() -> None:
    finished = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, timeout=60, check=True)
    assert finished.stdout.splitlines() == [
        "http=h11, loop=asyncio",
        "--http httptools: httptools is not installed (pip install httptools)",
    ]
