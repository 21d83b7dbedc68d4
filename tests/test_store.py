"""One suite for every store backend: each test runs against the memory store and the SQLite store."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import sqlite3
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.server import BackgroundServer
from mock_server.store import JSON, ListQuery, Store, open_store
from mock_server.store.base import page_of

from .helpers import HEADERS, tracked_within

MakeStore = Callable[..., Store]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """Opens stores of the backend under test; every SQLite store of one test opens the same file."""
    opened: list[Store] = []

    def make(max_threads: int = 100_000) -> Store:
        url = "memory" if request.param == "memory" else f"sqlite:{tmp_path / 'store.db'}"
        store = open_store(url, max_threads)
        opened.append(store)
        return store

    yield make
    for store in opened:
        asyncio.run(store.close())


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store()


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def thread(thread_id: str, **metadata: str) -> JSON:
    return {"id": thread_id, "object": "thread", "created_at": 1, "metadata": metadata, "tool_resources": {}}


def message(message_id: str, thread_id: str, text: str = "hi", run_id: str | None = None) -> JSON:
    return {
        "id": message_id,
        "object": "thread.message",
        "thread_id": thread_id,
        "run_id": run_id,
        "role": "user",
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
        "metadata": {},
    }


def set_metadata(key: str, value: str) -> Callable[[JSON], JSON]:
    def change(obj: JSON) -> JSON:
        obj["metadata"] = {**obj["metadata"], key: value}
        return obj

    return change


# -- threads and messages ------------------------------------------------------------------------


def test_a_created_thread_and_its_messages_come_back(store: Store) -> None:
    first = message("msg_1", "thread_a", "one")
    second = message("msg_2", "thread_a", "two")
    run(store.create_thread("p", thread("thread_a", k="v"), [first, second]))
    assert run(store.get_thread("p", "thread_a")) == thread("thread_a", k="v")
    assert run(store.get_message("p", "thread_a", "msg_1")) == first
    assert run(store.get_message("p", "thread_a", "msg_2")) == second
    assert run(store.list_messages("p", "thread_a", ListQuery(order="asc"))).items == [first, second]


def test_threads_lists_a_projects_threads_in_creation_order(store: Store) -> None:
    for name in ("thread_c", "thread_a", "thread_b"):
        run(store.create_thread("p", thread(name), []))
    run(store.create_thread("other", thread("thread_z"), []))
    run(store.get_thread("p", "thread_c"))  # a use reorders eviction, not the listing
    assert [t["id"] for t in run(store.threads("p"))] == ["thread_c", "thread_a", "thread_b"]
    assert run(store.threads("nobody")) == []


def test_unknown_ids_answer_none_or_false(store: Store) -> None:
    run(store.create_thread("p", thread("thread_a"), [message("msg_1", "thread_a")]))
    assert run(store.get_thread("p", "thread_x")) is None
    assert run(store.update_thread("p", "thread_x", set_metadata("k", "v"))) is None
    assert run(store.delete_thread("p", "thread_x")) is False
    assert run(store.add_message("p", message("msg_2", "thread_x"))) is False
    assert run(store.get_message("p", "thread_x", "msg_1")) is None
    assert run(store.get_message("p", "thread_a", "msg_x")) is None
    assert run(store.update_message("p", "thread_a", "msg_x", set_metadata("k", "v"))) is None
    assert run(store.update_message("p", "thread_x", "msg_1", set_metadata("k", "v"))) is None
    assert run(store.delete_message("p", "thread_a", "msg_x")) is False
    assert run(store.delete_message("p", "thread_x", "msg_1")) is False
    assert run(store.list_messages("p", "thread_x", ListQuery())) is None
    assert run(store.get_message("p", "thread_a", "msg_1")) == message("msg_1", "thread_a")


def test_update_thread_applies_the_change_and_keeps_it(store: Store) -> None:
    run(store.create_thread("p", thread("thread_a", a="1"), []))
    updated = run(store.update_thread("p", "thread_a", set_metadata("b", "2")))
    assert updated == thread("thread_a", a="1", b="2")
    assert run(store.get_thread("p", "thread_a")) == updated


def test_update_message_applies_the_change_and_keeps_its_place(store: Store) -> None:
    messages = [message(f"msg_{i}", "thread_a") for i in range(3)]
    run(store.create_thread("p", thread("thread_a"), messages))
    updated = run(store.update_message("p", "thread_a", "msg_1", set_metadata("k", "v")))
    assert updated["metadata"] == {"k": "v"}
    assert run(store.get_message("p", "thread_a", "msg_1")) == updated
    listed = run(store.list_messages("p", "thread_a", ListQuery(order="asc"))).items
    assert [m["id"] for m in listed] == ["msg_0", "msg_1", "msg_2"] and listed[1] == updated


def test_add_message_appends_and_an_existing_id_is_replaced_in_place(store: Store) -> None:
    run(store.create_thread("p", thread("thread_a"), [message("msg_0", "thread_a")]))
    assert run(store.add_message("p", message("msg_1", "thread_a", "one")))
    assert run(store.add_message("p", message("msg_0", "thread_a", "again")))
    listed = run(store.list_messages("p", "thread_a", ListQuery(order="asc"))).items
    assert listed == [message("msg_0", "thread_a", "again"), message("msg_1", "thread_a", "one")]


def test_creating_an_existing_thread_id_replaces_the_thread_and_its_messages(store: Store) -> None:
    run(store.create_thread("p", thread("thread_a", old="1"), [message("msg_0", "thread_a")]))
    run(store.create_thread("p", thread("thread_a", new="1"), []))
    assert run(store.get_thread("p", "thread_a")) == thread("thread_a", new="1")
    assert run(store.list_messages("p", "thread_a", ListQuery())).items == []
    assert run(store.stats())["threads"] == 1


def test_delete_message_removes_only_that_message(store: Store) -> None:
    run(store.create_thread("p", thread("thread_a"), [message(f"msg_{i}", "thread_a") for i in range(3)]))
    assert run(store.delete_message("p", "thread_a", "msg_1")) is True
    assert run(store.delete_message("p", "thread_a", "msg_1")) is False
    assert run(store.get_message("p", "thread_a", "msg_1")) is None
    listed = run(store.list_messages("p", "thread_a", ListQuery(order="asc"))).items
    assert [m["id"] for m in listed] == ["msg_0", "msg_2"]


def test_delete_thread_takes_its_messages_with_it(store: Store, tmp_path: Path) -> None:
    run(store.create_thread("p", thread("thread_a"), [message(f"msg_{i}", "thread_a") for i in range(3)]))
    run(store.create_thread("p", thread("thread_b"), [message("msg_b", "thread_b")]))
    assert run(store.delete_thread("p", "thread_a")) is True
    assert run(store.delete_thread("p", "thread_a")) is False
    assert run(store.get_thread("p", "thread_a")) is None
    assert run(store.get_message("p", "thread_a", "msg_0")) is None
    # The same id again is a new, empty thread: nothing of the deleted one shows through.
    run(store.create_thread("p", thread("thread_a"), []))
    assert run(store.list_messages("p", "thread_a", ListQuery())).items == []
    assert run(store.get_message("p", "thread_b", "msg_b")) == message("msg_b", "thread_b")
    if (tmp_path / "store.db").exists():
        with sqlite3.connect(tmp_path / "store.db") as db:
            assert db.execute("SELECT count(*) FROM messages").fetchone() == (1,)


def test_projects_are_kept_apart(store: Store) -> None:
    run(store.create_thread("one", thread("thread_a", owner="one"), [message("msg_1", "thread_a", "one")]))
    run(store.create_thread("two", thread("thread_a", owner="two"), [message("msg_1", "thread_a", "two")]))
    run(store.create_thread("one", thread("thread_b"), []))
    assert run(store.get_thread("two", "thread_b")) is None
    assert run(store.get_thread("two", "thread_a")) == thread("thread_a", owner="two")
    assert run(store.delete_thread("one", "thread_a")) is True
    assert run(store.get_thread("two", "thread_a")) == thread("thread_a", owner="two")
    assert run(store.get_message("two", "thread_a", "msg_1")) == message("msg_1", "thread_a", "two")
    assert [t["id"] for t in run(store.threads("one"))] == ["thread_b"]
    assert run(store.add_message("two", message("msg_2", "thread_b"))) is False


def test_stats_count_every_projects_threads_and_clear_empties_everything(make_store: MakeStore) -> None:
    store = make_store(max_threads=2)
    for i in range(3):
        run(store.create_thread(f"project{i}", thread("thread_a"), [message("msg_1", "thread_a")]))
    assert run(store.stats()) == {"threads": 2, "max_threads": 2, "evicted": 1}
    run(store.delete_thread("project2", "thread_a"))
    assert run(store.stats())["threads"] == 1
    run(store.clear())
    assert run(store.stats()) == {"threads": 0, "max_threads": 2, "evicted": 0}
    assert run(store.get_thread("project1", "thread_a")) is None
    run(store.create_thread("p", thread("thread_a"), []))
    assert run(store.list_messages("p", "thread_a", ListQuery())).items == []


# -- atomic updates ------------------------------------------------------------------------------


def test_concurrent_updates_lose_nothing(store: Store) -> None:
    run(store.create_thread("p", thread("thread_a"), [message("msg_1", "thread_a")]))

    async def update_all() -> None:
        await asyncio.gather(
            *(store.update_thread("p", "thread_a", set_metadata(f"k{i}", str(i))) for i in range(16)),
            *(store.update_message("p", "thread_a", "msg_1", set_metadata(f"k{i}", str(i))) for i in range(16)),
        )

    run(update_all())
    expected = {f"k{i}": str(i) for i in range(16)}
    assert run(store.get_thread("p", "thread_a"))["metadata"] == expected
    assert run(store.get_message("p", "thread_a", "msg_1"))["metadata"] == expected


def test_a_failed_change_leaves_the_object_as_it_was(store: Store) -> None:
    run(store.create_thread("p", thread("thread_a", a="1"), [message("msg_1", "thread_a")]))

    def broken(obj: JSON) -> JSON:
        obj["metadata"]["a"] = "changed"
        raise RuntimeError("the change failed half-way")

    with pytest.raises(RuntimeError):
        run(store.update_thread("p", "thread_a", broken))
    with pytest.raises(RuntimeError):
        run(store.update_message("p", "thread_a", "msg_1", broken))
    assert run(store.get_thread("p", "thread_a")) == thread("thread_a", a="1")
    assert run(store.get_message("p", "thread_a", "msg_1")) == message("msg_1", "thread_a")
    assert run(store.update_thread("p", "thread_a", set_metadata("b", "2")))["metadata"] == {"a": "1", "b": "2"}


def test_two_sqlite_stores_on_one_file_update_atomically(tmp_path: Path) -> None:
    """Two connections, as two worker processes have, read-modify-write the same thread at once."""
    url = f"sqlite:{tmp_path / 'shared.db'}"
    stores = [open_store(url), open_store(url)]
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


# -- paging --------------------------------------------------------------------------------------

# Seven messages in creation order; m1, m3 and m5 belong to run_a.
IDS = [f"msg_{i}" for i in range(7)]
RUN_A = {"msg_1", "msg_3", "msg_5"}


@pytest.fixture
def paged(store: Store) -> Store:
    messages = [message(mid, "thread_p", run_id="run_a" if mid in RUN_A else None) for mid in IDS]
    run(store.create_thread("p", thread("thread_p"), messages[:3]))
    for m in messages[3:]:
        assert run(store.add_message("p", m))
    return store


def listed(store: Store, **query: Any) -> tuple[list[str], bool]:
    page = run(store.list_messages("p", "thread_p", ListQuery(**query)))
    return [m["id"] for m in page.items], page.has_more


PAGES = [
    ({}, (IDS[::-1], False)),
    ({"order": "asc"}, (IDS, False)),
    ({"limit": 3}, (["msg_6", "msg_5", "msg_4"], True)),
    ({"limit": 3, "order": "asc"}, (["msg_0", "msg_1", "msg_2"], True)),
    ({"limit": 7}, (IDS[::-1], False)),
    ({"limit": 2, "after": "msg_4"}, (["msg_3", "msg_2"], True)),
    ({"limit": 2, "after": "msg_1"}, (["msg_0"], False)),
    ({"limit": 2, "after": "msg_4", "order": "asc"}, (["msg_5", "msg_6"], False)),
    ({"after": "msg_6", "order": "asc"}, ([], False)),
    ({"limit": 2, "before": "msg_2"}, (["msg_4", "msg_3"], True)),
    ({"limit": 2, "before": "msg_4"}, (["msg_6", "msg_5"], False)),
    ({"limit": 2, "before": "msg_4", "order": "asc"}, (["msg_2", "msg_3"], True)),
    ({"before": "msg_0", "order": "asc"}, ([], False)),
    ({"after": "msg_5", "before": "msg_1"}, (["msg_4", "msg_3", "msg_2"], False)),
    ({"after": "msg_5", "before": "msg_1", "limit": 2}, (["msg_3", "msg_2"], True)),
    ({"after": "msg_1", "before": "msg_5"}, ([], False)),
    ({"after": "msg_3", "before": "msg_3"}, ([], False)),
    ({"after": "msg_nope"}, ([], False)),
    ({"before": "msg_nope"}, ([], False)),
    ({"run_id": "run_a"}, (["msg_5", "msg_3", "msg_1"], False)),
    ({"run_id": "run_a", "limit": 1, "order": "asc"}, (["msg_1"], True)),
    ({"run_id": "run_a", "after": "msg_3", "order": "asc"}, (["msg_5"], False)),
    ({"run_id": "run_a", "after": "msg_2"}, ([], False)),
    ({"run_id": "run_b"}, ([], False)),
]


@pytest.mark.parametrize(("query", "expected"), PAGES, ids=[str(q) for q, _ in PAGES])
def test_list_messages_pages_like_the_api(paged: Store, query: dict[str, Any], expected: Any) -> None:
    assert listed(paged, **query) == expected


def test_every_cursor_combination_pages_as_page_of_says(paged: Store) -> None:
    """page_of (in store/base.py) is the definition both backends follow; check them on every combination."""
    cursors = [None, *IDS, "msg_nope"]
    for order, limit, run_id in itertools.product(("asc", "desc"), (1, 2, 3, 7, 8), (None, "run_a")):
        ids = [mid for mid in IDS if run_id is None or mid in RUN_A]
        for after, before in itertools.product(cursors, cursors):
            query = ListQuery(limit=limit, order=order, after=after, before=before, run_id=run_id)  # type: ignore[arg-type]
            page = run(paged.list_messages("p", "thread_p", query))
            assert ([m["id"] for m in page.items], page.has_more) == page_of(ids, query), query


# -- the bound: least recently used threads are evicted ------------------------------------------

USES: dict[str, Callable[[Store], Any]] = {
    "get_thread": lambda s: s.get_thread("p", "thread_0"),
    "update_thread": lambda s: s.update_thread("p", "thread_0", set_metadata("k", "v")),
    "add_message": lambda s: s.add_message("p", message("msg_new", "thread_0")),
    "get_message": lambda s: s.get_message("p", "thread_0", "msg_0"),
    "update_message": lambda s: s.update_message("p", "thread_0", "msg_0", set_metadata("k", "v")),
    "delete_message": lambda s: s.delete_message("p", "thread_0", "msg_0"),
    "list_messages": lambda s: s.list_messages("p", "thread_0", ListQuery()),
}


@pytest.mark.parametrize("use", USES)
def test_past_max_threads_the_least_recently_used_thread_goes(make_store: MakeStore, use: str) -> None:
    store = make_store(max_threads=3)
    for i in range(3):
        run(store.create_thread("p", thread(f"thread_{i}"), [message(f"msg_{i}", f"thread_{i}")]))
    run(USES[use](store))  # thread_0 is now the most recently used; thread_1 the least
    run(store.create_thread("p", thread("thread_3"), []))
    assert run(store.get_thread("p", "thread_1")) is None
    assert run(store.get_message("p", "thread_1", "msg_1")) is None
    assert [t["id"] for t in run(store.threads("p"))] == ["thread_0", "thread_2", "thread_3"]
    assert run(store.stats()) == {"threads": 3, "max_threads": 3, "evicted": 1}


def test_eviction_is_one_order_for_all_projects_and_is_counted(make_store: MakeStore) -> None:
    store = make_store(max_threads=2)
    run(store.create_thread("one", thread("thread_a"), []))
    run(store.create_thread("two", thread("thread_a"), []))
    run(store.get_thread("one", "thread_a"))
    run(store.create_thread("three", thread("thread_a"), []))
    assert run(store.get_thread("two", "thread_a")) is None
    assert run(store.get_thread("one", "thread_a")) is not None
    for i in range(5):
        run(store.create_thread("three", thread(f"thread_{i}"), []))
    assert run(store.stats()) == {"threads": 2, "max_threads": 2, "evicted": 6}
    assert [t["id"] for t in run(store.threads("three"))] == ["thread_3", "thread_4"]


def test_eviction_is_logged_once(make_store: MakeStore, caplog: pytest.LogCaptureFixture) -> None:
    store = make_store(max_threads=1)
    with caplog.at_level(logging.WARNING, logger="threads_mock.store"):
        for i in range(5):
            run(store.create_thread("p", thread(f"thread_{i}"), []))
    warnings = [r for r in caplog.records if r.name == "threads_mock.store"]
    assert len(warnings) == 1
    assert "max_threads=1" in warnings[0].getMessage() and "least recently used" in warnings[0].getMessage()


def test_memory_stays_flat_past_the_bound() -> None:
    """Evicted threads give their memory back, and a held thread costs about its JSON, not orjson's buffer."""
    store = open_store("memory", max_threads=1000)

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
    assert run(store.stats()) == {"threads": 1000, "max_threads": 1000, "evicted": 5000}
    assert full < 1000 * 2048, f"{full / 1000:.0f} bytes per thread held"
    # The store's dicts keep the larger tables that churn gave them (about 15% here); a leak of the 5,000
    # evicted threads would be several times `full`.
    assert after < full * 1.25, (full, after)


