"""Each fault kind through each of the four doors, seen by the official openai SDK over a real socket,
and the SDK's retries seen in the journal with the delays `retry-after` asked for.

Run again by `make test` against openai 1.x (httpx) in .venv-openai1; 3.x (httpx2) in .venv."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from mock_server import Settings, create_app
from mock_server.cli import parser
from mock_server.server import BackgroundServer

from .helpers import journal, wait_until

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

WHERE = "POST /v1/threads"
DOORS = ("header", "command line", "config file", "admin API")


def last_entry(server: BackgroundServer) -> dict[str, Any]:
    return journal(server, path="/v1/threads", method="POST")[-1]


@dataclass
class Door:
    """A server whose `POST /v1/threads` gets one fault, given through one door."""

    name: str
    server: BackgroundServer
    headers: dict[str, str] = field(default_factory=dict)

    def client(self, **options: Any) -> OpenAI:
        settings: dict[str, Any] = {"max_retries": 0, "timeout": 10.0, **options}
        return OpenAI(base_url=self.server.base_url, api_key="sk-mock", default_headers=self.headers, **settings)

    def create(self, client: OpenAI) -> Any:
        return client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # ints, floats and plain strings are spelled the same in TOML


@pytest.fixture(scope="module")
def shared_servers() -> Iterator[dict[str, BackgroundServer]]:
    """The header and admin API doors need no start-up settings: one server each serves the module."""
    servers: dict[str, BackgroundServer] = {}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def open_door(
    tmp_path: Path, shared_servers: dict[str, BackgroundServer]
) -> Iterator[Callable[[str, str, dict[str, Any]], Door]]:
    servers: list[BackgroundServer] = []

    def start(settings: Settings) -> BackgroundServer:
        server = BackgroundServer(create_app(settings)).start()
        servers.append(server)
        return server

    def shared(door: str) -> BackgroundServer:
        if door not in shared_servers:
            shared_servers[door] = BackgroundServer(create_app(Settings(log_level="warning"))).start()
        server = shared_servers[door]
        assert httpx.post(f"{server.url}/__mock__/reset").status_code == 200  # no rule or entry of another test
        return server

    def open_(door: str, text: str, data: dict[str, Any]) -> Door:
        if door == "header":
            return Door(door, shared(door), {"X-Mock-Fault": text})
        if door == "command line":
            options = vars(parser().parse_args(["serve", "--fault", f"{WHERE}: {text}", "--log-level", "warning"]))
            options.pop("command")
            return Door(door, start(Settings.load(options, environ={})))
        if door == "config file":
            lines = ["log_level = 'warning'", "", "[[faults]]", f"match = {toml_value(WHERE)}"]
            lines += [f"{key} = {toml_value(value)}" for key, value in data.items()]
            config = tmp_path / "mock.toml"
            config.write_text("\n".join(lines) + "\n")
            return Door(door, start(Settings.load({"config": str(config)}, environ={})))
        server = shared(door)
        added = httpx.post(f"{server.url}/__mock__/faults", json={"match": WHERE, **data})
        assert added.status_code == 201, added.text
        return Door(door, server)

    yield open_
    for server in servers:
        server.stop()


# ---- each kind, each door ----


@pytest.mark.parametrize("door", DOORS)
def test_status_503_raises_internal_server_error(open_door: Callable[..., Door], door: str) -> None:
    opened = open_door(door, "status=503", {"status": 503})
    with pytest.raises(openai.InternalServerError) as caught:
        opened.create(opened.client())
    assert caught.value.status_code == 503
    assert caught.value.type == "server_error"
    assert "The server is overloaded or not ready yet." in caught.value.message
    assert caught.value.request_id == last_entry(opened.server)["request_id"]
    assert last_entry(opened.server)["fault"]["kind"] == "status"


@pytest.mark.parametrize("door", DOORS)
def test_status_429_raises_rate_limit_error(open_door: Callable[..., Door], door: str) -> None:
    opened = open_door(door, "status=429; retry_after=7", {"status": 429, "retry_after": 7})
    with pytest.raises(openai.RateLimitError) as caught:
        opened.create(opened.client())
    assert (caught.value.status_code, caught.value.code, caught.value.type) == (429, "rate_limit_exceeded", "requests")
    assert caught.value.response.headers["retry-after"] == "7"
    assert "Please try again in 7s." in caught.value.message


@pytest.mark.parametrize("door", DOORS)
def test_latency_delays_the_real_answer(open_door: Callable[..., Door], door: str) -> None:
    opened = open_door(door, "latency=100ms", {"latency": "100ms"})
    thread = opened.create(opened.client())
    assert thread.id.startswith("thread_")
    entry = last_entry(opened.server)
    assert entry["status"] == 200
    assert entry["fault"]["latency_ms"] == 100
    assert entry["duration_ms"] >= 100


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("kind", ["reset", "empty"])
def test_reset_and_empty_raise_connection_errors(open_door: Callable[..., Door], door: str, kind: str) -> None:
    opened = open_door(door, kind, {kind: True})
    with pytest.raises(openai.APIConnectionError) as caught:
        opened.create(opened.client())
    assert type(caught.value) is openai.APIConnectionError  # not its subclass APITimeoutError
    # With no answer sent, the entry completes once the server has seen the connection close.
    wait_until(lambda: last_entry(opened.server)["completed"])
    entry = last_entry(opened.server)
    assert (entry["status"], entry["fault"]["kind"], entry["completed"]) == (None, kind, True)
    assert entry["body"] == {"messages": [{"role": "user", "content": "Hello"}]}


@pytest.mark.parametrize("door", DOORS)
def test_malformed_body_fails_to_decode(open_door: Callable[..., Door], door: str) -> None:
    opened = open_door(door, "malformed", {"malformed": True})
    with pytest.raises(json.JSONDecodeError):
        opened.create(opened.client())
    raw = httpx.post(
        f"{opened.server.base_url}/threads",
        headers={"Authorization": "Bearer k", "OpenAI-Beta": "assistants=v2", **opened.headers},
    )
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/json"
    assert raw.content.startswith(b'{"id":"thread_')
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.content)


@pytest.mark.parametrize("door", DOORS)
def test_invalid_body_fails_strict_validation(open_door: Callable[..., Door], door: str) -> None:
    opened = open_door(door, "invalid", {"invalid": True})
    with pytest.raises(openai.APIResponseValidationError):
        opened.create(opened.client(_strict_response_validation=True))
    lenient = opened.create(opened.client())
    assert lenient.id is None and lenient.object == "thread"
    assert last_entry(opened.server)["status"] == 200


@pytest.mark.parametrize("door", DOORS)
def test_slow_answer_arrives_whole_after_its_duration(open_door: Callable[..., Door], door: str) -> None:
    opened = open_door(door, "slow=200ms", {"slow": "200ms"})
    thread = opened.create(opened.client())
    assert thread.id.startswith("thread_")
    entry = last_entry(opened.server)
    assert (entry["status"], entry["fault"]["kind"]) == (200, "slow")
    assert entry["duration_ms"] >= 200


@pytest.mark.parametrize("door", DOORS)
def test_hang_ends_in_a_client_timeout(open_door: Callable[..., Door], door: str) -> None:
    opened = open_door(door, "hang=30s", {"hang": "30s"})
    with pytest.raises(openai.APITimeoutError):
        opened.create(opened.client(timeout=0.2))
    # The client gave up and closed its connection: the hang ends then, not 30 s later.
    wait_until(lambda: last_entry(opened.server)["completed"])
    entry = last_entry(opened.server)
    assert (entry["status"], entry["fault"]["kind"]) == (None, "hang")


# ---- retries, as the journal saw them ----


def attempts(server: BackgroundServer) -> list[dict[str, Any]]:
    return journal(server, method="POST", path="/v1/threads")


def gaps(entries: list[dict[str, Any]]) -> list[float]:
    return [later["started_at"] - earlier["started_at"] for earlier, later in itertools.pairwise(entries)]


def test_retries_wait_the_retry_after_ms_asked_for(open_door: Callable[..., Door]) -> None:
    opened = open_door("admin API", "", {"status": 429, "retry_after": "300ms", "times": 2})
    thread = opened.create(opened.client(max_retries=2))
    assert thread.id.startswith("thread_")
    seen = attempts(opened.server)
    assert [e["headers"]["x-stainless-retry-count"] for e in seen] == ["0", "1", "2"]
    assert [e["status"] for e in seen] == [429, 429, 200]
    assert all(gap >= 0.25 for gap in gaps(seen)), gaps(seen)


def test_retries_wait_the_retry_after_seconds_asked_for(open_door: Callable[..., Door]) -> None:
    opened = open_door("header", "status=503; retry_after=1", {})
    with pytest.raises(openai.InternalServerError):
        opened.create(opened.client(max_retries=1))
    seen = attempts(opened.server)
    assert [e["headers"]["x-stainless-retry-count"] for e in seen] == ["0", "1"]
    assert [e["fault"]["status"] for e in seen] == [503, 503]
    assert gaps(seen)[0] >= 0.9


def test_should_retry_false_stops_the_sdk_and_true_makes_it_retry_a_400(open_door: Callable[..., Door]) -> None:
    opened = open_door("admin API", "", {"status": 503, "should_retry": False, "times": 1})
    with pytest.raises(openai.InternalServerError):
        opened.create(opened.client(max_retries=2))
    assert len(attempts(opened.server)) == 1

    forced = open_door("header", "status=400; should_retry=true; retry_after=10ms", {})
    with pytest.raises(openai.BadRequestError):
        forced.create(forced.client(max_retries=1))
    assert [e["headers"]["x-stainless-retry-count"] for e in attempts(forced.server)] == ["0", "1"]


def test_connection_resets_are_retried_and_each_attempt_is_journaled(open_door: Callable[..., Door]) -> None:
    opened = open_door("command line", "reset; times=2", {})
    thread = opened.create(opened.client(max_retries=2))
    assert thread.id.startswith("thread_")
    seen = attempts(opened.server)
    assert [(e["fault"] or {}).get("kind") for e in seen] == ["reset", "reset", None]
    assert [e["status"] for e in seen] == [None, None, 200]
    assert [e["headers"]["x-stainless-retry-count"] for e in seen] == ["0", "1", "2"]
