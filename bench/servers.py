"""The server processes under test, on loopback, and the small HTTP client that sets them up."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AUTH = {"Authorization": "Bearer sk-bench", "OpenAI-Beta": "assistants=v2"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None = None

    def line(self) -> str:
        body = json.dumps(self.body, separators=(",", ":")) if self.body is not None else ""
        return f"{self.method}\t{self.path}\t{body}"


def call(url: str, request: Request, timeout: float = 10.0) -> tuple[int, Any]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        body = None if request.body is None else json.dumps(request.body).encode()
        headers = {**AUTH, **({"Content-Type": "application/json"} if body is not None else {})}
        connection.request(request.method, request.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, data.decode(errors="replace")
    finally:
        connection.close()


def expect_ok(url: str, request: Request) -> Any:
    status, body = call(url, request)
    if not 200 <= status < 300:
        raise BenchError(f"{request.method} {request.path} on {url} answered {status}: {body}")
    return body


class BenchError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


class Server:
    """A server process on loopback, pinned to the server core when there is one."""

    def __init__(
        self, name: str, command: Sequence[str], pin: Sequence[str], log_dir: Path, ready: Request | None = None
    ) -> None:
        self.name = name
        # What answers 200 once the server is up: the mock and the baseline have /__mock__/health.
        self.ready = ready or Request("GET", "/__mock__/health")
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*pin, *command, "--port", str(self.port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 30.0) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if call(self.url, self.ready, timeout=1.0)[0] == 200:
                    return self
            time.sleep(0.02)
        raise BenchError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"{self.name} died with {self.process.returncode}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])

    def cpu_seconds(self) -> float:
        """CPU time of the server and of its child processes still running (Granian serves from a worker)."""
        ticks = 0
        for pid in [self.pid, *descendants(self.pid)]:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise BenchError("no VmRSS in /proc/PID/status")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def mock_command() -> list[str]:
    # `threads-mock serve` as a user starts it, with the access log off (info level logs each request).
    return [sys.executable, "-m", "mock_server", "serve", "--host", "127.0.0.1", "--log-level", "warning"]


def baseline_command(stream: Path | None = None) -> list[str]:
    # The same stack as the mock's (bench/baseline.py); `stream`: the run stream its streaming route replays.
    return [
        sys.executable,
        "-m",
        "bench.baseline",
        "--host",
        "127.0.0.1",
        *(["--stream", str(stream)] if stream else []),
    ]