def test_the_memory_store_keeps_nothing_the_garbage_collector_walks() -> None:
    """Stored objects are tuples and dicts of atoms, so that young collections between requests do not walk
    the whole store: their pauses grew with it and were the mock's p99 (issue 6)."""
    store = open_store("memory", max_threads=500)

    async def churn() -> None:
        for i in range(1000):  # past the bound: eviction too
            name = f"thread_{i:024d}"
            await store.create_thread("p", thread(name), [message(f"msg_{i:024d}_0", name)])
            await store.add_message("p", message(f"msg_{i:024d}_1", name, run_id="run_1"))
            await store.update_thread("p", name, lambda t: {**t, "metadata": {"k": "v"}})
            await store.update_message("p", name, f"msg_{i:024d}_1", lambda m: {**m, "metadata": {"k": "v"}})
            await store.put_record("p", "run", f"run_{i}", {"id": f"run_{i}", "status": "queued"}, parent=name)

    run(churn())
    gc.collect()
    assert run(store.stats())["threads"] == 500
    assert tracked_within(vars(store).values()) == []


def test_max_threads_must_be_positive(make_store: MakeStore) -> None:
    with pytest.raises(ValueError, match="max_threads must be at least 1"):
        make_store(max_threads=0)


# -- opening stores ------------------------------------------------------------------------------


