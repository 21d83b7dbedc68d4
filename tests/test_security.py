"""Security: binding beyond loopback, several keys as separate projects (Schemathesis's object-level
authorization check included), and nothing a client sends echoed into a response header."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import Settings, create_app
from mock_server.cli import exposure_problem
from mock_server.contract import Contract, default_contract_path
from mock_server.fuzzing.report import describe
from mock_server.fuzzing.result import FuzzResult
from mock_server.fuzzing.runner import config_data, execute, load_schema, operation_ids
from mock_server.server import BackgroundServer

from .helpers import HEADERS, serve_command

ALICE, BOB = "sk-alice-0000", "sk-bob-0000"


def as_key(key: str) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {key}"}


# ---- binding ----


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_a_bind_beyond_loopback_without_an_admin_token_is_refused(host: str) -> None:
    result = subprocess.run(
        serve_command("--host", host),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"threads-mock serve: error: --host {host} serves the mock beyond this machine" in result.stderr
    assert "needs --admin-token" in result.stderr
    assert " on http://" not in result.stderr  # refused before anything was bound


def test_a_bind_beyond_loopback_with_an_admin_token_warns(capsys: pytest.CaptureFixture[str]) -> None:
    assert exposure_problem(Settings(host="0.0.0.0", admin_token="t0ken")) is None
    warning = capsys.readouterr().err
    assert warning.startswith("threads-mock serve: warning: --host 0.0.0.0 serves the mock beyond this machine")
    assert "'Authorization: Bearer TOKEN'" in warning
    assert "t0ken" not in warning


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_binds_need_no_token_and_print_nothing(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exposure_problem(Settings(host=host)) is None
    assert capsys.readouterr().err == ""


# ---- several keys, several projects ----


def test_each_key_is_its_own_project(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(api_keys=(ALICE, BOB))
    with (
        httpx.Client(base_url=server.base_url, headers=as_key(ALICE)) as alice,
        httpx.Client(base_url=server.base_url, headers=as_key(BOB)) as bob,
    ):
        thread = alice.post("/threads", json={"messages": [{"role": "user", "content": "mine"}]}).json()
        path = f"/threads/{thread['id']}"
        message = alice.get(f"{path}/messages").json()["data"][0]
        message_path = f"{path}/messages/{message['id']}"
        attempts = [
            bob.get(path),
            bob.post(path, json={"metadata": {"taken": "yes"}}),
            bob.get(f"{path}/messages"),
            bob.post(f"{path}/messages", json={"role": "user", "content": "intruder"}),
            bob.get(message_path),
            bob.post(message_path, json={"metadata": {"taken": "yes"}}),
            bob.delete(message_path),
            bob.delete(path),
        ]
        for answer in attempts:
            assert answer.status_code == 404, (answer.request.method, answer.request.url, answer.text)
            # The same answer as for an id that never existed: nothing tells bob the thread is there.
            assert answer.json()["error"]["message"] == f"No thread found with id '{thread['id']}'."
        # Alice's objects are untouched by all of it.
        assert alice.get(path).json() == thread
        assert alice.get(f"{path}/messages").json()["data"] == [message]
        # Bob's own thread of the same shape is his alone, and a third key is refused outright.
        assert bob.post("/threads").status_code == 200
        refused = httpx.post(f"{server.base_url}/threads", headers=as_key("sk-mallory-0000"))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"


def test_rate_limits_are_per_configured_key(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(api_keys=(ALICE, BOB), rate_limit="2/h")
    url = f"{server.base_url}/threads"
    assert [httpx.post(url, headers=as_key(ALICE)).status_code for _ in range(3)] == [200, 200, 429]
    bob = httpx.post(url, headers=as_key(BOB))
    assert bob.status_code == 200
    assert bob.headers["x-ratelimit-remaining-requests"] == "1"


def users_file(tmp_path: Path) -> Path:
    """Two users in the Web Fuzzing Commons auth format, which Schemathesis's `[auth.wfc]` reads."""
    path = tmp_path / "users.json"
    users = [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {key}"}]}
        for name, key in (("alice", ALICE), ("bob", BOB))
    ]
    path.write_text(json.dumps({"auth": users}))
    return path


