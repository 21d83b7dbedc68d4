"""What is particular to one backend, the registry of backends and the store over HTTP. The tests every backend
passes are the conformance suite (mock_server/store/conformance.py), run in test_store_conformance.py."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.server import BackgroundServer
from mock_server.store import Contention, DiskFull, Store, StoreUnavailable, shared_between_processes, store_for
from mock_server.store.backends.memory import MemoryStore
from mock_server.store.conformance import message, set_metadata, thread, thread_stats

from .helpers import HEADERS, tracked_within


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def opened(url: str, max_threads: int = 100_000) -> Store:
    store = store_for(url, max_threads)
    run(store.open())
    return store


# -- SQLite --------------------------------------------------------------------------------------


def test_a_deleted_thread_leaves_no_message_in_the_sqlite_file(tmp_path: Path) -> None:
    store = opened(f"sqlite:{tmp_path / 'store.db'}")
    run(store.create_thread("p", thread("thread_a"), [message(f"msg_{i}", "thread_a") for i in range(3)]))
    run(store.create_thread("p", thread("thread_b"), [message("msg_b", "thread_b")]))
    assert run(store.delete_thread("p", "thread_a")) is True
    run(store.create_thread("p", thread("thread_a"), []))
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (1,)
    run(store.close())


def test_a_full_sqlite_file_evicts_the_least_recently_used_threads_and_stays_within_its_bound(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    store = opened(f"sqlite:{path}")
    store.limit_disk(1024**2)
    text = "x" * 20_000
    run(store.create_thread("p", thread("thread_kept"), []))
    for number in range(150):  # 3 MB of messages for a 1 MiB file
        run(store.create_thread("p", thread(f"thread_{number}"), [message(f"msg_{number}", f"thread_{number}", text)]))
        assert run(store.get_thread("p", "thread_kept")) is not None  # used, so never the least recent
    found = [run(store.get_thread("p", f"thread_{number}")) is not None for number in range(150)]
    assert found == sorted(found) and not found[0] and found[-1]
    assert run(store.stats())["evicted"] == found.count(False)
    assert path.stat().st_size <= 1024**2
    with pytest.raises(DiskFull):  # larger than the whole file, even with everything else gone
        run(store.create_thread("p", thread("thread_huge"), [message("msg_huge", "thread_huge", "y" * 2 * 1024**2)]))
    assert run(store.get_thread("p", "thread_huge")) is None
    run(store.close())


def test_two_sqlite_stores_on_one_file_update_atomically(tmp_path: Path) -> None:
    """Two connections, as two worker processes have, read-modify-write the same thread at once."""
    url = f"sqlite:{tmp_path / 'shared.db'}"
    stores = [opened(url), opened(url)]
    run(stores[0].create_thread("p", thread("thread_a"), []))
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        async def updates() -> None:
            for i in range(40):
                await stores[index].update_thread("p", "thread_a", set_metadata(f"w{index}_{i}", "x"))

        try:
            asyncio.run(updates())
        except BaseException as error:  # reported below: an assertion in a thread would be lost
            errors.append(error)

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(30)
    assert not errors
    metadata = run(stores[1].get_thread("p", "thread_a"))["metadata"]
    assert len(metadata) == 80
    for store in stores:
        run(store.close())


def test_a_reopened_sqlite_store_has_everything(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'again.db'}"
    first = opened(url, max_threads=2)
    run(first.create_thread("p", thread("thread_a", k="v"), [message("msg_1", "thread_a")]))
    for name in ("thread_b", "thread_c"):
        run(first.create_thread("p", thread(name), []))
    run(first.close())
    second = opened(url, max_threads=2)
    assert run(second.get_thread("p", "thread_a")) is None
    assert run(thread_stats(second)) == {"threads": 2, "max_threads": 2, "evicted": 1}
    assert [t["id"] for t in run(second.threads("p"))] == ["thread_b", "thread_c"]
    run(second.close())


def test_an_unopened_sqlite_store_says_so(tmp_path: Path) -> None:
    store = store_for(f"sqlite:{tmp_path / 'later.db'}")
    assert not (tmp_path / "later.db").exists()  # the constructor does no I/O
    with pytest.raises(RuntimeError, match="is not open: await its open"):
        run(store.get_thread("p", "thread_a"))


# -- memory --------------------------------------------------------------------------------------


def test_memory_stays_flat_past_the_bound() -> None:
    """Evicted threads give their memory back, and a held thread costs about its JSON, not orjson's buffer."""
    store = store_for("memory", max_threads=1000)

    async def fill(start: int, count: int) -> None:
        for i in range(start, start + count):
            name = f"thread_{i:024d}"
            await store.create_thread("p", thread(name, user="u1"), [message(f"msg_{i:024d}", name)])

    tracemalloc.start()
    try:
        run(fill(0, 1000))
        full = tracemalloc.get_traced_memory()[0]
        run(fill(1000, 5000))
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert run(thread_stats(store)) == {"threads": 1000, "max_threads": 1000, "evicted": 5000}
    assert full < 1000 * 2048, f"{full / 1000:.0f} bytes per thread held"
    # The store's dicts keep the larger tables that churn gave them (about 15% here); a leak of the 5,000
    # evicted threads would be several times `full`.
    assert after < full * 1.25, (full, after)


