from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from mock_server import Settings, create_app
from mock_server.contract import Contract
from mock_server.server import BackgroundServer

from .helpers import HEADERS, SHARED_SSL

# The SDK-1 virtualenv (make test-sdk1, only the sdk tests) installs the test extra alone; the property
# tests import the fuzz extra's Hypothesis and hypothesis-jsonschema at collection. `make test-main` always
# has them.
HYPOTHESIS_TESTS = ["test_properties.py", "test_explain.py", "test_document_properties.py"]
collect_ignore = [] if importlib.util.find_spec("hypothesis_jsonschema") else HYPOTHESIS_TESTS
# tests/image needs the built container image and podman: `make image-check` (scripts/image-check) builds
# it, names it in THREADS_MOCK_IMAGE and runs them; `make test` leaves them out.
if not os.environ.get("THREADS_MOCK_IMAGE"):
    collect_ignore = [*collect_ignore, "image"]
# tests/agents imports openai-agents (the `agents` extra, seconds of CPU to import): `make test-agents` installs it,
# sets THREADS_MOCK_AGENTS and runs them; `make test` leaves them out.
if not os.environ.get("THREADS_MOCK_AGENTS"):
    collect_ignore = [*collect_ignore, "agents"]
# tests/fleet needs redis-server and takes minutes: `make test-fleet` installs it, sets FLEET_CHECK=1 and
# runs them; `make test` leaves them out.
if not os.environ.get("FLEET_CHECK"):
    collect_ignore = [*collect_ignore, "fleet"]


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
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10, verify=SHARED_SSL) as client:
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


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytest's own pytester, whose runs leave out the Schemathesis and Hypothesis plugins that this virtualenv
    installs: the sample suites use neither, and importing them was half of every run's start-up. Nor the
    plugins `make test-sdk-suites` adds for openai-python's suites (pytest-asyncio warns of its unset options)."""
    # After pytester's own set-up, which clears PYTEST_ADDOPTS so that no option of ours leaks in.
    blocked = ("schemathesis", "hypothesispytest", "asyncio", "respx")
    monkeypatch.setenv("PYTEST_ADDOPTS", " ".join(f"-p no:{name}" for name in blocked))
    return pytester
