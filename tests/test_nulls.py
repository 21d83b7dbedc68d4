"""`null` for an optional request field: where the real API took it as "not given", and where it refused it.

The decision, field by field, is the table below, and the contract says the same (its schemas drive
validation): a field takes null where OpenAI's spec says it is nullable (`nullable`, `anyOf` with null, a
`null` type), and where the facts say the real API took it though the spec does not (marked below). Every
other optional field refuses null with the real API's `Invalid type` error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from mock_server import Settings, create_app
from mock_server.contract import Contract, Validators
from mock_server.errors import APIError
from mock_server.server import BackgroundServer

from .helpers import HEADERS

ACCEPTED, REFUSED = True, False

TABLE = [
    ("createAssistant", "name", ACCEPTED),
    ("createAssistant", "description", ACCEPTED),
    ("createAssistant", "instructions", ACCEPTED),
    ("createAssistant", "reasoning_effort", ACCEPTED),
    ("createAssistant", "tools", REFUSED),
    ("createAssistant", "tool_resources", ACCEPTED),
    ("createAssistant", "metadata", ACCEPTED),
    ("createAssistant", "temperature", ACCEPTED),
    ("createAssistant", "top_p", ACCEPTED),
    ("createAssistant", "response_format", ACCEPTED),
    ("createConversation", "metadata", ACCEPTED),
    ("createConversation", "items", ACCEPTED),
    ("createResponse", "input", REFUSED),
    ("createResponse", "instructions", ACCEPTED),
    ("createResponse", "conversation", ACCEPTED),
    ("createResponse", "previous_response_id", ACCEPTED),
    ("createResponse", "store", ACCEPTED),
    ("createResponse", "background", ACCEPTED),
    ("createResponse", "stream", ACCEPTED),
    ("createResponse", "stream_options", ACCEPTED),
    ("createResponse", "tools", REFUSED),
    ("createResponse", "tool_choice", REFUSED),
    ("createResponse", "parallel_tool_calls", ACCEPTED),
    ("createResponse", "max_output_tokens", ACCEPTED),
    ("createResponse", "max_tool_calls", ACCEPTED),
    ("createResponse", "metadata", ACCEPTED),
    ("createResponse", "temperature", ACCEPTED),
    ("createResponse", "top_p", ACCEPTED),
    ("createResponse", "top_logprobs", REFUSED),
    ("createResponse", "include", ACCEPTED),
    ("createResponse", "text", REFUSED),
    ("createResponse", "reasoning", ACCEPTED),
    ("createResponse", "truncation", ACCEPTED),
    ("createResponse", "service_tier", ACCEPTED),
    ("createResponse", "user", REFUSED),
    ("createResponse", "safety_identifier", ACCEPTED),
    ("createResponse", "prompt_cache_key", ACCEPTED),
    ("createResponse", "prompt_cache_retention", ACCEPTED),
    ("createResponse", "prompt", ACCEPTED),
    ("createMessage", "attachments", ACCEPTED),
    ("createMessage", "metadata", ACCEPTED),
    ("createRun", "model", ACCEPTED),
    ("createRun", "reasoning_effort", ACCEPTED),
    ("createRun", "instructions", ACCEPTED),
    ("createRun", "additional_instructions", ACCEPTED),
    ("createRun", "additional_messages", ACCEPTED),
    ("createRun", "tools", ACCEPTED),
    ("createRun", "metadata", ACCEPTED),
    ("createRun", "temperature", ACCEPTED),
    ("createRun", "top_p", ACCEPTED),
    ("createRun", "stream", ACCEPTED),
    ("createRun", "max_prompt_tokens", ACCEPTED),
    ("createRun", "max_completion_tokens", ACCEPTED),
    ("createRun", "truncation_strategy", ACCEPTED),
    ("createRun", "tool_choice", ACCEPTED),
    ("createRun", "parallel_tool_calls", REFUSED),
    ("createRun", "response_format", ACCEPTED),
    # Not nullable in the spec: a framework's own suite sent `{"messages": null}` to the real API, which took it.
    ("createThread", "messages", ACCEPTED),
    ("createThread", "tool_resources", ACCEPTED),
    ("createThread", "metadata", ACCEPTED),
    ("createThreadAndRun", "thread", REFUSED),
    ("createThreadAndRun", "model", ACCEPTED),
    ("createThreadAndRun", "instructions", ACCEPTED),
    ("createThreadAndRun", "tools", ACCEPTED),
    ("createThreadAndRun", "tool_resources", ACCEPTED),
    ("createThreadAndRun", "metadata", ACCEPTED),
    ("createThreadAndRun", "temperature", ACCEPTED),
    ("createThreadAndRun", "top_p", ACCEPTED),
    ("createThreadAndRun", "stream", ACCEPTED),
    ("createThreadAndRun", "max_prompt_tokens", ACCEPTED),
    ("createThreadAndRun", "max_completion_tokens", ACCEPTED),
    ("createThreadAndRun", "truncation_strategy", ACCEPTED),
    ("createThreadAndRun", "tool_choice", ACCEPTED),
    ("createThreadAndRun", "parallel_tool_calls", REFUSED),
    ("createThreadAndRun", "response_format", ACCEPTED),
    ("createVectorStore", "file_ids", REFUSED),
    ("createVectorStore", "name", REFUSED),
    ("createVectorStore", "description", REFUSED),
    ("createVectorStore", "expires_after", REFUSED),
    ("createVectorStore", "chunking_strategy", REFUSED),
    ("createVectorStore", "metadata", ACCEPTED),
    ("createVectorStoreFile", "chunking_strategy", REFUSED),
    ("createVectorStoreFile", "attributes", ACCEPTED),
    ("createVectorStoreFileBatch", "file_ids", REFUSED),
    ("createVectorStoreFileBatch", "files", REFUSED),
    ("createVectorStoreFileBatch", "chunking_strategy", REFUSED),
    ("createVectorStoreFileBatch", "attributes", ACCEPTED),
    ("modifyAssistant", "model", REFUSED),
    ("modifyAssistant", "name", ACCEPTED),
    ("modifyAssistant", "description", ACCEPTED),
    ("modifyAssistant", "instructions", ACCEPTED),
    ("modifyAssistant", "reasoning_effort", ACCEPTED),
    ("modifyAssistant", "tools", REFUSED),
    ("modifyAssistant", "tool_resources", ACCEPTED),
    ("modifyAssistant", "metadata", ACCEPTED),
    ("modifyAssistant", "temperature", ACCEPTED),
    ("modifyAssistant", "top_p", ACCEPTED),
    ("modifyAssistant", "response_format", ACCEPTED),
    ("modifyMessage", "metadata", ACCEPTED),
    ("modifyRun", "metadata", ACCEPTED),
    ("modifyThread", "tool_resources", ACCEPTED),
    ("modifyThread", "metadata", ACCEPTED),
    ("modifyVectorStore", "name", ACCEPTED),
    ("modifyVectorStore", "expires_after", ACCEPTED),
    ("modifyVectorStore", "metadata", ACCEPTED),
    ("searchVectorStore", "rewrite_query", REFUSED),
    ("searchVectorStore", "max_num_results", REFUSED),
    ("searchVectorStore", "filters", REFUSED),
    ("searchVectorStore", "ranking_options", REFUSED),
    ("submitToolOuputsToRun", "stream", ACCEPTED),
]
# The required fields of each body, with values it takes; a batch names its files through the field tested.
MINIMAL: dict[str, dict[str, Any]] = {
    "createMessage": {"role": "user", "content": "hi"},
    "createAssistant": {"model": "gpt-4o"},
    "createResponse": {"model": "gpt-4o"},
    "createRun": {"assistant_id": "asst_x"},
    "createThreadAndRun": {"assistant_id": "asst_x"},
    "submitToolOuputsToRun": {"tool_outputs": []},
    "createVectorStoreFile": {"file_id": "file-x"},
    "createVectorStoreFileBatch": {"file_ids": ["file-x"]},
    "searchVectorStore": {"query": "q"},
}


def test_the_table_lists_every_optional_field_of_every_json_body(contract: Contract) -> None:
    optional = {
        (op_id, name)
        for op_id, op in contract.operations.items()
        if op.body_schema is not None and op.body_media_type == "application/json"
        for name in op.body_schema.get("properties", {})
        if name not in op.body_schema.get("required", [])
    }
    assert {(op_id, field) for op_id, field, _ in TABLE} == optional
    # createFile is a form: its fields are text, and a form cannot say null.
    assert contract.operations["createFile"].body_media_type == "multipart/form-data"


@pytest.fixture(scope="module")
def validators(contract: Contract) -> Validators:
    return Validators(contract, 1024 * 1024)


@pytest.mark.parametrize(("op_id", "field", "accepted"), TABLE, ids=[f"{op}.{field}" for op, field, _ in TABLE])
def test_null_is_taken_or_refused_as_the_table_says(
    validators: Validators, op_id: str, field: str, accepted: bool
) -> None:
    base = {} if op_id == "createVectorStoreFileBatch" and field in ("file_ids", "files") else MINIMAL.get(op_id, {})
    raw = orjson.dumps({**base, field: None})
    if accepted:
        validators[op_id].check_body(raw, "application/json")
        return
    with pytest.raises(APIError) as refused:
        validators[op_id].check_body(raw, "application/json")
    assert (refused.value.status, refused.value.param, refused.value.code) == (400, field, "invalid_type")
    assert refused.value.message.startswith(f"Invalid type for '{field}': expected ")
    assert refused.value.message.endswith(", but got null instead.")


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with (
        BackgroundServer(create_app(Settings())) as server,
        httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as client,
    ):
        yield client


def test_null_means_absent_over_http(api: httpx.Client) -> None:
    thread = api.post("/threads", json={"messages": None, "metadata": None, "tool_resources": None})
    assert thread.status_code == 200, thread.text
    assert api.get(f"/threads/{thread.json()['id']}/messages").json()["data"] == []
    assistant = api.post("/assistants", json={"model": "gpt-4o"}).json()
    run = api.post("/threads/runs", json={"assistant_id": assistant["id"], "thread": {"messages": None}})
    assert run.status_code == 200, run.text
    uploaded = api.post("/files", files={"file": ("a.txt", b"alpha")}, data={"purpose": "assistants"}).json()
    store = api.post("/vector_stores", json={"name": "kb", "metadata": None}).json()
    assert store["metadata"] == {}
    attached = api.post(f"/vector_stores/{store['id']}/files", json={"file_id": uploaded["id"], "attributes": None})
    assert attached.status_code == 200 and attached.json()["attributes"] == {}
    batch = api.post(
        f"/vector_stores/{store['id']}/file_batches", json={"file_ids": [uploaded["id"]], "attributes": None}
    )
    assert batch.status_code == 200, batch.text
    modified = api.post(f"/vector_stores/{store['id']}", json={"name": None, "expires_after": None, "metadata": None})
    assert modified.status_code == 200 and (modified.json()["name"], modified.json()["expires_at"]) == (None, None)
    nulls = ("instructions", "conversation", "previous_response_id", "store", "background", "stream", "reasoning")
    answered = api.post("/responses", json={"model": "gpt-4o", "input": "hi", **dict.fromkeys(nulls)})
    assert answered.status_code == 200 and answered.json()["store"] is True, answered.text
    assert api.post("/conversations", json={"items": None, "metadata": None}).json()["metadata"] == {}
    refused = api.post("/vector_stores", json={"name": None})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Invalid type for 'name': expected a string, but got null instead."
