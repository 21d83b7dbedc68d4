"""The dashboard's server side, cheaply (its page in a browser: tests/dashboard_checks.py, make test-dashboard):
who may open it, the journal after a cursor, and why a 4xx was answered, worked out again from the request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.server import BackgroundServer

from .helpers import HEADERS

DASHBOARD_CALLS = [
    "/__mock__/",
    "/__mock__/dashboard/requests",
    "/__mock__/dashboard/requests/1",
    "/__mock__/dashboard/projects",
    "/__mock__/dashboard/state?project=sk-mock",
    "/__mock__/dashboard/threads/thread_x?project=sk-mock",
    "/__mock__/dashboard/streams",
]


def client_from(host: str, token: str | None = None) -> TestClient:
    """A client the app sees as coming from `host` (no socket on loopback can be a remote one)."""
    return TestClient(create_app(Settings(admin_token=token, log_level="warning")), client=(host, 40000))


def test_the_page_and_its_json_are_refused_to_a_remote_client_without_the_token() -> None:
    app = create_app(Settings(log_level="warning"))
    with (
        TestClient(app, client=("203.0.113.9", 40000)) as remote,
        TestClient(app, client=("127.0.0.1", 40000)) as local,
    ):
        for path in DASHBOARD_CALLS:
            refused = remote.get(path)
            assert refused.status_code == 403, path
            assert refused.json()["error"]["type"] == "mock_admin_error"
            assert local.get(path).status_code in (200, 404), path
        # A token in the query opens nothing when the server has none.
        assert remote.get("/__mock__/?token=anything").status_code == 403


def test_with_a_token_the_page_takes_it_in_the_query_and_the_json_in_the_header() -> None:
    with client_from("203.0.113.9", token="s3cret") as remote:
        assert remote.get("/__mock__/").status_code == 401
        assert remote.get("/__mock__/?token=s3cre").status_code == 401
        page = remote.get("/__mock__/?token=s3cret")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        # The token in the query opens the page alone, not its data.
        assert remote.get("/__mock__/dashboard/requests?token=s3cret").status_code == 401
        granted = remote.get("/__mock__/dashboard/requests", headers={"Authorization": "Bearer s3cret"})
        assert granted.json() == {"object": "list", "data": [], "last_id": 0, "reset": False}


def test_the_page_is_whole_and_fetches_nothing_from_elsewhere() -> None:
    with client_from("127.0.0.1") as local:
        page = local.get("/__mock__/").text
    assert "<title>threads-mock dashboard</title>" in page
    # CSS and script inlined (one request), nothing left to fill in, and no address outside the mock.
    assert "/*CSS*/" not in page and "/*SCRIPT*/" not in page
    assert "#journal tbody" in page and "async function pollJournal" in page
    assert page.count("</script>") == 1 and page.count("</style>") == 1
    assert "http://" not in page and "https://" not in page and "//cdn" not in page


@pytest.fixture
def mock(start_server: Callable[..., BackgroundServer[Any]]) -> BackgroundServer[Any]:
    return start_server(faults=("DELETE /v1/threads/*: status=503",))


def why(server: BackgroundServer[Any], number: int) -> Any:
    answer = httpx.get(f"{server.url}/__mock__/dashboard/requests/{number}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_journal_after_a_cursor(mock: BackgroundServer[Any]) -> None:
    with httpx.Client(base_url=mock.base_url, headers=HEADERS) as api:
        thread_id = api.post("/threads", json={}).json()["id"]
        api.get(f"/threads/{thread_id}")
        api.get("/threads/thread_nope", headers={"Authorization": "Bearer sk-other"})
    rows = f"{mock.url}/__mock__/dashboard/requests"
    every = httpx.get(rows).json()
    assert [(r["id"], r["method"], r["status"], r["project"]) for r in every["data"]] == [
        (1, "POST", 200, "sk-mock"),
        (2, "GET", 200, "sk-mock"),
        (3, "GET", 404, "sk-other"),
    ]
    assert every["last_id"] == 3
    assert [r["id"] for r in httpx.get(rows, params={"after": 1}).json()["data"]] == [2, 3]
    assert httpx.get(rows, params={"after": 3}).json() == {"object": "list", "data": [], "last_id": 3, "reset": False}
    assert [r["id"] for r in httpx.get(rows, params={"thread": thread_id}).json()["data"]] == [2]
    assert [r["id"] for r in httpx.get(rows, params={"project": "sk-other"}).json()["data"]] == [3]
    assert [r["id"] for r in httpx.get(rows, params={"path": "/v1/threads/*", "method": "get"}).json()["data"]] == [
        2,
        3,
    ]
    assert [r["id"] for r in httpx.get(rows, params={"path": "nope"}).json()["data"]] == [3]
    assert [r["id"] for r in httpx.get(rows, params={"status": 404}).json()["data"]] == [3]
    assert httpx.get(rows, params={"after": "x"}).status_code == 400
    projects = httpx.get(f"{mock.url}/__mock__/dashboard/projects").json()
    assert projects["data"] == ["sk-other", "sk-mock"]
    # The admin API takes the same cursor.
    assert [r["id"] for r in httpx.get(f"{mock.url}/__mock__/requests", params={"after": 2}).json()["data"]] == [3]
    # Emptied, the journal numbers its requests from 1 again: a cursor from before says so.
    httpx.delete(f"{mock.url}/__mock__/requests")
    httpx.get(f"{mock.base_url}/threads/{thread_id}", headers=HEADERS)
    assert httpx.get(rows, params={"after": 3}).json() == {"object": "list", "data": [], "last_id": 0, "reset": True}
    assert [r["id"] for r in httpx.get(rows).json()["data"]] == [1]
    assert httpx.get(f"{mock.url}/__mock__/dashboard/projects").json()["data"] == ["sk-mock"]
    httpx.get(f"{mock.base_url}/threads/{thread_id}", headers={**HEADERS, "Authorization": "Bearer sk-third"})
    assert httpx.get(f"{mock.url}/__mock__/dashboard/projects").json()["data"] == ["sk-third", "sk-mock"]


def test_why_a_4xx_was_answered(mock: BackgroundServer[Any]) -> None:
    with httpx.Client(base_url=mock.base_url, headers=HEADERS) as api:
        thread_id = api.post("/threads", json={}).json()["id"]  # 1
        assert api.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": ["x"]}).status_code == 400
        assert api.post("/threads", json={"metadata": {"k": "v" * 600}}).status_code == 400  # 3
        assert api.get(f"/threads/{thread_id}/runs", params={"limit": 500}).status_code == 400  # 4
        assert api.get("/threads/thread_gone").status_code == 404  # 5
        assert api.delete(f"/threads/{thread_id}").status_code == 503  # 6
        assert api.get("/threads/thread_x", headers={"Authorization": ""}).status_code == 401  # 7
        assert api.post("/threads", json={}, headers={"OpenAI-Beta": ""}).status_code == 400  # 8
    content = why(mock, 2)["why"]
    assert content["source"] == "contract" and content["stage"] == "body"
    assert content["param"] == "content[0]"
    assert content["rule"]["field"] == "content[0]"
    metadata = why(mock, 3)["why"]
    assert metadata["code"] == "string_above_max_length"
    assert metadata["rule"] == {
        "keyword": "maxLength",
        "value": 512,
        "schema_path": metadata["rule"]["schema_path"],
        "field": "metadata.k",
        "validator_message": metadata["rule"]["validator_message"],
    }
    assert metadata["rule"]["schema_path"].endswith("maxLength")
    limit = why(mock, 4)["why"]
    assert (limit["stage"], limit["param"], limit["rule"]["keyword"], limit["rule"]["value"]) == (
        "query",
        "limit",
        "maximum",
        100,
    )
    assert why(mock, 5)["why"]["source"] == "handler"
    fault = why(mock, 6)
    assert fault["why"] is None  # a 503 is not a 4xx
    assert fault["fault"]["rules"] == ["fault_1"]
    assert why(mock, 7)["why"]["source"] == "auth"
    beta = why(mock, 8)["why"]
    assert beta["stage"] == "header" and "OpenAI-Beta" in beta["message"]
    # The whole request beside it, and a 200 has no why.
    first = why(mock, 1)
    assert first["why"] is None and first["headers"]["openai-beta"] == "assistants=v2" and first["project"] == "sk-mock"
    assert httpx.get(f"{mock.url}/__mock__/dashboard/requests/99").status_code == 404


def test_a_project_and_a_thread_as_the_page_shows_them(mock: BackgroundServer[Any]) -> None:
    with httpx.Client(base_url=mock.base_url, headers=HEADERS) as api:
        first = api.post("/threads", json={"messages": [{"role": "user", "content": "one"}]}).json()["id"]
        second = api.post("/threads", json={}).json()["id"]
        api.post("/assistants", json={"model": "gpt-4o", "name": "helper"})
    state = httpx.get(f"{mock.url}/__mock__/dashboard/state", params={"project": "sk-mock"}).json()
    assert [t["id"] for t in state["threads"]] == [second, first]
    assert state["thread_count"] == 2 and [a["name"] for a in state["assistants"]] == ["helper"]
    assert state["stats"]["threads"] == 2 and state["memory"]["store"]["bytes"] > 0
    view = httpx.get(f"{mock.url}/__mock__/dashboard/threads/{first}", params={"project": "sk-mock"}).json()
    assert [m["content"][0]["text"]["value"] for m in view["messages"]] == ["one"]
    assert view["runs"] == []
    other = httpx.get(f"{mock.url}/__mock__/dashboard/threads/{first}", params={"project": "sk-other"})
    assert other.status_code == 404
    assert httpx.get(f"{mock.url}/__mock__/dashboard/state").status_code == 400


def test_why_an_azure_request_was_refused(mock: BackgroundServer[Any]) -> None:
    with httpx.Client(base_url=mock.url, headers={"api-key": "azure-key"}) as azure:
        assert azure.get("/openai/threads/thread_abc").status_code == 404  # no api-version
        created = azure.post("/openai/threads?api-version=2024-10-01-preview", json={"metadata": {"k": 1}})
        assert created.status_code == 400
    assert why(mock, 1)["why"] == {"source": "azure", "status": 404, "message": "Resource not found"}
    typed = why(mock, 2)
    assert typed["project"] == "azure-openai:azure-key"
    found = typed["why"]
    assert (found["stage"], found["param"], found["rule"]["keyword"]) == ("body", "metadata.k", "type")
    # A path only Foundry's agents service served (its overlay of the contract), its query refused.
    listed = httpx.get(
        f"{mock.url}/api/projects/p1/threads",
        params={"api-version": "v1", "limit": 500},
        headers={"Authorization": "Bearer entra-token"},
    )
    assert listed.status_code == 400
    foundry = why(mock, 3)
    assert foundry["project"] == "foundry:p1"
    assert (foundry["why"]["stage"], foundry["why"]["param"]) == ("query", "limit")
