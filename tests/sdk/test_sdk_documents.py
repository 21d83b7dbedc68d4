"""Files and vector stores through the official SDK (1.x and 3.x), sync and async, over a real socket: upload,
a vector store filled with the SDK's poll helpers, the bytes back, a search that finds the relevant chunk
first, and everything deleted. The same on the SQLite store across a restart is in `test_sdk_runs_documents`,
beside the runs that search such stores (one pair of servers for both)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from mock_server import MockApp, Settings, create_app
from mock_server.server import BackgroundServer

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

REFUNDS = b"Refunds are paid within 30 days of a return. Keep the receipt: the refund needs it."
WEATHER = b"The forecast says sun all week, with a light wind from the west."
CATS = b"Cats sleep for most of the day and hunt at dusk."
DATA = b'{"custom_id": "1", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
SDK_MAJOR, SDK_MINOR = (int(part) for part in openai.__version__.split(".")[:2])


def vector_stores(client: Any) -> Any:
    """Where this SDK keeps vector stores: `client.beta.vector_stores` in 1.21-1.65, then `client.vector_stores`."""
    return client.vector_stores if hasattr(client, "vector_stores") else client.beta.vector_stores


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings(poll_after_ms=5))) as running:
        yield running


def test_vector_stores_are_where_this_sdk_keeps_them() -> None:
    client = OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-mock")
    if (SDK_MAJOR, SDK_MINOR) >= (1, 66):
        assert hasattr(client, "vector_stores") and not hasattr(client.beta, "vector_stores")
    else:
        assert hasattr(client.beta, "vector_stores")


def fill(client: OpenAI) -> tuple[str, str, str]:
    """A batch file to download, and a vector store of three files (one attached, two in a batch)."""
    data = client.files.create(file=("requests.jsonl", DATA), purpose="batch")
    assert (data.object, data.status, data.bytes, data.filename) == ("file", "processed", len(DATA), "requests.jsonl")
    stores = vector_stores(client)
    store = stores.create(name="help desk", metadata={"team": "support"})
    attached = stores.files.upload_and_poll(vector_store_id=store.id, file=("refunds.txt", REFUNDS))
    assert (attached.status, attached.usage_bytes) == ("completed", len(REFUNDS))
    batch = stores.file_batches.upload_and_poll(store.id, files=[("weather.txt", WEATHER), ("cats.txt", CATS)])
    assert (batch.status, batch.file_counts.completed, batch.file_counts.in_progress) == ("completed", 2, 0)
    return data.id, store.id, attached.id


def check_filled(client: OpenAI, data_id: str, store_id: str, refunds_id: str) -> None:
    assert client.files.content(data_id).read() == DATA
    stores = vector_stores(client)
    store = stores.retrieve(store_id)
    assert (store.status, store.file_counts.completed, store.usage_bytes) == (
        "completed",
        3,
        len(REFUNDS) + len(WEATHER) + len(CATS),
    )
    found = stores.search(store_id, query="how long until my refund is paid?").data
    assert found[0].file_id == refunds_id and found[0].filename == "refunds.txt"
    assert found[0].content[0].text == REFUNDS.decode()
    assert all(0 < hit.score < 1 for hit in found) and found == sorted(found, key=lambda hit: -hit.score)


def empty(client: OpenAI, data_id: str, store_id: str) -> None:
    stores = vector_stores(client)
    for file_id in [f.id for f in stores.files.list(store_id)] + [data_id]:
        assert client.files.delete(file_id).deleted
    assert stores.retrieve(store_id).file_counts.total == 0  # deleted files leave the store
    assert stores.delete(store_id).deleted
    with pytest.raises(openai.NotFoundError):
        stores.retrieve(store_id)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(data_id)
    assert client.files.list().data == []


def test_files_and_a_vector_store_from_upload_to_deletion(server: BackgroundServer[MockApp]) -> None:
    with OpenAI(base_url=server.base_url, api_key="sk-sync", max_retries=0) as client:
        data_id, store_id, refunds_id = fill(client)
        check_filled(client, data_id, store_id, refunds_id)
        empty(client, data_id, store_id)


def test_the_same_with_the_async_client(server: BackgroundServer[MockApp]) -> None:
    async def scenario() -> None:
        async with AsyncOpenAI(base_url=server.base_url, api_key="sk-async", max_retries=0) as client:
            stores = vector_stores(client)
            store = await stores.create(name="async")
            uploaded = await stores.files.upload_and_poll(vector_store_id=store.id, file=("refunds.txt", REFUNDS))
            batch = await stores.file_batches.upload_and_poll(store.id, files=[("cats.txt", CATS)])
            assert (uploaded.status, batch.file_counts.completed) == ("completed", 1)
            data = await client.files.create(file=("requests.jsonl", DATA), purpose="batch")
            assert await (await client.files.content(data.id)).aread() == DATA
            found = (await stores.search(store.id, query="refund receipt")).data
            assert [hit.file_id for hit in found] == [uploaded.id]
            in_store = [f.id async for f in stores.files.list(store.id)]
            assert uploaded.id in in_store and len(in_store) == 2
            for file_id in (data.id, *in_store):
                assert (await client.files.delete(file_id)).deleted
            assert (await stores.delete(store.id)).deleted
            assert (await client.files.list()).data == []

    asyncio.run(scenario())
