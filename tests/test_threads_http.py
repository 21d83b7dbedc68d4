"""Stateful threads and messages over a real socket, every answer checked against the contract."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import yaml

from mock_server.server import BackgroundServer

from .helpers import HEADERS, uploaded

Conforms = Callable[[httpx.Response, str], dict[str, Any]]
THREAD_ID = re.compile(r"^thread_[A-Za-z0-9]{24}$")


def test_create_empty_thread_with_empty_body(api: httpx.Client, conforms: Conforms) -> None:
    thread = conforms(api.post("/threads", content=b""), "createThread")
    assert THREAD_ID.match(thread["id"])
    assert thread["object"] == "thread"
    assert thread["metadata"] == {} and thread["tool_resources"] == {}
    assert list(thread) == ["id", "object", "created_at", "metadata", "tool_resources"]


def test_create_with_messages_makes_real_messages(api: httpx.Client, conforms: Conforms) -> None:
    document = uploaded(api)
    body = {
        "messages": [
            {"role": "user", "content": "Hello", "metadata": {"n": "1"}},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_file", "image_file": {"file_id": "file-1", "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
                "attachments": [{"file_id": document, "tools": [{"type": "file_search"}]}],
            },
        ],
        "metadata": {"user": "u1"},
    }
    thread = conforms(api.post("/threads", json=body), "createThread")
    assert thread["metadata"] == {"user": "u1"}
    # The attachment went into a vector store of the thread's own, as the real API put it.
    (store_id,) = thread["tool_resources"]["file_search"]["vector_store_ids"]
    assert [f["id"] for f in api.get(f"/vector_stores/{store_id}/files").json()["data"]] == [document]
    page = conforms(api.get(f"/threads/{thread['id']}/messages", params={"order": "asc"}), "listMessages")
    first, second = page["data"]
    assert first["content"] == [{"type": "text", "text": {"value": "Hello", "annotations": []}}]
    assert (first["role"], first["status"], first["metadata"], first["thread_id"]) == (
        "user",
        "completed",
        {"n": "1"},
        thread["id"],
    )
    assert second["content"] == [
        {"type": "text", "text": {"value": "Look:", "annotations": []}},
        {"type": "image_file", "image_file": {"file_id": "file-1", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "auto"}},
    ]
    assert second["attachments"] == [{"file_id": document, "tools": [{"type": "file_search"}]}]
    assert (page["first_id"], page["last_id"], page["has_more"]) == (first["id"], second["id"], False)


def test_tool_resources_both_file_search_forms(api: httpx.Client, conforms: Conforms) -> None:
    code_file, search_file = uploaded(api), uploaded(api)
    given = api.post("/vector_stores", json={}).json()["id"]
    by_ids = conforms(
        api.post(
            "/threads",
            json={
                "tool_resources": {
                    "code_interpreter": {"file_ids": [code_file]},
                    "file_search": {"vector_store_ids": [given]},
                }
            },
        ),
        "createThread",
    )
    assert by_ids["tool_resources"] == {
        "code_interpreter": {"file_ids": [code_file]},
        "file_search": {"vector_store_ids": [given]},
    }
    helper = conforms(
        api.post(
            "/threads",
            json={
                "tool_resources": {
                    "file_search": {
                        "vector_stores": [{"file_ids": [search_file], "chunking_strategy": {"type": "auto"}}]
                    }
                }
            },
        ),
        "createThread",
    )
    (store_id,) = helper["tool_resources"]["file_search"]["vector_store_ids"]
    assert re.match(r"^vs_[0-9a-f]{32}$", store_id)
    store = api.get(f"/vector_stores/{store_id}").json()
    assert (store["file_counts"]["completed"], store["expires_after"]) == (1, {"anchor": "last_active_at", "days": 7})


def test_tool_resources_name_what_exists(api: httpx.Client, conforms: Conforms) -> None:
    known = uploaded(api)
    for resources, param in [
        ({"file_search": {"vector_store_ids": ["vs_unknown"]}}, "tool_resources.file_search.vector_store_ids[0]"),
        ({"code_interpreter": {"file_ids": [known, "file-nope"]}}, "tool_resources.code_interpreter.file_ids[1]"),
        (
            {"file_search": {"vector_stores": [{"file_ids": ["file-nope"]}]}},
            "tool_resources.file_search.vector_stores[0].file_ids[0]",
        ),
    ]:
        error = conforms(api.post("/threads", json={"tool_resources": resources}), "createThread")["error"]
        assert (error["param"], error["type"]) == (param, "invalid_request_error")
    error = api.post("/threads", json={"tool_resources": {"file_search": {"vector_store_ids": ["vs_unknown"]}}})
    assert error.json()["error"]["message"] == "No vector store found with id 'vs_unknown'."
    attached = {"role": "user", "content": "x", "attachments": [{"file_id": "file-nope", "tools": []}]}
    error = conforms(api.post("/threads", json={"messages": [attached]}), "createThread")["error"]
    assert (error["message"], error["param"]) == (
        "No file found with id 'file-nope'.",
        "messages[0].attachments[0].file_id",
    )
    assert api.get("/vector_stores").json()["data"] == []  # nothing was made for the refused bodies


def test_retrieve_modify_delete(api: httpx.Client, conforms: Conforms) -> None:
    thread = api.post("/threads", json={"metadata": {"a": "1", "b": "2"}}).json()
    path = f"/threads/{thread['id']}"
    assert conforms(api.get(path), "getThread") == thread
    modified = conforms(api.post(path, json={"metadata": {"b": "3", "c": "4"}}), "modifyThread")
    assert modified["metadata"] == {"a": "1", "b": "3", "c": "4"}
    assert api.get(path).json() == modified
    assert conforms(api.delete(path), "deleteThread") == {
        "id": thread["id"],
        "object": "thread.deleted",
        "deleted": True,
    }
    assert conforms(api.get(path), "getThread")["error"]["message"] == f"No thread found with id '{thread['id']}'."
    assert api.get(f"{path}/messages").status_code == 404
    assert api.delete(path).status_code == 404


def test_message_crud(api: httpx.Client, conforms: Conforms) -> None:
    thread = api.post("/threads").json()
    base = f"/threads/{thread['id']}/messages"
    message = conforms(api.post(base, json={"role": "user", "content": "hi", "metadata": {"k": "v"}}), "createMessage")
    assert re.match(r"^msg_[A-Za-z0-9]{24}$", message["id"])
    assert conforms(api.get(f"{base}/{message['id']}"), "getMessage") == message
    updated = conforms(api.post(f"{base}/{message['id']}", json={"metadata": {"x": "y"}}), "modifyMessage")
    assert updated["metadata"] == {"k": "v", "x": "y"}
    deleted = conforms(api.delete(f"{base}/{message['id']}"), "deleteMessage")
    assert deleted == {"id": message["id"], "object": "thread.message.deleted", "deleted": True}
    missing = conforms(api.get(f"{base}/{message['id']}"), "getMessage")
    assert missing["error"]["message"] == f"No message found with id '{message['id']}'."
    assert api.post("/threads/thread_nope/messages", json={"role": "user", "content": "x"}).status_code == 404


def test_list_paging_in_both_orders(api: httpx.Client, conforms: Conforms) -> None:
    thread = api.post("/threads").json()
    base = f"/threads/{thread['id']}/messages"
    ids = [api.post(base, json={"role": "user", "content": str(i)}).json()["id"] for i in range(7)]
    page = conforms(api.get(base, params={"limit": 3}), "listMessages")
    assert [m["id"] for m in page["data"]] == ids[::-1][:3] and page["has_more"] is True
    page2 = api.get(base, params={"limit": 3, "after": page["last_id"]}).json()
    assert [m["id"] for m in page2["data"]] == ids[::-1][3:6] and page2["has_more"] is True
    page3 = api.get(base, params={"limit": 3, "after": page2["last_id"]}).json()
    assert [m["id"] for m in page3["data"]] == ids[:1] and page3["has_more"] is False
    back = api.get(base, params={"limit": 2, "before": page2["first_id"]}).json()
    assert [m["id"] for m in back["data"]] == ids[::-1][1:3] and back["has_more"] is True
    asc = api.get(base, params={"order": "asc", "limit": 100}).json()
    assert [m["id"] for m in asc["data"]] == ids
    assert api.get(base).json()["data"][0]["id"] == ids[-1]
    empty = conforms(api.get(base, params={"run_id": "run_none"}), "listMessages")
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_paths_also_served_at_the_root(server: BackgroundServer) -> None:
    with httpx.Client(base_url=server.url, headers=HEADERS) as root:
        thread = root.post("/threads").json()
        assert root.get(f"/v1/threads/{thread['id']}").json() == thread
        assert root.get(f"/threads/{thread['id']}").json() == thread
        error = root.post("/foo").json()["error"]
        assert error["message"] == "Invalid URL (POST /foo)"


def test_contract_is_served(server: BackgroundServer, contract: Any) -> None:
    as_json = httpx.get(f"{server.url}/openapi.json")
    assert as_json.status_code == 200 and as_json.json() == contract.document
    as_yaml = httpx.get(f"{server.url}/openapi.yaml")
    assert as_yaml.status_code == 200 and yaml.safe_load(as_yaml.text) == contract.document


def test_projects_are_kept_apart(server: BackgroundServer) -> None:
    one = {**HEADERS, "Authorization": "Bearer sk-one"}
    two = {**HEADERS, "Authorization": "Bearer sk-two"}
    thread = httpx.post(f"{server.base_url}/threads", headers=one).json()
    assert httpx.get(f"{server.base_url}/threads/{thread['id']}", headers=one).status_code == 200
    assert httpx.get(f"{server.base_url}/threads/{thread['id']}", headers=two).status_code == 404


def run_script(server: BackgroundServer) -> list[bytes]:
    bodies = []
    with httpx.Client(base_url=server.base_url, headers=HEADERS) as client:
        thread = client.post("/threads", json={"messages": [{"role": "user", "content": "a"}]})
        bodies.append(thread.content)
        thread_id = thread.json()["id"]
        bodies.append(client.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": "b"}).content)
        bodies.append(
            client.post("/threads", json={"tool_resources": {"file_search": {"vector_stores": [{}]}}}).content
        )
        bodies.append(client.get(f"/threads/{thread_id}/messages").content)
        bodies.append(client.get("/threads/thread_missing").content)
        ids = [client.post("/threads").headers["x-request-id"] for _ in range(2)]
        bodies.append(" ".join(ids).encode())
    return bodies


def test_same_seed_same_bytes(start_server: Callable[..., BackgroundServer]) -> None:
    first = run_script(start_server(seed=42))
    second = run_script(start_server(seed=42))
    other = run_script(start_server(seed=43))
    assert first == second
    assert first[0] != other[0]
    created = httpx.Response(200, content=first[0]).json()["created_at"]
    assert created == 1_717_000_001


def test_without_seed_ids_differ_and_time_is_the_clock(start_server: Callable[..., BackgroundServer]) -> None:
    import time

    first, second = run_script(start_server()), run_script(start_server())
    assert first[0] != second[0]
    assert abs(httpx.Response(200, content=first[0]).json()["created_at"] - time.time()) < 60
