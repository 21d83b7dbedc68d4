"""The request journal: what each request sent and got, bounded, filtered, newest last."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive

from mock_server.journal import Journal
from mock_server.server import BackgroundServer

from .helpers import HEADERS, journal, tracked_within


def test_an_entry_records_the_request_and_the_answer(server: BackgroundServer, api: httpx.Client) -> None:
    created = api.post("/threads?trace=1&trace=2", json={"metadata": {"user": "u1"}}, headers={"X-Extra": "yes"})
    (entry,) = journal(server)
    assert entry["id"] == 1
    assert entry["request_id"] == created.headers["x-request-id"]
    assert (entry["method"], entry["path"], entry["query"]) == ("POST", "/v1/threads", "trace=1&trace=2")
    assert entry["headers"]["x-extra"] == "yes"
    assert entry["headers"]["authorization"] == "Bearer sk-mock"
    assert entry["headers"]["openai-beta"] == "assistants=v2"
    assert entry["body"] == {"metadata": {"user": "u1"}}
    assert (entry["status"], entry["fault"], entry["completed"]) == (200, None, True)
    assert entry["duration_ms"] >= 0 and entry["started_at"] > 1_600_000_000


def test_an_entry_records_the_answer_as_the_client_got_it(server: BackgroundServer, api: httpx.Client) -> None:
    created = api.post("/threads", json={"messages": [{"role": "user", "content": "x" * 30_000}]})
    thread_id = created.json()["id"]
    for _ in range(2):
        api.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": "y" * 30_000})
    page = api.get(f"/threads/{thread_id}/messages")
    refused = api.get("/threads/thread_missing")
    first, *_, listed, missing = journal(server)
    assert first["response"]["body"] == created.json()
    assert first["response"]["headers"]["x-request-id"] == created.headers["x-request-id"]
    assert first["response"]["headers"]["content-type"] == "application/json"
    assert missing["response"]["body"] == refused.json() and missing["status"] == 404
    # An answer past the share a body keeps is cut as a request's body is, its size told.
    assert listed["response"]["body_size"] == len(page.content) > 65_536
    assert listed["response"]["body"].endswith(f"… [cut: {len(page.content)} bytes sent, 65536 kept]")


def test_refused_and_faulted_requests_are_recorded_with_their_final_status(
    start_server: Callable[..., BackgroundServer],
) -> None:
    server = start_server(rate_limit="2/min")
    url = f"{server.base_url}/threads"
    httpx.post(url, headers={"OpenAI-Beta": "assistants=v2"}, json={"metadata": {}})  # no key: 401
    httpx.post(url, headers={**HEADERS, "X-Mock-Fault": "status=500"}, json={"metadata": {"a": "b"}})
    httpx.post(url, headers={**HEADERS, "Content-Type": "application/json"}, content=b"not json", params={"x": "1"})
    httpx.post(url, headers=HEADERS)  # over the limit: 429
    recorded = journal(server)
    assert [e["status"] for e in recorded] == [401, 500, 400, 429]
    assert [e["body"] for e in recorded] == [{"metadata": {}}, {"metadata": {"a": "b"}}, "not json", None]
    assert recorded[1]["fault"] == {"source": "header", "kind": "status", "status": 500}
    assert [e["fault"] for e in recorded if e["id"] != 2] == [None, None, None]
    assert [e["id"] for e in recorded] == [1, 2, 3, 4]


def test_filters_and_newest_last(server: BackgroundServer, api: httpx.Client) -> None:
    thread = api.post("/threads").json()
    api.get(f"/threads/{thread['id']}")
    api.get("/threads/thread_missing")
    httpx.get(f"{server.url}/threads/{thread['id']}", headers=HEADERS)  # served at the root
    api.post(f"/threads/{thread['id']}/messages", json={"role": "user", "content": "Hi"})

    def paths(**filters: Any) -> list[tuple[str, str, int]]:
        return [(e["method"], e["path"], e["status"]) for e in journal(server, **filters)]

    assert paths(method="get") == [
        ("GET", f"/v1/threads/{thread['id']}", 200),
        ("GET", "/v1/threads/thread_missing", 404),
        ("GET", f"/threads/{thread['id']}", 200),
    ]
    assert paths(path="/v1/threads/*", status=200) == [
        ("GET", f"/v1/threads/{thread['id']}", 200),
        ("GET", f"/threads/{thread['id']}", 200),
    ]
    assert paths(path="/v1/threads/**", method="POST") == [("POST", f"/v1/threads/{thread['id']}/messages", 200)]
    assert paths(status=404) == [("GET", "/v1/threads/thread_missing", 404)]
    assert [e["id"] for e in journal(server, limit=2)] == [4, 5]
    assert [e["id"] for e in journal(server)] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("filters", "param"),
    [({"status": "ok"}, "status"), ({"limit": "0"}, "limit"), ({"path": "threads"}, "path")],
)
def test_bad_filters_get_a_400(server: BackgroundServer, filters: dict[str, str], param: str) -> None:
    answer = httpx.get(f"{server.url}/__mock__/requests", params=filters)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_the_journal_is_bounded_and_keeps_the_newest(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(journal_size=3)
    for _ in range(5):
        httpx.post(f"{server.base_url}/threads", headers=HEADERS)
    assert [e["id"] for e in journal(server)] == [3, 4, 5]


def test_size_zero_turns_it_off(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(journal_size=0)
    assert httpx.post(f"{server.base_url}/threads", headers=HEADERS).status_code == 200
    assert journal(server) == []


def test_admin_requests_are_not_recorded_and_delete_empties_it(server: BackgroundServer, api: httpx.Client) -> None:
    api.post("/threads")
    httpx.get(f"{server.url}/__mock__/faults")
    httpx.get(f"{server.url}/__mock__/health")
    assert len(journal(server)) == 1
    assert httpx.delete(f"{server.url}/__mock__/requests").json() == {"deleted": 1}
    assert journal(server) == []
    api.post("/threads")
    assert [e["id"] for e in journal(server)] == [1]


def test_large_bodies_are_kept_up_to_the_limit(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(max_body_size=100)

    def chunks() -> Any:
        yield b'{"metadata": {"k": "'
        yield b"x" * 200
        yield b'"}}'

    # No Content-Length (chunked): recorded as the server reads it, up to the limit.
    answer = httpx.post(f"{server.base_url}/threads", headers=HEADERS, content=chunks())
    assert answer.status_code == 413
    (entry,) = journal(server)
    assert entry["status"] == 413
    # What was read before the refusal, cut to the limit, with a mark that says how much came.
    assert (
        entry["body"] == '{"metadata": {"k": "' + "x" * 80 + f"… [cut: {entry['body_size']} bytes received, 100 kept]"
    )
    assert entry["body_size"] > 100


def test_python_api_reads_the_same_entries(server: BackgroundServer, api: httpx.Client) -> None:
    api.post("/threads", json={}, headers={"x-stainless-retry-count": "0"})
    book: Journal = server.app.journal
    (entry,) = book.entries(method="POST", path="/threads", status=200)
    assert entry.headers["x-stainless-retry-count"] == "0"
    assert entry.body == {} and entry.raw_body == b"{}"
    assert entry.to_dict() == journal(server)[0]
    assert book.entries(status=404) == []
    book.clear()
    assert len(book) == 0


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        Journal(-1)


def one_message(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def test_finished_entries_are_nothing_the_garbage_collector_walks() -> None:
    """Ten thousand entries held as objects made every young collection walk them; their pauses were the
    mock's p99 (issue 6). A finished entry is a flat tuple of atoms, which the collector stops tracking."""
    book = Journal(1000)

    def request(number: int) -> None:
        scope = {"type": "http", "method": "POST", "path": f"/v1/threads/{number}", "query_string": b"a=1"}
        scope["headers"] = [(b"content-type", b"application/json"), (b"x-n", str(number).encode())]
        recording = book.open(scope, one_message(b"{}"))
        asyncio.run(recording.receive())
        recording.status = 200
        scope["state"]["request_id"] = f"req_{number}"
        book.close(recording)

    for number in range(3000):
        request(number)
    gc.collect()
    assert len(book) == 1000
    assert tracked_within(vars(book).values()) == []
    last = book.entries()[-1]
    assert (last.number, last.request_id, last.status, last.body) == (3000, "req_2999", 200, {})
    assert last.headers == {"content-type": "application/json", "x-n": "2999"}


