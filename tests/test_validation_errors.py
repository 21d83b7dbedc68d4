"""The validator's other failures, named the way the real API named them, with `param` paths."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

CASES: list[tuple[str, Any, str, str, str]] = [
    (
        "missing content",
        {"messages": [{"role": "user"}]},
        "Missing required parameter: 'messages[0].content'.",
        "messages[0].content",
        "missing_required_parameter",
    ),
    (
        "bad role",
        {"messages": [{"role": "bot", "content": "x"}]},
        "Invalid value: 'bot'. Supported values are: 'user' and 'assistant'.",
        "messages[0].role",
        "invalid_value",
    ),
    (
        "text part without text",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text"}]}]},
        "Missing required parameter: 'messages[0].content[1].text'.",
        "messages[0].content[1].text",
        "missing_required_parameter",
    ),
    (
        "unknown part type",
        {"messages": [{"role": "user", "content": [{"type": "audio"}]}]},
        "Invalid value: 'audio'. Supported values are: 'image_file', 'image_url', and 'text'.",
        "messages[0].content[0].type",
        "invalid_value",
    ),
    (
        "content of the wrong type",
        {"messages": [{"role": "user", "content": 7}]},
        "Invalid type for 'messages[0].content': expected one of a string or array of objects, but got an "
        "integer instead.",
        "messages[0].content",
        "invalid_type",
    ),
    (
        "empty content array",
        {"messages": [{"role": "user", "content": []}]},
        "Invalid 'messages[0].content': empty array. Expected an array with minimum length 1, but got an empty "
        "array instead.",
        "messages[0].content",
        "empty_array",
    ),
    (
        "unknown nested parameter",
        {"messages": [{"role": "user", "content": "x", "name": "bob"}]},
        "Unknown parameter: 'messages[0].name'.",
        "messages[0].name",
        "unknown_parameter",
    ),
    (
        "too many code interpreter files",
        {"tool_resources": {"code_interpreter": {"file_ids": [f"file-{i}" for i in range(21)]}}},
        "Invalid 'tool_resources.code_interpreter.file_ids': array too long. Expected an array with maximum "
        "length 20, but got an array with length 21 instead.",
        "tool_resources.code_interpreter.file_ids",
        "array_above_max_length",
    ),
    (
        "chunk size too small",
        {
            "tool_resources": {
                "file_search": {
                    "vector_stores": [
                        {
                            "chunking_strategy": {
                                "type": "static",
                                "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0},
                            }
                        }
                    ]
                }
            }
        },
        "Invalid 'tool_resources.file_search.vector_stores[0].chunking_strategy.static.max_chunk_size_tokens': "
        "integer below minimum value. Expected a value >= 100, but got 50 instead.",
        "tool_resources.file_search.vector_stores[0].chunking_strategy.static.max_chunk_size_tokens",
        "integer_below_min_value",
    ),
    (
        "chunk overlap above half",
        {
            "tool_resources": {
                "file_search": {
                    "vector_stores": [
                        {
                            "chunking_strategy": {
                                "type": "static",
                                "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 401},
                            }
                        }
                    ]
                }
            }
        },
        "Invalid 'tool_resources.file_search.vector_stores[0].chunking_strategy.static.chunk_overlap_tokens': "
        "integer above maximum value. Expected a value <= 400 (half of max_chunk_size_tokens), but got 401 instead.",
        "tool_resources.file_search.vector_stores[0].chunking_strategy.static.chunk_overlap_tokens",
        "integer_above_max_value",
    ),
    (
        "both file_search forms",
        {"tool_resources": {"file_search": {"vector_store_ids": ["vs_a"], "vector_stores": [{}]}}},
        "Invalid 'tool_resources.file_search': expected exactly one of 'vector_store_ids' or 'vector_stores', "
        "but got more than one.",
        "tool_resources.file_search",
        "invalid_value",
    ),
    (
        "metadata key too long",
        {"metadata": {"k" * 65: "v"}},
        "Invalid 'metadata': key too long. Expected a key with maximum length 64, but got a key with length 65 "
        "instead.",
        "metadata",
        "metadata_key_too_long",
    ),
    (
        "body not an object",
        [1, 2],
        "Invalid type for body: expected an object, but got an array instead.",
        None,
        "invalid_type",
    ),
]


@pytest.mark.parametrize(("body", "message", "param", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_create_thread_errors(api: httpx.Client, body: Any, message: str, param: str | None, code: str) -> None:
    response = api.post("/threads", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": code,
    }


@pytest.mark.parametrize(
    ("query", "message", "param", "code"),
    [
        (
            "limit=0",
            "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got 0 instead.",
            "limit",
            "integer_below_min_value",
        ),
        (
            "limit=101",
            "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got 101 instead.",
            "limit",
            "integer_above_max_value",
        ),
        (
            "limit=ten",
            "Invalid type for 'limit': expected an integer, but got a string instead.",
            "limit",
            "invalid_type",
        ),
        (
            "order=sideways",
            "Invalid value: 'sideways'. Supported values are: 'asc' and 'desc'.",
            "order",
            "invalid_value",
        ),
        (
            "limit=1&limit=2",
            "Invalid type for 'limit': expected an integer, but got an array instead.",
            "limit",
            "invalid_type",
        ),
    ],
)
def test_list_query_errors(api: httpx.Client, query: str, message: str, param: str, code: str) -> None:
    thread = api.post("/threads").json()
    response = api.get(f"/threads/{thread['id']}/messages?{query}")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": code,
    }


def test_create_message_requires_role_and_content(api: httpx.Client) -> None:
    thread = api.post("/threads").json()
    response = api.post(f"/threads/{thread['id']}/messages", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Missing required parameter: 'role'."


def test_wrong_content_type_is_415(api: httpx.Client) -> None:
    response = api.post(
        "/threads", content=b"messages=hi", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_content_type"
    assert "application/x-www-form-urlencoded" in response.json()["error"]["message"]


def test_body_over_the_limit_is_413(start_server: Any) -> None:
    server = start_server(max_body_size=1000)
    headers = {"Authorization": "Bearer sk-mock", "OpenAI-Beta": "assistants=v2"}
    response = httpx.post(f"{server.base_url}/threads", headers=headers, json={"metadata": {"a": "x" * 2000}})
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_wrong_method_is_405_with_exact_allow(api: httpx.Client) -> None:
    response = api.put("/threads/thread_abc")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST, DELETE"
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert api.patch("/threads").headers["allow"] == "POST"
    assert api.get("/threads").status_code == 405
