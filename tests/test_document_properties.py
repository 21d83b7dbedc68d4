"""Properties of files and vector stores over loopback, with requests drawn by `mock_server.strategies`: any
upload the contract allows is stored and reads back byte for byte; any vector store, file or search body it
allows is answered with what the contract declares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import given

from mock_server import Settings, create_app, strategies
from mock_server.contract import Contract
from mock_server.server import BackgroundServer
from mock_server.strategies import UploadForm

from .helpers import HEADERS
from .test_properties import PROPERTY, answered

AUTH = {"Authorization": HEADERS["Authorization"]}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with (
        BackgroundServer(create_app(Settings(seed=5))) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def store(client: httpx.Client) -> dict[str, Any]:
    """A vector store with one file in it."""
    uploaded = client.post("/files", files={"file": ("a.txt", b"alpha beta gamma")}, data={"purpose": "assistants"})
    created: dict[str, Any] = client.post("/vector_stores", json={"file_ids": [uploaded.json()["id"]]}).json()
    return {**created, "file_id": uploaded.json()["id"]}


@PROPERTY
@given(form=strategies.upload_forms())
def test_any_valid_upload_is_stored_as_sent(client: httpx.Client, contract: Contract, form: UploadForm) -> None:
    response = client.post("/files", data=form.fields, files={"file": (form.filename, form.content)})
    created = answered(response, contract, "createFile")
    assert (created["filename"], created["bytes"], created["purpose"]) == (
        form.filename,
        len(form.content),
        form.fields["purpose"],
    )
    if created["purpose"] not in ("assistants", "user_data"):
        assert client.get(f"/files/{created['id']}/content").content == form.content
    assert client.delete(f"/files/{created['id']}").status_code == 200


@PROPERTY
@given(body=strategies.create_vector_store_requests().map(lambda body: {**body, "file_ids": []}))
def test_any_valid_vector_store_is_created(client: httpx.Client, contract: Contract, body: dict[str, Any]) -> None:
    created = answered(client.post("/vector_stores", json=body), contract, "createVectorStore")
    assert created["name"] == body.get("name") and created["metadata"] == (body.get("metadata") or {})
    assert answered(client.get(f"/vector_stores/{created['id']}"), contract, "getVectorStore") == created


@PROPERTY
@given(body=strategies.search_vector_store_requests())
def test_any_valid_search_is_answered(
    client: httpx.Client, contract: Contract, store: dict[str, Any], body: dict[str, Any]
) -> None:
    found = answered(client.post(f"/vector_stores/{store['id']}/search", json=body), contract, "searchVectorStore")
    assert len(found["data"]) <= body.get("max_num_results", 10)


@PROPERTY
@given(body=strategies.create_vector_store_file_requests().map(lambda body: body))
def test_any_valid_attachment_is_answered(
    client: httpx.Client, contract: Contract, store: dict[str, Any], body: dict[str, Any]
) -> None:
    body = {**body, "file_id": store["file_id"]}
    attached = answered(
        client.post(f"/vector_stores/{store['id']}/files", json=body), contract, "createVectorStoreFile"
    )
    assert attached["attributes"] == (body.get("attributes") or {})
    got = answered(client.get(f"/vector_stores/{store['id']}/files/{store['file_id']}"), contract, "getVectorStoreFile")
    assert got["status"] == "completed"


def test_vector_store_and_upload_schemas_are_draft_7_and_self_contained(contract: Contract) -> None:
    for operation_id in (*strategies.VECTOR_STORE_OPERATIONS, "createFile"):
        schema = strategies.request_schema(operation_id, contract)
        jsonschema.Draft7Validator.check_schema(schema)
        assert "$ref" not in repr(schema) and "'x-" not in repr(schema)