@pytest.mark.parametrize(
    "headers",
    [[], [(b"x-one", b"")], [(b"x-nul", b"a\0b"), (b"x-two", b"2")], [(b"x-a", b"1"), (b"x-a", b"2")]],
    ids=["none", "empty value", "a NUL let through", "repeated"],
)
def test_headers_read_back_as_sent(headers: list[tuple[bytes, bytes]]) -> None:
    book = Journal(10)
    scope = {"type": "http", "method": "GET", "path": "/v1/threads/x", "headers": headers}
    book.close(book.open(scope, one_message(b"")))
    (entry,) = book.entries()
    assert entry.raw_headers == headers


def test_a_request_in_flight_when_the_journal_is_cleared_stays_out() -> None:
    book = Journal(10)

    def scope(path: str) -> dict[str, Any]:
        return {"type": "http", "method": "GET", "path": path, "headers": []}

    old = book.open(scope("/v1/threads/old"), one_message(b""))
    assert [(e.path, e.completed) for e in book.entries()] == [("/v1/threads/old", False)]
    book.clear()
    new = book.open(scope("/v1/threads/new"), one_message(b""))  # numbered 1 again, as `old` was
    book.close(old)
    assert [(e.number, e.path, e.completed) for e in book.entries()] == [(1, "/v1/threads/new", False)]
    book.close(new)
    book.close(new)  # closing twice (the answer, then the middleware's finally) records it once
    assert [(e.number, e.path, e.completed) for e in book.entries()] == [(1, "/v1/threads/new", True)]
