"""The test handle (`mock_server.testing`): live fault counters, what never fired, and threads read through
the admin API like everything else."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.server import BackgroundServer
from mock_server.testing import MockHTTPError, ThreadsMock

from .helpers import HEADERS


@pytest.fixture
def mock(server: BackgroundServer) -> ThreadsMock:
    return ThreadsMock(server)


def create_thread(mock: ThreadsMock) -> int:
    return httpx.post(f"{mock.base_url}/threads", headers=HEADERS).status_code


def test_a_fault_handle_counts_live(mock: ThreadsMock) -> None:
    handle = mock.fault(match="POST /v1/threads", status=503, after=1)
    assert (handle.matched, handle.applied) == (0, 0)
    assert create_thread(mock) == 200
    assert (handle.matched, handle.applied) == (1, 0)
    with pytest.raises(AssertionError, match=r"fault rule never applied: fault_1 .*\(matched 1, applied 0\)"):
        handle.assert_applied()
    assert create_thread(mock) == 503
    assert (handle.matched, handle.applied) == (2, 1)
    handle.assert_applied()


def test_a_removed_rule_keeps_its_last_counts(mock: ThreadsMock) -> None:
    with mock.fault(match="POST /v1/threads", status=503) as handle:
        assert create_thread(mock) == 503
    assert create_thread(mock) == 200
    assert (handle.matched, handle.applied) == (1, 1)
    handle.remove()  # already gone: nothing to do


def test_a_reset_keeps_the_counts_of_the_rules_it_drops(mock: ThreadsMock) -> None:
    before = mock.fault(match="POST /v1/threads", status=503)
    assert create_thread(mock) == 503
    mock.reset()
    after = mock.fault(match="POST /v1/threads", status=500, after=5)  # the same id again: fault_1
    assert after.id == before.id
    assert create_thread(mock) == 200
    assert (before.matched, before.applied, after.matched, after.applied) == (1, 1, 1, 0)


def test_assert_all_faults_applied_names_the_rules_that_never_fired(mock: ThreadsMock) -> None:
    fired = mock.fault(match="POST /v1/threads", status=503, times=1)
    mock.fault(match="DELETE /v1/threads/*", status=500)
    with mock.fault("GET /v1/threads/*: status=429; after=1"):
        assert create_thread(mock) == 503
        assert httpx.get(f"{mock.base_url}/threads/thread_x", headers=HEADERS).status_code == 404
    assert fired.applied == 1
    with pytest.raises(AssertionError) as caught:
        mock.assert_all_faults_applied()
    assert str(caught.value).splitlines() == [
        "2 fault rule(s) never applied:",
        '  fault_2 {"match": "DELETE /v1/threads/*", "status": 500} (matched 0, applied 0)',
        '  fault_3 {"match": "GET /v1/threads/*", "status": 429, "after": 1} (matched 1, applied 0)',
    ]


def test_threads_come_from_the_admin_api(mock: ThreadsMock) -> None:
    first = mock.threads.create(metadata={"n": "1"})
    second = mock.threads.create()
    httpx.post(f"{mock.base_url}/threads", headers={**HEADERS, "Authorization": "Bearer sk-other"})
    assert [thread["id"] for thread in mock.threads] == [first["id"], second["id"]]
    assert mock.threads[first["id"]]["metadata"] == {"n": "1"}
    other = ThreadsMock(mock.server, api_key="sk-other")
    assert len(other.threads) == 1 and first["id"] not in other.threads
    with pytest.raises(MockHTTPError) as refused:
        mock.admin("GET", "/__mock__/threads")
    assert refused.value.status == 400 and refused.value.body["error"]["param"] == "project"


def test_the_threads_route_is_guarded_like_the_others() -> None:
    app = create_app(Settings(log_level="warning"))
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        assert remote.get("/__mock__/threads", params={"project": "sk-mock"}).status_code == 403
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        local.post("/v1/threads", headers=HEADERS)
        listed = local.get("/__mock__/threads", params={"project": "sk-mock"})
    assert listed.status_code == 200 and [t["object"] for t in listed.json()["data"]] == ["thread"]