def object_level_authorization(tmp_path: Path, app: ASGIApp) -> FuzzResult:
    """Schemathesis 4's `object_level_authorization` check, given the two keys as peers (`[auth.wfc]`
    with `peers`): it replays each of alice's successful reads of her own objects as bob."""
    checks = ("object_level_authorization", "not_a_server_error")
    phases = ("fuzzing",)
    data = config_data(base_url=None, headers={}, checks=checks, phases=phases, max_examples=15, seed=3)
    data["auth"] = {"wfc": {"path": str(users_file(tmp_path)), "peers": ["alice", "bob"]}}
    # Otherwise Schemathesis keeps which user it settled on per operation in ./.schemathesis and starts
    # the next run from there: each run must stand alone.
    data["cache"] = {"enabled": False}
    contract = default_contract_path()
    # The thread and message operations: every object they read is one a key created.
    threads = [op for op in Contract(contract).operations if op.endswith(("Thread", "Message", "Messages"))]
    schema = load_schema(contract, data, threads, app=app)
    outcome = FuzzResult(target="in-process", seed=3, checks=checks, phases=phases, max_examples=15)
    execute(schema, outcome, operation_ids(contract))
    return outcome


def test_schemathesis_object_level_authorization_passes_with_two_keys(tmp_path: Path) -> None:
    app = create_app(Settings(seed=3, api_keys=(ALICE, BOB), log_level="warning"))
    outcome = object_level_authorization(tmp_path, app)

    assert not outcome.findings, "\n\n".join(describe(finding) for finding in outcome.findings)
    assert not outcome.errors, outcome.errors
    assert outcome.passed["object_level_authorization"] > 0
    # The check did send bob after alice's objects, and he was refused.
    as_bob = [e for e in app.journal.entries() if e.headers.get("authorization") == f"Bearer {BOB}"]
    assert any(e.method == "GET" and e.status == 404 for e in as_bob)


def test_the_check_catches_a_server_that_mixes_up_the_keys(tmp_path: Path) -> None:
    inner = create_app(Settings(seed=3, api_keys=(ALICE, BOB), log_level="warning"))

    async def one_project_for_all(scope: Scope, receive: Receive, send: Send) -> None:
        # The bug: bob's requests reach alice's project.
        if scope["type"] == "http":
            alice = f"Bearer {ALICE}".encode()
            headers = [(k, alice if k == b"authorization" else v) for k, v in scope["headers"]]
            scope = {**scope, "headers": headers}
        await inner(scope, receive, send)

    outcome = object_level_authorization(tmp_path, one_project_for_all)
    assert {finding.check for finding in outcome.findings} == {"object_level_authorization"}
    assert any("`bob` received the `ThreadObject` that `alice` owns" in f.message for f in outcome.findings)


# ---- nothing echoed into a response header ----

MARK = "zqx7echo"
FAULT_VALUES = [
    MARK,
    f"status={MARK}",
    f"{MARK}=1",
    f'status=503; message="{MARK}"',
    f"status=503; message={MARK}; code={MARK}",
    f"status=429; code={MARK}; retry_after=1",
    f"status=429; retry_after={MARK}",
    f"status=503; should_retry={MARK}",
    f"latency={MARK}",
    f"hang={MARK}",
    f"slow={MARK}",
    f"status=503, latency=1ms, {MARK}",
    "malformed",
    "invalid",
]


