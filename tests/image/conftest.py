"""The container image's tests: the image scripts/image-check built (THREADS_MOCK_IMAGE), run with podman and
driven from this machine over a published port, as a CI job or a developer's test suite would use it."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

# Every container these tests start is named so; scripts/image-check removes any left by a killed run.
NAME_PREFIX = "threads-mock-check-"
# The SDK's warnings that the Assistants API it calls is retired (the mock's whole subject); any other
# warning, the Testcontainers library's included, stays in the report.
SDK_DEPRECATIONS = [
    pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:deprecated$:DeprecationWarning"),
]


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """podman as the script configured it (CONTAINERS_CONF in the environment)."""
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


@dataclass(frozen=True)
class Running:
    name: str
    url: str  # http://127.0.0.1:PORT, the published port

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        request = urllib.request.Request(f"{self.url}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr


@pytest.fixture(scope="session")
def image() -> str:
    return os.environ["THREADS_MOCK_IMAGE"]


@contextmanager
def running(
    image: str, env: Mapping[str, str], args: Sequence[str] = (), port: int = 4010, timeout: float = 30
) -> Iterator[Running]:
    """The image started detached with `env` (and arguments after the image name), its port published on
    a free loopback port; yields once /__mock__/health answers, and removes the container after."""
    name = f"{NAME_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
    environment = [f"--env={key}={value}" for key, value in env.items()]
    podman("run", "--detach", "--name", name, f"--publish=127.0.0.1::{port}", *environment, image, *args)
    try:
        published = podman("port", name, f"{port}/tcp").stdout.strip().splitlines()[0]
        mock = Running(name, f"http://{published}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                if mock.get("/__mock__/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the mock did not answer within {timeout} s:\n{mock.logs()}")
            time.sleep(0.1)
        yield mock
    finally:
        podman("rm", "--force", "--time=0", name, check=False)