def test_open_store_refuses_unknown_urls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown store 'redis://x'; known: memory, sqlite:PATH"):
        open_store("redis://x")
    with pytest.raises(ValueError, match="sqlite:PATH"):
        open_store("sqlite:")
    with pytest.raises(ValueError, match="cannot open the sqlite store"):
        open_store(f"sqlite:{tmp_path / 'no' / 'such' / 'dir.db'}")
    (tmp_path / "text.db").write_text("not a database, just text that is long enough to be read as a header")
    with pytest.raises(ValueError, match="cannot open the sqlite store"):
        open_store(f"sqlite:{tmp_path / 'text.db'}")


def test_a_reopened_sqlite_store_has_everything(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'again.db'}"
    first = open_store(url, max_threads=2)
    run(first.create_thread("p", thread("thread_a", k="v"), [message("msg_1", "thread_a")]))
    for name in ("thread_b", "thread_c"):
        run(first.create_thread("p", thread(name), []))
    run(first.close())
    second = open_store(url, max_threads=2)
    assert run(second.get_thread("p", "thread_a")) is None
    assert run(second.stats()) == {"threads": 2, "max_threads": 2, "evicted": 1}
    assert [t["id"] for t in run(second.threads("p"))] == ["thread_b", "thread_c"]
    run(second.close())


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
        assert health.json()["store"] == {"threads": 2, "max_threads": 2, "evicted": 1}