def marked_requests(thread_id: str, message_id: str, contract: Contract) -> list[dict[str, Any]]:
    """Requests with the marker in every place a client controls."""
    marked_headers = {
        f"X-{MARK}": MARK,
        "X-Request-Id": MARK,
        "X-Client-Request-Id": MARK,
        "Idempotency-Key": MARK,
        "Origin": f"http://{MARK}.example",
        "Accept": f"application/{MARK}",
        "Accept-Language": MARK,
        "User-Agent": MARK,
        "Cookie": f"{MARK}={MARK}",
        "X-Stainless-Retry-Count": MARK,
        "OpenAI-Organization": MARK,
        "OpenAI-Project": MARK,
    }
    query = {"limit": MARK, "order": MARK, "after": MARK, "before": MARK, "run_id": MARK, MARK: MARK}
    body = {"metadata": {MARK: MARK}, MARK: MARK, "messages": [{"role": MARK, "content": MARK}]}
    requests: list[dict[str, Any]] = []
    for template, by_method in contract.paths.items():
        for method in by_method:
            for value in (MARK, f"thread_{MARK}", f"{MARK}%2F{MARK}", f"..%2F{MARK}"):
                path = "/v1" + template.replace("{thread_id}", value).replace("{message_id}", value)
                path = path.replace("{", "").replace("}", "")  # any other parameter, by its own name
                requests.append({"method": method, "url": path, "params": query, "json": body})
            real = "/v1" + template.replace("{thread_id}", thread_id).replace("{message_id}", message_id)
            requests.append({"method": method, "url": real, "params": query, "json": body, "headers": marked_headers})
            requests.append(
                {"method": method, "url": real, "content": MARK.encode(), "headers": {"Content-Type": MARK}}
            )
            requests.append({"method": method, "url": real, "headers": {"OpenAI-Beta": MARK}})
            requests.append({"method": method, "url": real, "headers": {"Authorization": f"Bearer {MARK}"}})
            requests.append({"method": method, "url": real, "headers": {"Authorization": MARK}})
            for fault in FAULT_VALUES:
                requests.append(
                    {"method": method, "url": real, "json": {"metadata": {}}, "headers": {"X-Mock-Fault": fault}}
                )
        requests.append({"method": MARK.upper(), "url": "/v1" + template})
    requests += [
        {"method": "GET", "url": f"/{MARK}"},
        {"method": "GET", "url": f"/v1/{MARK}", "params": {MARK: MARK}},
        {"method": "GET", "url": f"/__mock__/faults/{MARK}"},
        {"method": "DELETE", "url": f"/__mock__/faults/{MARK}"},
        {"method": "GET", "url": "/__mock__/requests", "params": {"path": MARK, "method": MARK, "status": MARK}},
        {"method": "POST", "url": "/__mock__/faults", "json": {"match": MARK, "status": 503, MARK: 1}},
        {"method": "POST", "url": "/__mock__/faults", "content": MARK.encode()},
        {"method": "PUT", "url": "/__mock__/faults", "json": {MARK: MARK}},
    ]
    return requests


def test_nothing_a_client_sends_is_echoed_into_a_response_header(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(api_keys=(ALICE,), rate_limit="100000/min", seed=1)
    contract: Contract = server.app.contract
    with httpx.Client(base_url=server.url, headers=as_key(ALICE), timeout=10) as client:
        thread = client.post("/v1/threads", json={"messages": [{"role": "user", "content": MARK}]}).json()
        message = client.get(f"/v1/threads/{thread['id']}/messages").json()["data"][0]
        # A rule whose answer carries text the client chose: its message and code, as the header ones do.
        rule = {"match": "GET /v1/threads/*/messages/*", "status": 429, "retry_after": 1, "message": MARK, "code": MARK}
        assert client.post("/__mock__/faults", json={**rule, "times": 1}).status_code == 201
        requests = marked_requests(thread["id"], message["id"], contract)
        echoed: list[str] = []
        statuses: set[int] = set()
        in_bodies = 0
        for request in requests:
            answer = client.request(**request)
            statuses.add(answer.status_code)
            in_bodies += MARK in answer.text
            for name, value in answer.headers.raw:
                if MARK in name.decode("latin-1").lower() or MARK in value.decode("latin-1").lower():
                    echoed.append(f"{request['method']} {request['url']} -> {name!r}: {value!r}")
    assert echoed == []
    # The requests did reach every kind of answer: success, refusals, faults.
    assert {200, 400, 401, 404, 405, 429, 503} <= statuses
    assert len(requests) > 500
    # The marker did reach the server and come back, where it belongs: in bodies (an error naming the id).
    assert in_bodies > 100
