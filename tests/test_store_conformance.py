"""The conformance suite on every backend, and on every backend under a wrapper that yields to the event loop
inside each call (as a network backend does); and proof that its concurrency tests catch a broken backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mock_server.store import JSON, Store, Version, store_for
from mock_server.store.backends.memory import MemoryStore
from mock_server.store.conformance import (
    StoreConformance,
    StoreFactory,
    Yielding,
    claim_concurrently,
    merge_concurrently,
)


def sqlite_factory(tmp_path: Path) -> StoreFactory:
    return lambda *limits: store_for(f"sqlite:{tmp_path / 'store.db'}", *limits)


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return lambda *limits: store_for("memory", *limits)


class TestSqliteStore(StoreConformance):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        return sqlite_factory(tmp_path)


class TestYieldingMemoryStore(StoreConformance):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return lambda *limits: Yielding(store_for("memory", *limits))


class TestYieldingSqliteStore(StoreConformance):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        make = sqlite_factory(tmp_path)
        return lambda *limits: Yielding(make(*limits))


class IgnoresVersions(MemoryStore):
    """A backend that forgot the condition of its conditional writes, and claims by looking first and writing
    after a round trip: what a network backend without transactions or scripts would do."""

    async def replace_thread(self, project: str, thread_id: str, thread: JSON, version: Version) -> Version | None:
        current = await self.read_thread(project, thread_id)
        return None if current is None else await super().replace_thread(project, thread_id, thread, current.version)

    async def replace_record(
        self, project: str, kind: str, record_id: str, data: JSON, version: Version
    ) -> Version | None:
        current = await self.read_record(project, kind, record_id)
        if current is None:
            return None
        return await super().replace_record(project, kind, record_id, data, current.version)

    async def add_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> JSON | None:
        held = await self.get_record(project, kind, record_id)
        await asyncio.sleep(0)
        if held is not None:
            return held
        await self.put_record(project, kind, record_id, data, parent)
        return None


def broken() -> Store:
    return Yielding(IgnoresVersions())


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_concurrent_merge_test_fails_on_a_backend_that_ignores_versions(anyio_backend: str) -> None:
    with pytest.raises(AssertionError, match="the thread kept"):
        await merge_concurrently(broken())
    # Without a turn of the event loop inside its calls, the same backend passes: why the wrapper is needed.
    await merge_concurrently(IgnoresVersions())


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_concurrent_claim_test_fails_on_a_backend_that_checks_then_writes(anyio_backend: str) -> None:
    with pytest.raises(AssertionError, match="claims that won"):
        await claim_concurrently(broken())
