"""Files and vector stores over HTTP: processing driven by polls, chunking and search, batches, and what every
API family gets (projects per key, lenient mode, faults, rate limits, seeds)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mock_server import MockApp, Settings, create_app
from mock_server.server import BackgroundServer

from .helpers import HEADERS, journal

AUTH = {"Authorization": HEADERS["Authorization"]}
WORDS = " ".join(f"w{i}" for i in range(250))


def client_for(server: BackgroundServer[MockApp], key: str = "sk-mock") -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10)


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings(poll_after_ms=7))) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: BackgroundServer[MockApp]) -> Iterator[httpx.Client]:
    with client_for(server) as client:
        yield client


def upload(api: httpx.Client, content: bytes, name: str = "doc.txt", purpose: str = "assistants") -> str:
    created = api.post("/files", files={"file": (name, content)}, data={"purpose": purpose})
    assert created.status_code == 200, created.text
    file_id: str = created.json()["id"]
    return file_id


def test_processing_moves_with_polls_and_says_when_to_poll_again(api: httpx.Client) -> None:
    first, second = upload(api, b"one two three"), upload(api, b"four five")
    created = api.post("/vector_stores", json={"file_ids": [first], "name": "kb"})
    store = created.json()
    assert (store["status"], store["file_counts"]["in_progress"], store["usage_bytes"]) == ("in_progress", 1, 0)
    assert created.headers["openai-poll-after-ms"] == "7"
    attached = api.post(f"/vector_stores/{store['id']}/files", json={"file_id": second, "attributes": {"n": 2}})
    assert attached.json()["status"] == "in_progress" and attached.headers["openai-poll-after-ms"] == "7"
    assert attached.json()["chunking_strategy"] == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
    }
    polled = api.get(f"/vector_stores/{store['id']}/files/{second}")
    assert polled.json()["status"] == "completed" and "openai-poll-after-ms" not in polled.headers
    assert polled.json()["usage_bytes"] == len(b"four five")
    again = api.get(f"/vector_stores/{store['id']}").json()
    assert (again["status"], again["file_counts"]["completed"], again["usage_bytes"]) == ("completed", 2, 22)
    listed = api.get(f"/vector_stores/{store['id']}/files", params={"filter": "completed", "order": "asc"}).json()
    assert [f["id"] for f in listed["data"]] == [first, second]
    assert api.get(f"/vector_stores/{store['id']}/files", params={"filter": "failed"}).json()["data"] == []
    updated = api.post(f"/vector_stores/{store['id']}/files/{second}", json={"attributes": {"n": 3}}).json()
    assert updated["attributes"] == {"n": 3}
    content = api.get(f"/vector_stores/{store['id']}/files/{first}/content").json()
    assert content["data"] == [{"type": "text", "text": "one two three"}]
    detached = api.delete(f"/vector_stores/{store['id']}/files/{first}").json()
    assert detached == {"id": first, "object": "vector_store.file.deleted", "deleted": True}
    assert api.get(f"/files/{first}").status_code == 200  # the file itself stays
    assert api.get(f"/vector_stores/{store['id']}").json()["file_counts"]["total"] == 1


def test_batches_count_their_files_and_cancel_what_is_in_progress(api: httpx.Client) -> None:
    store_id = api.post("/vector_stores", json={}).json()["id"]
    ids = [upload(api, f"file {i}".encode()) for i in range(3)]
    batch = api.post(f"/vector_stores/{store_id}/file_batches", json={"file_ids": ids[:2]}).json()
    assert batch["object"] == "vector_store.file_batch" and batch["id"].startswith("vsfb_")
    assert (batch["status"], batch["file_counts"]["in_progress"]) == ("in_progress", 2)
    polled = api.get(f"/vector_stores/{store_id}/file_batches/{batch['id']}").json()
    assert (polled["status"], polled["file_counts"]["completed"]) == ("completed", 2)
    refused = api.post(f"/vector_stores/{store_id}/file_batches/{batch['id']}/cancel")
    assert refused.status_code == 400 and "status 'completed'" in refused.json()["error"]["message"]
    other = api.post(f"/vector_stores/{store_id}/file_batches", json={"files": [{"file_id": ids[2]}]}).json()
    cancelled = api.post(f"/vector_stores/{store_id}/file_batches/{other['id']}/cancel").json()
    assert (cancelled["status"], cancelled["file_counts"]["cancelled"]) == ("cancelled", 1)
    listed = api.get(f"/vector_stores/{store_id}/file_batches/{batch['id']}/files").json()
    assert sorted(f["id"] for f in listed["data"]) == sorted(ids[:2])


def test_search_chunks_as_the_strategy_says_and_ranks_by_bm25(api: httpx.Client) -> None:
    words = upload(api, WORDS.encode(), "words.txt")
    story = upload(api, b"The refund arrives within thirty days. Nothing else is said here.", "refunds.txt")
    static = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}}
    store_id = api.post("/vector_stores", json={"file_ids": [words], "chunking_strategy": static}).json()["id"]
    api.post(f"/vector_stores/{store_id}/files", json={"file_id": story, "attributes": {"topic": "money"}})
    # Windows of 100 words, each 50 after the one before: w120 is in the second and the third.
    found = api.post(f"/vector_stores/{store_id}/search", json={"query": "w120"}).json()
    window = [hit["content"][0]["text"] for hit in found["data"]]
    assert window == [" ".join(f"w{i}" for i in range(50, 150)), " ".join(f"w{i}" for i in range(100, 200))]
    assert found["search_query"] == ["w120"] and found["object"] == "vector_store.search_results.page"
    refunds = api.post(f"/vector_stores/{store_id}/search", json={"query": ["when", "is my REFUND?"]}).json()
    assert [hit["filename"] for hit in refunds["data"]] == ["refunds.txt"]
    assert refunds["data"][0]["attributes"] == {"topic": "money"} and 0 < refunds["data"][0]["score"] < 1
    many = api.post(f"/vector_stores/{store_id}/search", json={"query": "w1 w2 w3 w99", "max_num_results": 1})
    assert len(many.json()["data"]) == 1
    strict = {"query": "refund", "ranking_options": {"score_threshold": 0.99}}
    assert api.post(f"/vector_stores/{store_id}/search", json=strict).json()["data"] == []
    filtered = {"query": "refund w1", "filters": {"type": "eq", "key": "topic", "value": "money"}}
    assert {h["file_id"] for h in api.post(f"/vector_stores/{store_id}/search", json=filtered).json()["data"]} == {
        story
    }
    compound = {"type": "or", "filters": [{"type": "ne", "key": "topic", "value": "money"}]}
    rest = api.post(f"/vector_stores/{store_id}/search", json={"query": "refund w1", "filters": compound}).json()
    assert {hit["file_id"] for hit in rest["data"]} == {words}


def test_errors_name_what_is_missing(api: httpx.Client) -> None:
    missing = api.get("/files/file-nope").json()["error"]
    assert (missing["message"], missing["param"]) == ("No such File object: file-nope", "id")
    gone = api.get("/vector_stores/vs_nope").json()["error"]
    assert gone["message"] == "No vector store found with id 'vs_nope'."
    wrong = api.get("/vector_stores/nope").json()["error"]
    assert wrong["message"] == "Invalid 'vector_store_id': 'nope'. Expected an ID that begins with 'vs'."
    store_id = api.post("/vector_stores", json={}).json()["id"]
    unknown = api.post(f"/vector_stores/{store_id}/files", json={"file_id": "file-nope"}).json()["error"]
    assert (unknown["message"], unknown["param"]) == ("No file found with id 'file-nope'.", "file_id")
    batch = api.post(f"/vector_stores/{store_id}/file_batches", json={"file_ids": ["file-nope"]}).json()["error"]
    assert batch["param"] == "file_ids[0]"
    overlap = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 51}}
    refused = api.post("/vector_stores", json={"chunking_strategy": overlap}).json()["error"]
    assert refused["param"] == "chunking_strategy.static.chunk_overlap_tokens"


def test_each_key_is_its_own_project(server: BackgroundServer[MockApp], api: httpx.Client) -> None:
    file_id = upload(api, b"mine")
    store_id = api.post("/vector_stores", json={"file_ids": [file_id]}).json()["id"]
    with client_for(server, "sk-other") as other:
        assert other.get(f"/files/{file_id}").status_code == 404
        assert other.get(f"/vector_stores/{store_id}").status_code == 404
        assert file_id not in [f["id"] for f in other.get("/files").json()["data"]]


def test_lenient_mode_makes_unknown_ids_on_first_use() -> None:
    with BackgroundServer(create_app(Settings(mode="lenient"))) as server, client_for(server) as api:
        store = api.get("/vector_stores/anything").json()
        assert (store["id"], store["status"]) == ("anything", "completed")
        assert api.get("/files/file-made-up").json()["bytes"] == 0
        entry = api.get("/vector_stores/anything/files/file-other").json()
        assert (entry["id"], entry["status"]) == ("file-other", "completed")
        assert api.get("/vector_stores/anything/file_batches/vsfb_x").json()["status"] == "completed"


def test_faults_and_rate_limits_reach_the_new_paths() -> None:
    settings = Settings(faults=("POST /v1/files: status=503; times=1",), rate_limit="4/min")
    with BackgroundServer(create_app(settings)) as server, client_for(server) as api:
        failed = api.post("/files", files={"file": ("a.txt", b"x")}, data={"purpose": "assistants"})
        assert failed.status_code == 503 and api.get("/files").json()["data"] == []
        upload(api, b"x")
        assert api.get("/vector_stores").status_code == 200
        assert api.get("/vector_stores").status_code == 429
        statuses = [entry["status"] for entry in journal(server, path="/v1/files")]
        assert statuses == [503, 200, 200]


def test_a_seed_gives_the_same_ids_and_bodies() -> None:
    def session() -> list[Any]:
        with BackgroundServer(create_app(Settings(seed=11))) as server, client_for(server) as api:
            file_id = upload(api, b"same bytes")
            expiring = {"anchor": "last_active_at", "days": 2}
            store = api.post("/vector_stores", json={"file_ids": [file_id], "expires_after": expiring}).json()
            batch = api.post(f"/vector_stores/{store['id']}/file_batches", json={"file_ids": [file_id]}).json()
            api.post(f"/vector_stores/{store['id']}/search", json={"query": "same"})
            searched = api.get(f"/vector_stores/{store['id']}").json()
            return [api.get(f"/files/{file_id}").json(), store, batch, searched]

    first = session()
    assert session() == first
    assert first[0]["id"].startswith("file-") and first[1]["id"].startswith("vs_") and len(first[1]["id"]) == 35
    # A search is activity: the store's expiry counts from it (seeded clocks tick once per timestamp).
    store, searched = first[1], first[3]
    assert searched["last_active_at"] > store["last_active_at"] == store["created_at"]
    assert searched["expires_at"] == searched["last_active_at"] + 2 * 86400
