from __future__ import annotations

import gc
import importlib.util
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from mock_server import Settings, create_app
from mock_server.contract import Contract
from mock_server.server import BackgroundServer

HEADERS = {"Authorization": "Bearer sk-mock", "OpenAI-Beta": "assistants=v2"}


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


def free_port() -> int:
    """A loopback port free now, for a server started as a separate process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# The SDK-1 virtualenv (make test-sdk1, only the sdk tests) installs the test extra alone; the property
# tests import the fuzz extra's hypothesis-jsonschema at collection. `make test-main` always has it.
collect_ignore = [] if importlib.util.find_spec("hypothesis_jsonschema") else ["test_properties.py"]


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


@pytest.fixture
def start_server() -> Iterator[Callable[..., BackgroundServer]]:
    """Starts real uvicorn servers on free loopback ports, stopped after the test."""
    servers: list[BackgroundServer] = []

    def start(**settings: Any) -> BackgroundServer:
        server = BackgroundServer(create_app(Settings(**settings))).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., BackgroundServer]) -> BackgroundServer:
    return start_server()


@pytest.fixture
def api(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as client:
        yield client


@pytest.fixture
def conforms(contract: Contract) -> Callable[[httpx.Response, str], dict[str, Any]]:
    """Asserts a response is what the contract declares for the operation, and returns its body."""

    def check(response: httpx.Response, operation_id: str) -> dict[str, Any]:
        operation = contract.operations[operation_id]
        declared = operation.responses.get(str(response.status_code))
        assert declared is not None, f"{operation_id} answered undeclared {response.status_code}: {response.text}"
        schema = operation.response_schema(response.status_code)
        body = response.json()
        assert schema is not None
        jsonschema.Draft202012Validator(schema).validate(body)
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-request-id"].startswith("req_")
        assert response.headers["openai-version"] == "2020-10-01"
        assert response.headers["openai-processing-ms"].isdigit()
        assert "server" not in response.headers
        return body

    return check
