"""The store conformance suite on the Redis backend against a real redis-server, plain and under the yielding
wrapper; and what is particular to it: namespaces, its URL, a server that is not there."""

from __future__ import annotations

import pytest

from mock_server.store import StoreUnavailable, store_for
from mock_server.store.backends.redis import RedisStore
from mock_server.store.conformance import StoreConformance, StoreFactory, Yielding, message, thread

from .redis_server import free_port


class TestRedisStore(StoreConformance):
    @pytest.fixture
    def store_factory(self, redis_url: str) -> StoreFactory:
        return lambda *limits: store_for(redis_url, *limits)


class TestYieldingRedisStore(StoreConformance):
    @pytest.fixture
    def store_factory(self, redis_url: str) -> StoreFactory:
        return lambda *limits: Yielding(store_for(redis_url, *limits))


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_namespaces_are_kept_apart_and_clear_empties_one(anyio_backend: str, redis_url: str) -> None:
    base = redis_url.partition("?")[0]
    one, two = store_for(f"{base}?namespace=one-{id(redis_url)}"), store_for(f"{base}?namespace=two-{id(redis_url)}")
    await one.open()
    await two.open()
    try:
        await one.create_thread("p", thread("thread_a", owner="one"), [message("msg_1", "thread_a")])
        await two.create_thread("p", thread("thread_a", owner="two"), [])
        assert await one.get_thread("p", "thread_a") == thread("thread_a", owner="one")
        await two.clear()
        assert await two.get_thread("p", "thread_a") is None
        assert await one.get_message("p", "thread_a", "msg_1") == message("msg_1", "thread_a")
        assert (await one.stats())["threads"] == 1
    finally:
        await one.clear()
        await one.close()
        await two.close()


def test_the_url_names_the_namespace_and_bad_ones_are_refused() -> None:
    store = store_for("redis://127.0.0.1:6379/2?namespace=ci-7")
    assert isinstance(store, RedisStore)
    assert (store.url, store.prefix) == ("redis://127.0.0.1:6379/2", "threads-mock:ci-7:")
    assert store_for("redis://localhost").prefix == "threads-mock:default:"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="namespace"):
        store_for("redis://localhost/0?namespace=a*b")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_server_that_is_not_there_fails_open_with_store_unavailable(anyio_backend: str) -> None:
    with pytest.raises(StoreUnavailable, match="cannot reach the redis store"):
        await store_for(f"redis://127.0.0.1:{free_port()}/0").open()