def test_records_come_back_by_kind_and_id_and_are_replaced_in_place(store: Store) -> None:
    run(store.put_record("p", "run", "run_1", {"n": 1}, parent="thread_a"))
    run(store.put_record("p", "run", "run_2", {"n": 2}, parent="thread_a"))
    run(store.put_record("p", "run", "run_1", {"n": 3}, parent="thread_a"))
    assert run(store.get_record("p", "run", "run_1")) == {"n": 3}
    assert run(store.get_record("p", "step", "run_1")) is None
    assert run(store.get_record("q", "run", "run_1")) is None
    page = run(store.list_records("p", "run", "thread_a", ListQuery(order="asc")))
    assert (page.items, page.has_more) == ([{"n": 3}, {"n": 2}], False)
    assert run(store.list_records("p", "run", "thread_b", ListQuery())).items == []


def test_records_page_as_page_of_says_and_deletes_and_clear_remove_them(store: Store) -> None:
    ids = [f"asst_{i}" for i in range(5)]
    for record_id in ids:
        run(store.put_record("p", "assistant", record_id, {"id": record_id}))
    for limit, order, after, before in itertools.product((1, 2, 5), ("asc", "desc"), (None, *ids), (None, *ids)):
        query = ListQuery(limit=limit, order=order, after=after, before=before)  # type: ignore[arg-type]
        page = run(store.list_records("p", "assistant", "", query))
        expected, more = page_of(ids, query)
        assert ([item["id"] for item in page.items], page.has_more) == (expected, more), query
    assert run(store.delete_record("p", "assistant", "asst_0"))
    assert not run(store.delete_record("p", "assistant", "asst_0"))
    assert [i["id"] for i in run(store.list_records("p", "assistant", "", ListQuery(order="asc"))).items] == ids[1:]
    run(store.clear())
    assert run(store.get_record("p", "assistant", "asst_1")) is None
    assert run(store.list_records("p", "assistant", "", ListQuery())).items == []