def test_the_memory_store_keeps_nothing_the_garbage_collector_walks() -> None:
    """Stored objects are tuples and dicts of atoms, so that young collections between requests do not walk
    the whole store: their pauses grew with it and were the mock's p99 (issue 6)."""
    store = store_for("memory", max_threads=500)

    async def churn() -> None:
        for i in range(1000):  # past the bound: eviction too
            name = f"thread_{i:024d}"
            await store.create_thread("p", thread(name), [message(f"msg_{i:024d}_0", name)])
            await store.add_message("p", message(f"msg_{i:024d}_1", name, run_id="run_1"))
            await store.update_thread("p", name, lambda t: {**t, "metadata": {"k": "v"}})
            await store.update_message("p", name, f"msg_{i:024d}_1", lambda m: {**m, "metadata": {"k": "v"}})
            await store.put_record("p", "run", f"run_{i}", {"id": f"run_{i}", "status": "queued"}, parent=name)
            await store.update_record("p", "run", f"run_{i}", lambda r: {**r, "status": "in_progress"})
            await store.add_record("p", "active_run", name, {"run_id": f"run_{i}"}, parent=name)

    run(churn())
    gc.collect()
    assert run(store.stats())["threads"] == 500
    assert tracked_within(vars(store).values()) == []


# -- the update helper ---------------------------------------------------------------------------


def test_an_update_that_always_loses_gives_up_with_contention() -> None:
    class AlwaysLoses(MemoryStore):
        replaced = 0

        async def replace_record(self, *args: Any) -> None:
            self.replaced += 1
            return None

    store = AlwaysLoses()
    run(store.put_record("p", "run", "run_1", {"metadata": {}}))
    with pytest.raises(Contention, match="lost to other writers 64 times in a row"):
        run(store.update_record("p", "run", "run_1", set_metadata("k", "v")))
    assert store.replaced == 64


# -- opening stores ------------------------------------------------------------------------------


def test_open_store_refuses_unknown_urls(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="unknown store 'postgres://x'; known: memory, redis://HOST:PORT/DB, sqlite:PATH"
    ):
        store_for("postgres://x")
    with pytest.raises(ValueError, match="sqlite:PATH"):
        store_for("sqlite:")
    with pytest.raises(ValueError, match="cannot open the sqlite store"):
        opened(f"sqlite:{tmp_path / 'no' / 'such' / 'dir.db'}")
    (tmp_path / "text.db").write_text("not a database, just text that is long enough to be read as a header")
    with pytest.raises(ValueError, match="cannot open the sqlite store"):
        opened(f"sqlite:{tmp_path / 'text.db'}")


def test_a_store_that_cannot_open_raises_store_unavailable_when_opened(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    store = store_for(f"sqlite:{tmp_path / 'a_file' / 'x.db'}")  # the constructor does no I/O: no error yet
    with pytest.raises(StoreUnavailable, match="cannot open the sqlite store"):
        run(store.open())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_stops_with_one_line_when_the_store_cannot_open(tmp_path: Path, workers: str) -> None:
    (tmp_path / "a_file").write_text("")
    store = f"sqlite:{tmp_path / 'a_file' / 'x.db'}"
    command = [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--workers", workers, "--store", store]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("threads-mock serve: error: cannot open the sqlite store")
    assert result.stderr.count("\n") == 1, result.stderr


def test_backends_are_found_by_scheme_and_declare_whether_workers_share_them(tmp_path: Path) -> None:
    assert type(store_for("")) is type(store_for("memory")) is type(store_for("memory:")) is MemoryStore
    with pytest.raises(ValueError, match="the memory store takes nothing after 'memory:'"):
        store_for("memory:x")
    assert type(store_for(f"sqlite:{tmp_path / 'x.db'}")).__name__ == "SqliteStore"
    assert shared_between_processes(f"sqlite:{tmp_path / 'x.db'}")
    assert not shared_between_processes("memory")
    assert shared_between_processes("redis://127.0.0.1:6379/0")
    assert not shared_between_processes("postgres://x")


# -- over HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_health_shows_the_store_and_its_evictions(
    start_server: Callable[..., BackgroundServer], tmp_path: Path, backend: str
) -> None:
    url = "memory" if backend == "memory" else f"sqlite:{tmp_path / 'health.db'}"
    server = start_server(store=url, max_threads=2)
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as client:
        first = client.post("/threads").json()["id"]
        for _ in range(2):
            assert client.post("/threads").status_code == 200
        assert client.get(f"/threads/{first}").status_code == 404
        health = httpx.get(f"{server.url}/__mock__/health")
        assert health.status_code == 200
        assert health.json()["store"] == {
            "threads": 2,
            "max_threads": 2,
            "evicted": 1,
            "file_bytes": 0,
            # In memory, files take at most half the store's share of --max-memory (768 MiB of 1 GiB).
            "max_file_bytes": 384 * 1024**2 if backend == "memory" else 512 * 1024**2,
            "files_evicted": 0,
        }
