"""The admin API: fault rules at runtime, reset, health, and who may use it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.admin import is_loopback
from mock_server.server import BackgroundServer

from .helpers import HEADERS


@pytest.fixture
def admin(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/__mock__") as client:
        yield client


def test_add_list_get_and_delete_rules(admin: httpx.Client, api: httpx.Client) -> None:
    added = admin.post("/faults", json={"match": "POST /v1/threads", "status": 429, "retry_after": 1, "times": 1})
    assert added.status_code == 201
    rule = added.json()
    assert rule == {
        "id": "fault_1",
        "match": "POST /v1/threads",
        "status": 429,
        "retry_after": 1,
        "times": 1,
        "matched": 0,
        "applied": 0,
    }
    assert api.post("/threads").status_code == 429
    assert api.post("/threads").status_code == 200
    assert admin.get("/faults/fault_1").json()["applied"] == 1
    second = admin.post("/faults", json={"rule": "GET /v1/threads/*: latency=10ms..20ms; every=2"}).json()
    assert second["latency"] == "10ms..20ms" and second["every"] == 2
    listed = admin.get("/faults").json()
    assert listed["object"] == "list"
    assert [r["id"] for r in listed["data"]] == ["fault_1", "fault_2"]
    assert admin.delete("/faults/fault_1").json() == {"id": "fault_1", "deleted": True}
    assert admin.get("/faults/fault_1").status_code == 404
    assert admin.delete("/faults").json() == {"deleted": 1}
    assert admin.get("/faults").json()["data"] == []


def test_a_list_of_rules_is_added_whole_or_not_at_all(admin: httpx.Client) -> None:
    refused = admin.post("/faults", json=[{"status": 503}, {"status": 503, "every": 0}])
    assert refused.status_code == 400
    assert admin.get("/faults").json()["data"] == []
    added = admin.post("/faults", json=[{"status": 503, "match": "DELETE"}, "POST /v1/threads: reset"])
    assert added.status_code == 201
    assert [r["match"] for r in added.json()["data"]] == ["DELETE", "POST /v1/threads"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"status": 503, "every": 0}', "Invalid fault rule: every must be at least 1, not 0."),
        (b'{"status": 503, "colour": "red"}', "Invalid fault rule: unknown key 'colour'"),
        (b'{"match": "POST /v1/threads"}', "Invalid fault rule: it names no fault"),
        (b"[1]", "Invalid fault rule: a fault rule must be an object, not int."),
        (b"{not json", "Invalid fault rule: the body is not JSON"),
    ],
)
def test_bad_rules_get_a_400_that_says_why(admin: httpx.Client, body: bytes, message: str) -> None:
    answer = admin.post("/faults", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"].startswith(message)
    assert (error["type"], error["code"]) == ("mock_fault_error", "invalid_fault")


def test_unknown_rule_ids_get_a_404(admin: httpx.Client) -> None:
    for answer in (admin.get("/faults/fault_9"), admin.delete("/faults/fault_9")):
        assert answer.status_code == 404
        assert answer.json()["error"] == {
            "message": "No fault rule found with id 'fault_9'.",
            "type": "mock_fault_error",
            "param": None,
            "code": None,
        }


def test_a_wrong_method_gets_a_405_that_lists_the_others(admin: httpx.Client) -> None:
    answer = admin.put("/faults", json={})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST, DELETE"


def test_reset_clears_state_rules_journal_and_counters(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(faults=("DELETE: status=500; times=1",), rate_limit="3/h", seed=4)
    admin = f"{server.url}/__mock__"
    with httpx.Client(base_url=server.base_url, headers=HEADERS) as client:
        first_id = client.post("/threads").json()["id"]
        assert client.delete(f"/threads/{first_id}").status_code == 500
        httpx.post(f"{admin}/faults", json={"status": 503})
        assert client.post("/threads").status_code == 503
        assert client.post("/threads").status_code == 429
        assert httpx.post(f"{admin}/reset").json() == {"reset": True}
        assert httpx.get(f"{admin}/requests").json()["data"] == []
        assert httpx.get(f"{admin}/faults").json()["data"] == [
            {"id": "fault_1", "match": "DELETE", "status": 500, "times": 1, "matched": 0, "applied": 0}
        ]
        # The same seed, the same start: the same id again; the thread before the reset is gone.
        assert client.get(f"/threads/{first_id}").status_code == 404
        assert client.post("/threads").json()["id"] == first_id
        assert client.delete(f"/threads/{first_id}").status_code == 500


def test_health(admin: httpx.Client) -> None:
    store = {  # the store's counts: tests/test_store.py
        "threads": 0,
        "max_threads": 100_000,
        "evicted": 0,
        "file_bytes": 0,
        "max_file_bytes": 384 * 1024 * 1024,  # --max-file-bytes (512 MiB) within half the store's share
        "files_evicted": 0,
    }
    found = admin.get("/health").json()
    memory = found.pop("memory")
    assert found == {"status": "ok", "pid": os.getpid(), "store": store}
    # The budget and its three shares (tests/test_memory_budget.py): nothing held yet but this request.
    assert memory["max_memory"] == 1024**3
    assert (memory["store"]["bytes"], memory["in_flight"]["bytes"]) == (0, 0)
    assert memory["store"]["max_bytes"] + memory["journal"]["max_bytes"] + memory["in_flight"]["max_bytes"] == 1024**3


# ---- who may use it ----


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        (None, True),
        ("10.0.0.7", False),
        ("192.168.1.2", False),
        ("2001:db8::1", False),
        ("testclient", False),
    ],
)
def test_loopback(host: str | None, expected: bool) -> None:
    assert is_loopback(host) is expected


def remote_client(token: str | None, host: str = "203.0.113.9") -> TestClient:
    """A client the app sees as coming from `host` (no socket on loopback can be that)."""
    return TestClient(create_app(Settings(admin_token=token, log_level="warning")), client=(host, 40000))


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/__mock__/faults"), ("POST", "/__mock__/reset"), ("GET", "/__mock__/requests")],
)
def test_without_a_token_only_loopback_clients_are_served(method: str, path: str) -> None:
    with remote_client(None) as client:
        answer = client.request(method, path)
        assert answer.status_code == 403
        assert answer.json()["error"]["type"] == "mock_admin_error"
        assert "--admin-token" in answer.json()["error"]["message"]
        assert client.get("/__mock__/health").status_code == 200
    with remote_client(None, host="127.0.0.1") as local:
        assert local.request(method, path).status_code == 200


def test_with_a_token_everyone_needs_it(start_server: Callable[..., BackgroundServer]) -> None:
    with remote_client("s3cret") as client:
        assert client.get("/__mock__/faults", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/__mock__/faults").status_code == 401
    server = start_server(admin_token="s3cret")
    url = f"{server.url}/__mock__/faults"
    attempts: list[dict[str, Any]] = [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}]
    for headers in attempts:
        refused = httpx.get(url, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "mock_admin_error"
    assert httpx.get(url, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert httpx.get(f"{server.url}/__mock__/health").status_code == 200


ADMIN_CALLS = [
    ("POST", "/__mock__/reset"),
    ("GET", "/__mock__/faults"),
    ("POST", "/__mock__/faults"),
    ("GET", "/__mock__/faults/fault_1"),
    ("DELETE", "/__mock__/faults/fault_1"),
    ("DELETE", "/__mock__/faults"),
    ("GET", "/__mock__/requests"),
    ("DELETE", "/__mock__/requests"),
]


def test_with_a_token_every_admin_call_needs_it_from_loopback_too(
    start_server: Callable[..., BackgroundServer],
) -> None:
    server = start_server(admin_token="s3cret", faults=("DELETE: status=503",))
    refusals: list[dict[str, str | bytes]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer s3cre"},
        {"Authorization": "Bearer s3cret2"},
        {"Authorization": "Basic s3cret"},
        {"Authorization": "Bearer " + "s" * 10_000},
        {"Authorization": "Bearer sécret".encode()},
        {"X-Admin-Token": "s3cret"},
    ]
    with httpx.Client(base_url=server.url) as client:
        for method, path in ADMIN_CALLS:
            for headers in refusals:
                refused = client.request(method, path, headers=headers, json={"status": 503})
                assert refused.status_code == 401, (method, path, headers, refused.text)
                assert refused.json()["error"]["type"] == "mock_admin_error"
        # Nothing was done by any of them: the rule from the command line is still the only one.
        granted = {"Authorization": "Bearer s3cret"}
        assert [r["id"] for r in client.get("/__mock__/faults", headers=granted).json()["data"]] == ["fault_1"]
        for method, path in ADMIN_CALLS:
            assert client.request(method, path, headers=granted, json={"status": 503}).status_code < 400, (method, path)