def put_run_with_steps(store: Store, project: str, thread_id: str, run_id: str) -> None:
    run(store.put_record(project, "run", run_id, {"id": run_id}, parent=thread_id))
    run(store.put_record(project, "active_run", thread_id, {"run_id": run_id}, parent=thread_id))
    for n in range(2):
        run(store.put_record(project, "step", f"step_{run_id}_{n}", {"n": n}, parent=run_id))


def left_of(store: Store, project: str, thread_id: str, run_id: str) -> list[JSON | None]:
    found = [
        run(store.get_record(project, "run", run_id)),
        run(store.get_record(project, "active_run", thread_id)),
        *(run(store.get_record(project, "step", f"step_{run_id}_{n}")) for n in range(2)),
    ]
    return [record for record in found if record is not None]


@pytest.mark.parametrize("how", ["deleted", "replaced", "evicted"])
def test_a_thread_that_goes_takes_its_runs_and_their_steps(make_store: MakeStore, how: str) -> None:
    """Runs of gone threads were kept forever: a long load test with runs grew without bound."""
    store = make_store(max_threads=3)
    for name in ("thread_a", "thread_b"):
        run(store.create_thread("p", thread(name), []))
        put_run_with_steps(store, "p", name, f"run_{name}")
    run(store.put_record("p", "assistant", "asst_1", {"id": "asst_1"}))
    run(store.create_thread("q", thread("thread_a"), []))  # the same id in another project
    put_run_with_steps(store, "q", "thread_a", "run_thread_a")
    if how == "deleted":
        assert run(store.delete_thread("p", "thread_a"))
    elif how == "replaced":
        run(store.create_thread("p", thread("thread_a"), []))
    else:
        run(store.get_thread("p", "thread_b"))
        run(store.get_thread("q", "thread_a"))
        run(store.create_thread("p", thread("thread_c"), []))  # past the bound: thread_a is the least used
        assert run(store.get_thread("p", "thread_a")) is None
    assert left_of(store, "p", "thread_a", "run_thread_a") == []
    assert run(store.list_records("p", "run", "thread_a", ListQuery())).items == []
    assert len(left_of(store, "p", "thread_b", "run_thread_b")) == 4
    assert len(left_of(store, "q", "thread_a", "run_thread_a")) == 4
    assert run(store.get_record("p", "assistant", "asst_1")) == {"id": "asst_1"}
