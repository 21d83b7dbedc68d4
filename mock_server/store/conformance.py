"""The store conformance suite: the tests every backend passes, whatever it keeps its objects in.

A backend's test module runs the whole suite with one class and the fixture that makes its stores:

    class TestSqliteStore(StoreConformance):
        @pytest.fixture
        def store_factory(self, tmp_path: Path) -> StoreFactory:
            return lambda *limits: store_for(f"sqlite:{tmp_path / 'store.db'}", *limits)

Every store of one test comes from the same factory call site (a durable backend: the same file or server),
is opened before use and closed after the test. Run it also on `Yielding(...)` around the backend: that is
where a call that is not atomic on its own shows (see `merge_concurrently` and `claim_concurrently`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from .base import (
    BLOB_PIECE,
    DEFAULT_MAX_FILE_BYTES,
    JSON,
    BlobTooLarge,
    ListQuery,
    Page,
    Stats,
    Store,
    ThreadFull,
    Version,
    Versioned,
    page_of,
)

T = TypeVar("T")
StoreFactory = Callable[[int, int], Store]  # max_threads, max_file_bytes -> a store, not opened yet
MakeStore = Callable[..., Awaitable[Store]]
Read = Callable[[], Awaitable[Versioned | None]]
Replace = Callable[[JSON, Version], Awaitable[Version | None]]


class Yielding(Store):
    """Any store, giving the event loop a turn before and after every call, as a backend that awaits the network
    does: a sequence that is atomic only because nothing else runs inside a call then interleaves, and shows."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    async def _turn(self, call: Awaitable[T]) -> T:
        await asyncio.sleep(0)
        try:
            return await call
        finally:
            await asyncio.sleep(0)

    async def open(self) -> None:
        await self._turn(self.inner.open())

    async def close(self) -> None:
        await self._turn(self.inner.close())

    async def create_thread(self, project: str, thread: JSON, messages: Sequence[JSON]) -> None:
        await self._turn(self.inner.create_thread(project, thread, messages))

    async def get_thread(self, project: str, thread_id: str) -> JSON | None:
        return await self._turn(self.inner.get_thread(project, thread_id))

    async def read_thread(self, project: str, thread_id: str) -> Versioned | None:
        return await self._turn(self.inner.read_thread(project, thread_id))

    async def replace_thread(self, project: str, thread_id: str, thread: JSON, version: Version) -> Version | None:
        return await self._turn(self.inner.replace_thread(project, thread_id, thread, version))

    async def delete_thread(self, project: str, thread_id: str) -> bool:
        return await self._turn(self.inner.delete_thread(project, thread_id))

    async def threads(self, project: str) -> list[JSON]:
        return await self._turn(self.inner.threads(project))

    async def add_message(self, project: str, message: JSON, most: int | None = None) -> bool:
        return await self._turn(self.inner.add_message(project, message, most))

    async def get_message(self, project: str, thread_id: str, message_id: str) -> JSON | None:
        return await self._turn(self.inner.get_message(project, thread_id, message_id))

    async def read_message(self, project: str, thread_id: str, message_id: str) -> Versioned | None:
        return await self._turn(self.inner.read_message(project, thread_id, message_id))

    async def replace_message(
        self, project: str, thread_id: str, message_id: str, message: JSON, version: Version
    ) -> Version | None:
        return await self._turn(self.inner.replace_message(project, thread_id, message_id, message, version))

    async def delete_message(self, project: str, thread_id: str, message_id: str) -> bool:
        return await self._turn(self.inner.delete_message(project, thread_id, message_id))

    async def list_messages(self, project: str, thread_id: str, query: ListQuery) -> Page | None:
        return await self._turn(self.inner.list_messages(project, thread_id, query))

    async def put_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> Version:
        return await self._turn(self.inner.put_record(project, kind, record_id, data, parent))

    async def add_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> JSON | None:
        return await self._turn(self.inner.add_record(project, kind, record_id, data, parent))

    async def get_record(self, project: str, kind: str, record_id: str) -> JSON | None:
        return await self._turn(self.inner.get_record(project, kind, record_id))

    async def read_record(self, project: str, kind: str, record_id: str) -> Versioned | None:
        return await self._turn(self.inner.read_record(project, kind, record_id))

    async def replace_record(
        self, project: str, kind: str, record_id: str, data: JSON, version: Version
    ) -> Version | None:
        return await self._turn(self.inner.replace_record(project, kind, record_id, data, version))

    async def delete_record(self, project: str, kind: str, record_id: str, version: Version | None = None) -> bool:
        return await self._turn(self.inner.delete_record(project, kind, record_id, version))

    async def list_records(self, project: str, kind: str, parent: str, query: ListQuery) -> Page:
        return await self._turn(self.inner.list_records(project, kind, parent, query))

    async def put_blob_record(
        self, project: str, kind: str, record_id: str, chunks: AsyncIterable[bytes], make: Callable[[int], JSON]
    ) -> JSON:
        return await self._turn(self.inner.put_blob_record(project, kind, record_id, chunks, make))

    async def read_blob(self, project: str, kind: str, record_id: str) -> AsyncIterator[bytes] | None:
        return await self._turn(self.inner.read_blob(project, kind, record_id))

    async def stats(self) -> Stats:
        return await self._turn(self.inner.stats())

    async def clear(self) -> None:
        await self._turn(self.inner.clear())


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


async def merge_concurrently(store: Store, writers: int = 32) -> None:
    """Many tasks at once each merge a metadata key of their own into one thread and one record through the
    store's update helpers: every key is kept."""
    await store.create_thread("p", thread("thread_m"), [])
    await store.put_record("p", "run", "run_m", {"id": "run_m", "metadata": {}}, parent="thread_m")
    await asyncio.gather(
        *(store.update_thread("p", "thread_m", set_metadata(f"k{i}", str(i))) for i in range(writers)),
        *(store.update_record("p", "run", "run_m", set_metadata(f"k{i}", str(i))) for i in range(writers)),
    )
    expected = {f"k{i}": str(i) for i in range(writers)}
    kept = await store.get_thread("p", "thread_m")
    assert kept is not None and kept["metadata"] == expected, f"the thread kept {kept and sorted(kept['metadata'])}"
    kept = await store.get_record("p", "run", "run_m")
    assert kept is not None and kept["metadata"] == expected, f"the record kept {kept and sorted(kept['metadata'])}"


async def claim_concurrently(store: Store, claimants: int = 16) -> None:
    """Many runs at once claim a thread's active-run marker with `add_record`: exactly one wins, and every
    other is told which one holds it."""
    await store.create_thread("p", thread("thread_c"), [])
    answers = await asyncio.gather(
        *(
            store.add_record("p", "active_run", "thread_c", {"run_id": f"run_{i}"}, parent="thread_c")
            for i in range(claimants)
        )
    )
    winners = [i for i, answer in enumerate(answers) if answer is None]
    assert len(winners) == 1, f"claims that won: {winners}"
    held = {"run_id": f"run_{winners[0]}"}
    assert all(answer == held for answer in answers if answer is not None), answers
    assert await store.get_record("p", "active_run", "thread_c") == held


# Seven messages in creation order; m1, m3 and m5 belong to run_a.
IDS = [f"msg_{i}" for i in range(7)]
RUN_A = {"msg_1", "msg_3", "msg_5"}

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

USES: dict[str, Callable[[Store], Awaitable[Any]]] = {
    "get_thread": lambda s: s.get_thread("p", "thread_0"),
    "update_thread": lambda s: s.update_thread("p", "thread_0", set_metadata("k", "v")),
    "add_message": lambda s: s.add_message("p", message("msg_new", "thread_0")),
    "get_message": lambda s: s.get_message("p", "thread_0", "msg_0"),
    "update_message": lambda s: s.update_message("p", "thread_0", "msg_0", set_metadata("k", "v")),
    "delete_message": lambda s: s.delete_message("p", "thread_0", "msg_0"),
    "list_messages": lambda s: s.list_messages("p", "thread_0", ListQuery()),
}


async def listed(store: Store, **query: Any) -> tuple[list[str], bool]:
    page = await store.list_messages("p", "thread_p", ListQuery(**query))
    assert page is not None
    return [m["id"] for m in page.items], page.has_more


async def put_run_with_steps(store: Store, project: str, thread_id: str, run_id: str) -> None:
    await store.put_record(project, "run", run_id, {"id": run_id}, parent=thread_id)
    await store.put_record(project, "active_run", thread_id, {"run_id": run_id}, parent=thread_id)
    for n in range(2):
        await store.put_record(project, "step", f"step_{run_id}_{n}", {"n": n}, parent=run_id)


async def left_of(store: Store, project: str, thread_id: str, run_id: str) -> list[JSON | None]:
    found = [
        await store.get_record(project, "run", run_id),
        await store.get_record(project, "active_run", thread_id),
        *[await store.get_record(project, "step", f"step_{run_id}_{n}") for n in range(2)],
    ]
    return [record for record in found if record is not None]


@pytest.mark.anyio
class StoreConformance:
    """Subclass it with a `store_factory` fixture (see the module's docstring)."""

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture
    async def make_store(self, store_factory: StoreFactory) -> AsyncIterator[MakeStore]:
        """Opens stores of the backend under test, closed after the test."""
        opened: list[Store] = []

        async def make(max_threads: int = 100_000, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Store:
            store = store_factory(max_threads, max_file_bytes)
            await store.open()
            opened.append(store)
            return store

        yield make
        for store in opened:
            await store.close()

    @pytest.fixture
    async def store(self, make_store: MakeStore) -> Store:
        return await make_store()

    @pytest.fixture
    async def paged(self, store: Store) -> Store:
        messages = [message(mid, "thread_p", run_id="run_a" if mid in RUN_A else None) for mid in IDS]
        await store.create_thread("p", thread("thread_p"), messages[:3])
        for m in messages[3:]:
            assert await store.add_message("p", m)
        return store

    # -- threads and messages

    async def test_a_created_thread_and_its_messages_come_back(self, store: Store) -> None:
        first = message("msg_1", "thread_a", "one")
        second = message("msg_2", "thread_a", "two")
        await store.create_thread("p", thread("thread_a", k="v"), [first, second])
        assert await store.get_thread("p", "thread_a") == thread("thread_a", k="v")
        assert await store.get_message("p", "thread_a", "msg_1") == first
        assert await store.get_message("p", "thread_a", "msg_2") == second
        assert (await page(store.list_messages("p", "thread_a", ListQuery(order="asc")))).items == [first, second]

    async def test_threads_lists_a_projects_threads_in_creation_order(self, store: Store) -> None:
        for name in ("thread_c", "thread_a", "thread_b"):
            await store.create_thread("p", thread(name), [])
        await store.create_thread("other", thread("thread_z"), [])
        await store.get_thread("p", "thread_c")  # a use reorders eviction, not the listing
        assert [t["id"] for t in await store.threads("p")] == ["thread_c", "thread_a", "thread_b"]
        assert await store.threads("nobody") == []

    async def test_unknown_ids_answer_none_or_false(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a"), [message("msg_1", "thread_a")])
        assert await store.get_thread("p", "thread_x") is None
        assert await store.update_thread("p", "thread_x", set_metadata("k", "v")) is None
        assert await store.delete_thread("p", "thread_x") is False
        assert await store.add_message("p", message("msg_2", "thread_x")) is False
        assert await store.get_message("p", "thread_x", "msg_1") is None
        assert await store.get_message("p", "thread_a", "msg_x") is None
        assert await store.update_message("p", "thread_a", "msg_x", set_metadata("k", "v")) is None
        assert await store.update_message("p", "thread_x", "msg_1", set_metadata("k", "v")) is None
        assert await store.delete_message("p", "thread_a", "msg_x") is False
        assert await store.delete_message("p", "thread_x", "msg_1") is False
        assert await store.list_messages("p", "thread_x", ListQuery()) is None
        assert await store.get_message("p", "thread_a", "msg_1") == message("msg_1", "thread_a")

    async def test_update_thread_applies_the_change_and_keeps_it(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a", a="1"), [])
        updated = await store.update_thread("p", "thread_a", set_metadata("b", "2"))
        assert updated == thread("thread_a", a="1", b="2")
        assert await store.get_thread("p", "thread_a") == updated

    async def test_update_message_applies_the_change_and_keeps_its_place(self, store: Store) -> None:
        messages = [message(f"msg_{i}", "thread_a") for i in range(3)]
        await store.create_thread("p", thread("thread_a"), messages)
        updated = await store.update_message("p", "thread_a", "msg_1", set_metadata("k", "v"))
        assert updated is not None
        assert updated["metadata"] == {"k": "v"}
        assert await store.get_message("p", "thread_a", "msg_1") == updated
        listed = (await page(store.list_messages("p", "thread_a", ListQuery(order="asc")))).items
        assert [m["id"] for m in listed] == ["msg_0", "msg_1", "msg_2"] and listed[1] == updated

    async def test_add_message_appends_and_an_existing_id_is_replaced_in_place(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a"), [message("msg_0", "thread_a")])
        assert await store.add_message("p", message("msg_1", "thread_a", "one"))
        assert await store.add_message("p", message("msg_0", "thread_a", "again"))
        listed = (await page(store.list_messages("p", "thread_a", ListQuery(order="asc")))).items
        assert listed == [message("msg_0", "thread_a", "again"), message("msg_1", "thread_a", "one")]

    async def test_a_full_thread_refuses_a_new_message_but_replaces_one_it_holds(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a"), [message("msg_0", "thread_a")])
        assert await store.add_message("p", message("msg_1", "thread_a"), most=2)
        with pytest.raises(ThreadFull):
            await store.add_message("p", message("msg_2", "thread_a"), most=2)
        assert await store.add_message("p", message("msg_1", "thread_a", "again"), most=2)
        assert await store.add_message("p", message("msg_2", "thread_b"), most=2) is False
        listed = (await page(store.list_messages("p", "thread_a", ListQuery(order="asc")))).items
        assert listed == [message("msg_0", "thread_a"), message("msg_1", "thread_a", "again")]

    async def test_creating_an_existing_thread_id_replaces_the_thread_and_its_messages(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a", old="1"), [message("msg_0", "thread_a")])
        await store.create_thread("p", thread("thread_a", new="1"), [])
        assert await store.get_thread("p", "thread_a") == thread("thread_a", new="1")
        assert (await page(store.list_messages("p", "thread_a", ListQuery()))).items == []
        assert (await store.stats())["threads"] == 1

    async def test_delete_message_removes_only_that_message(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a"), [message(f"msg_{i}", "thread_a") for i in range(3)])
        assert await store.delete_message("p", "thread_a", "msg_1") is True
        assert await store.delete_message("p", "thread_a", "msg_1") is False
        assert await store.get_message("p", "thread_a", "msg_1") is None
        listed = (await page(store.list_messages("p", "thread_a", ListQuery(order="asc")))).items
        assert [m["id"] for m in listed] == ["msg_0", "msg_2"]

    async def test_delete_thread_takes_its_messages_with_it(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a"), [message(f"msg_{i}", "thread_a") for i in range(3)])
        await store.create_thread("p", thread("thread_b"), [message("msg_b", "thread_b")])
        assert await store.delete_thread("p", "thread_a") is True
        assert await store.delete_thread("p", "thread_a") is False
        assert await store.get_thread("p", "thread_a") is None
        assert await store.get_message("p", "thread_a", "msg_0") is None
        # The same id again is a new, empty thread: nothing of the deleted one shows through.
        await store.create_thread("p", thread("thread_a"), [])
        assert (await page(store.list_messages("p", "thread_a", ListQuery()))).items == []
        assert await store.get_message("p", "thread_b", "msg_b") == message("msg_b", "thread_b")

    async def test_projects_are_kept_apart(self, store: Store) -> None:
        await store.create_thread("one", thread("thread_a", owner="one"), [message("msg_1", "thread_a", "one")])
        await store.create_thread("two", thread("thread_a", owner="two"), [message("msg_1", "thread_a", "two")])
        await store.create_thread("one", thread("thread_b"), [])
        assert await store.get_thread("two", "thread_b") is None
        assert await store.get_thread("two", "thread_a") == thread("thread_a", owner="two")
        assert await store.delete_thread("one", "thread_a") is True
        assert await store.get_thread("two", "thread_a") == thread("thread_a", owner="two")
        assert await store.get_message("two", "thread_a", "msg_1") == message("msg_1", "thread_a", "two")
        assert [t["id"] for t in await store.threads("one")] == ["thread_b"]
        assert await store.add_message("two", message("msg_2", "thread_b")) is False

    async def test_stats_count_every_projects_threads_and_clear_empties_everything(self, make_store: MakeStore) -> None:
        store = await make_store(max_threads=2)
        for i in range(3):
            await store.create_thread(f"project{i}", thread("thread_a"), [message("msg_1", "thread_a")])
        assert await thread_stats(store) == {"threads": 2, "max_threads": 2, "evicted": 1}
        await store.delete_thread("project2", "thread_a")
        assert (await store.stats())["threads"] == 1
        await store.clear()
        assert await thread_stats(store) == {"threads": 0, "max_threads": 2, "evicted": 0}
        assert await store.get_thread("project1", "thread_a") is None
        await store.create_thread("p", thread("thread_a"), [])
        assert (await page(store.list_messages("p", "thread_a", ListQuery()))).items == []

    async def test_a_closed_store_opens_again_with_what_it_held(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a", k="v"), [])
        await store.close()
        await store.open()
        assert await store.get_thread("p", "thread_a") == thread("thread_a", k="v")

    # -- versions and atomic updates

    async def test_concurrent_updates_lose_nothing(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a"), [message("msg_1", "thread_a")])
        await asyncio.gather(
            *(store.update_thread("p", "thread_a", set_metadata(f"k{i}", str(i))) for i in range(16)),
            *(store.update_message("p", "thread_a", "msg_1", set_metadata(f"k{i}", str(i))) for i in range(16)),
        )
        expected = {f"k{i}": str(i) for i in range(16)}
        assert (await found(store.get_thread("p", "thread_a")))["metadata"] == expected
        assert (await found(store.get_message("p", "thread_a", "msg_1")))["metadata"] == expected

    async def test_concurrent_merges_into_a_thread_and_a_record_lose_nothing(self, store: Store) -> None:
        await merge_concurrently(store)

    async def test_concurrent_claims_of_a_thread_have_one_winner(self, store: Store) -> None:
        await claim_concurrently(store)

    async def test_a_failed_change_leaves_the_object_as_it_was(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a", a="1"), [message("msg_1", "thread_a")])
        await store.put_record("p", "run", "run_1", {"metadata": {"a": "1"}})

        def broken(obj: JSON) -> JSON:
            obj["metadata"]["a"] = "changed"
            raise RuntimeError("the change failed half-way")

        with pytest.raises(RuntimeError):
            await store.update_thread("p", "thread_a", broken)
        with pytest.raises(RuntimeError):
            await store.update_message("p", "thread_a", "msg_1", broken)
        with pytest.raises(RuntimeError):
            await store.update_record("p", "run", "run_1", broken)
        assert await store.get_thread("p", "thread_a") == thread("thread_a", a="1")
        assert await store.get_message("p", "thread_a", "msg_1") == message("msg_1", "thread_a")
        assert await store.get_record("p", "run", "run_1") == {"metadata": {"a": "1"}}
        assert (await found(store.update_thread("p", "thread_a", set_metadata("b", "2"))))["metadata"] == {
            "a": "1",
            "b": "2",
        }

    async def test_a_replace_writes_only_over_the_version_it_read(self, store: Store) -> None:
        await store.create_thread("p", thread("thread_a"), [message("msg_1", "thread_a")])
        await store.put_record("p", "run", "run_1", {"n": 0}, parent="thread_a")
        accessors: list[tuple[Read, Replace]] = [
            (
                lambda: store.read_thread("p", "thread_a"),
                lambda data, version: store.replace_thread("p", "thread_a", data, version),
            ),
            (
                lambda: store.read_message("p", "thread_a", "msg_1"),
                lambda data, version: store.replace_message("p", "thread_a", "msg_1", data, version),
            ),
            (
                lambda: store.read_record("p", "run", "run_1"),
                lambda data, version: store.replace_record("p", "run", "run_1", data, version),
            ),
        ]
        for read, replace in accessors:
            first = await found(read())
            second = await found(read())
            newer = await replace({**first.data, "winner": "first"}, first.version)
            assert newer is not None
            assert await replace({**second.data, "winner": "second"}, second.version) is None
            now = await found(read())
            assert now.data == {**first.data, "winner": "first"}
            assert await replace({**now.data, "winner": "third"}, newer) is not None
            assert (await found(read())).data["winner"] == "third"
        # A version of another object does not open a missing one.
        other = (await found(store.read_thread("p", "thread_a"))).version
        assert await store.replace_thread("p", "thread_x", thread("thread_x"), other) is None
        other = (await found(store.read_message("p", "thread_a", "msg_1"))).version
        assert await store.replace_message("p", "thread_a", "msg_x", message("msg_x", "thread_a"), other) is None
        assert await store.replace_message("p", "thread_x", "msg_1", message("msg_1", "thread_x"), other) is None
        other = (await found(store.read_record("p", "run", "run_1"))).version
        assert await store.replace_record("p", "run", "run_x", {}, other) is None
        assert await store.read_thread("p", "thread_x") is None
        assert await store.read_message("p", "thread_a", "msg_x") is None
        assert await store.read_record("p", "run", "run_x") is None

    async def test_a_put_answers_the_version_a_replace_needs(self, store: Store) -> None:
        version = await store.put_record("p", "run", "run_1", {"n": 1}, parent="thread_a")
        assert await store.replace_record("p", "run", "run_1", {"n": 2}, version) is not None
        assert await store.replace_record("p", "run", "run_1", {"n": 3}, version) is None
        assert await store.get_record("p", "run", "run_1") == {"n": 2}
        listed = await store.list_records("p", "run", "thread_a", ListQuery())
        assert listed.items == [{"n": 2}]  # a replace keeps the record under its parent

    async def test_add_record_puts_only_where_the_id_is_free(self, store: Store) -> None:
        assert await store.add_record("p", "active_run", "thread_a", {"run_id": "run_1"}, parent="thread_a") is None
        taken = await store.add_record("p", "active_run", "thread_a", {"run_id": "run_2"}, parent="thread_a")
        assert taken == {"run_id": "run_1"}
        assert await store.get_record("p", "active_run", "thread_a") == {"run_id": "run_1"}
        assert await store.add_record("q", "active_run", "thread_a", {"run_id": "run_3"}) is None
        assert (await store.list_records("p", "active_run", "thread_a", ListQuery())).items == [{"run_id": "run_1"}]

    async def test_delete_record_with_a_version_deletes_only_that_version(self, store: Store) -> None:
        await store.put_record("p", "active_run", "thread_a", {"run_id": "run_1"}, parent="thread_a")
        old = await found(store.read_record("p", "active_run", "thread_a"))
        await store.put_record("p", "active_run", "thread_a", {"run_id": "run_2"}, parent="thread_a")
        assert await store.delete_record("p", "active_run", "thread_a", version=old.version) is False
        assert await store.get_record("p", "active_run", "thread_a") == {"run_id": "run_2"}
        now = await found(store.read_record("p", "active_run", "thread_a"))
        assert await store.delete_record("p", "active_run", "thread_a", version=now.version) is True
        assert await store.get_record("p", "active_run", "thread_a") is None
        assert await store.delete_record("p", "active_run", "thread_a", version=now.version) is False
        assert (await store.list_records("p", "active_run", "thread_a", ListQuery())).items == []

    async def test_update_record_applies_the_change_and_keeps_its_place(self, store: Store) -> None:
        for n in range(3):
            await store.put_record("p", "run", f"run_{n}", {"id": f"run_{n}", "metadata": {}}, parent="thread_a")
        updated = await store.update_record("p", "run", "run_1", set_metadata("k", "v"))
        assert updated == {"id": "run_1", "metadata": {"k": "v"}}
        assert await store.get_record("p", "run", "run_1") == updated
        listed = (await store.list_records("p", "run", "thread_a", ListQuery(order="asc"))).items
        assert [r["id"] for r in listed] == ["run_0", "run_1", "run_2"] and listed[1] == updated
        assert await store.update_record("p", "run", "run_x", set_metadata("k", "v")) is None

    # -- paging

    @pytest.mark.parametrize(("query", "expected"), PAGES, ids=[str(q) for q, _ in PAGES])
    async def test_list_messages_pages_like_the_api(self, paged: Store, query: dict[str, Any], expected: Any) -> None:
        assert await listed(paged, **query) == expected

    async def test_every_cursor_combination_pages_as_page_of_says(self, paged: Store) -> None:
        """page_of (in store/base.py) is the definition every backend follows; check it on every combination."""
        cursors = [None, *IDS, "msg_nope"]
        for order, limit, run_id in itertools.product(("asc", "desc"), (1, 2, 3, 7, 8), (None, "run_a")):
            ids = [mid for mid in IDS if run_id is None or mid in RUN_A]
            for after, before in itertools.product(cursors, cursors):
                query = ListQuery(limit=limit, order=order, after=after, before=before, run_id=run_id)  # type: ignore[arg-type]
                got = await page(paged.list_messages("p", "thread_p", query))
                assert ([m["id"] for m in got.items], got.has_more) == page_of(ids, query), query

    # -- the bound: least recently used threads are evicted

    @pytest.mark.parametrize("use", USES)
    async def test_past_max_threads_the_least_recently_used_thread_goes(self, make_store: MakeStore, use: str) -> None:
        store = await make_store(max_threads=3)
        for i in range(3):
            await store.create_thread("p", thread(f"thread_{i}"), [message(f"msg_{i}", f"thread_{i}")])
        await USES[use](store)  # thread_0 is now the most recently used; thread_1 the least
        await store.create_thread("p", thread("thread_3"), [])
        assert await store.get_thread("p", "thread_1") is None
        assert await store.get_message("p", "thread_1", "msg_1") is None
        assert [t["id"] for t in await store.threads("p")] == ["thread_0", "thread_2", "thread_3"]
        assert await thread_stats(store) == {"threads": 3, "max_threads": 3, "evicted": 1}

    async def test_eviction_is_one_order_for_all_projects_and_is_counted(self, make_store: MakeStore) -> None:
        store = await make_store(max_threads=2)
        await store.create_thread("one", thread("thread_a"), [])
        await store.create_thread("two", thread("thread_a"), [])
        await store.get_thread("one", "thread_a")
        await store.create_thread("three", thread("thread_a"), [])
        assert await store.get_thread("two", "thread_a") is None
        assert await store.get_thread("one", "thread_a") is not None
        for i in range(5):
            await store.create_thread("three", thread(f"thread_{i}"), [])
        assert await thread_stats(store) == {"threads": 2, "max_threads": 2, "evicted": 6}
        assert [t["id"] for t in await store.threads("three")] == ["thread_3", "thread_4"]

    async def test_eviction_is_logged_once(self, make_store: MakeStore, caplog: pytest.LogCaptureFixture) -> None:
        store = await make_store(max_threads=1)
        with caplog.at_level(logging.WARNING, logger="threads_mock.store"):
            for i in range(5):
                await store.create_thread("p", thread(f"thread_{i}"), [])
        warnings = [r for r in caplog.records if r.name == "threads_mock.store"]
        assert len(warnings) == 1
        assert "max_threads=1" in warnings[0].getMessage() and "least recently used" in warnings[0].getMessage()

    async def test_max_threads_must_be_positive(self, make_store: MakeStore) -> None:
        with pytest.raises(ValueError, match="max_threads must be at least 1"):
            await make_store(max_threads=0)

    # -- records

    async def test_records_come_back_by_kind_and_id_and_are_replaced_in_place(self, store: Store) -> None:
        await store.put_record("p", "run", "run_1", {"n": 1}, parent="thread_a")
        await store.put_record("p", "run", "run_2", {"n": 2}, parent="thread_a")
        await store.put_record("p", "run", "run_1", {"n": 3}, parent="thread_a")
        assert await store.get_record("p", "run", "run_1") == {"n": 3}
        assert await store.get_record("p", "step", "run_1") is None
        assert await store.get_record("q", "run", "run_1") is None
        listed = await store.list_records("p", "run", "thread_a", ListQuery(order="asc"))
        assert (listed.items, listed.has_more) == ([{"n": 3}, {"n": 2}], False)
        assert (await store.list_records("p", "run", "thread_b", ListQuery())).items == []

    async def test_records_page_as_page_of_says_and_deletes_and_clear_remove_them(self, store: Store) -> None:
        ids = [f"asst_{i}" for i in range(5)]
        for record_id in ids:
            await store.put_record("p", "assistant", record_id, {"id": record_id})
        for limit, order, after, before in itertools.product((1, 2, 5), ("asc", "desc"), (None, *ids), (None, *ids)):
            query = ListQuery(limit=limit, order=order, after=after, before=before)  # type: ignore[arg-type]
            got = await store.list_records("p", "assistant", "", query)
            expected, more = page_of(ids, query)
            assert ([item["id"] for item in got.items], got.has_more) == (expected, more), query
        assert await store.delete_record("p", "assistant", "asst_0")
        assert not await store.delete_record("p", "assistant", "asst_0")
        listed = await store.list_records("p", "assistant", "", ListQuery(order="asc"))
        assert [i["id"] for i in listed.items] == ids[1:]
        await store.clear()
        assert await store.get_record("p", "assistant", "asst_1") is None
        assert (await store.list_records("p", "assistant", "", ListQuery())).items == []

    @pytest.mark.parametrize("how", ["deleted", "replaced", "evicted"])
    async def test_a_thread_that_goes_takes_its_runs_and_their_steps(self, make_store: MakeStore, how: str) -> None:
        """Runs of gone threads were kept forever: a long load test with runs grew without bound."""
        store = await make_store(max_threads=3)
        for name in ("thread_a", "thread_b"):
            await store.create_thread("p", thread(name), [])
            await put_run_with_steps(store, "p", name, f"run_{name}")
        await store.put_record("p", "assistant", "asst_1", {"id": "asst_1"})
        await store.create_thread("q", thread("thread_a"), [])  # the same id in another project
        await put_run_with_steps(store, "q", "thread_a", "run_thread_a")
        if how == "deleted":
            assert await store.delete_thread("p", "thread_a")
        elif how == "replaced":
            await store.create_thread("p", thread("thread_a"), [])
        else:
            await store.get_thread("p", "thread_b")
            await store.get_thread("q", "thread_a")
            await store.create_thread("p", thread("thread_c"), [])  # past the bound: thread_a is the least used
            assert await store.get_thread("p", "thread_a") is None
        assert await left_of(store, "p", "thread_a", "run_thread_a") == []
        assert (await store.list_records("p", "run", "thread_a", ListQuery())).items == []
        assert len(await left_of(store, "p", "thread_b", "run_thread_b")) == 4
        assert len(await left_of(store, "q", "thread_a", "run_thread_a")) == 4
        assert await store.get_record("p", "assistant", "asst_1") == {"id": "asst_1"}

    # -- blob records (uploaded files)

    async def test_a_blob_record_streams_in_and_out_with_its_record(self, store: Store) -> None:
        big = bytes(range(256)) * (BLOB_PIECE // 128 + 3)  # several pieces, the last one short
        record = await store.put_blob_record(
            "p", "file", "file-a", stream(big[:1000], big[1000:]), file_record("file-a")
        )
        assert record == {"id": "file-a", "bytes": len(big)}
        assert await store.get_record("p", "file", "file-a") == record
        assert (await store.list_records("p", "file", "", ListQuery())).items == [record]
        assert await blob_of(store, "p", "file-a") == big
        await store.put_blob_record("p", "file", "file-e", stream(), file_record("file-e"))
        assert await blob_of(store, "p", "file-e") == b""
        assert await blob_of(store, "q", "file-a") is None
        assert await store.read_blob("p", "file", "file-x") is None
        assert (await store.stats())["file_bytes"] == len(big)

    async def test_a_blob_that_fails_half_way_leaves_nothing(self, store: Store) -> None:
        with pytest.raises(ConnectionResetError):
            await store.put_blob_record("p", "file", "file-a", broken_stream(b"x" * 10), file_record("file-a"))
        assert await store.get_record("p", "file", "file-a") is None
        assert await store.read_blob("p", "file", "file-a") is None
        assert (await store.stats())["file_bytes"] == 0

        def refuse(size: int) -> JSON:
            raise ValueError(f"{size} bytes refused")

        with pytest.raises(ValueError, match="3 bytes refused"):
            await store.put_blob_record("p", "file", "file-a", stream(b"abc"), refuse)
        assert await store.read_blob("p", "file", "file-a") is None

    async def test_blob_records_go_with_delete_and_clear(self, store: Store) -> None:
        await store.put_blob_record("p", "file", "file-a", stream(b"abc"), file_record("file-a"))
        await store.put_blob_record("p", "file", "file-b", stream(b"defg"), file_record("file-b"))
        assert await store.delete_record("p", "file", "file-a")
        assert await store.read_blob("p", "file", "file-a") is None
        assert (await store.stats())["file_bytes"] == 4
        await store.clear()
        assert await store.read_blob("p", "file", "file-b") is None
        assert (await store.stats())["file_bytes"] == 0

    async def test_past_max_file_bytes_the_least_recently_used_blob_goes(
        self, make_store: MakeStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        store = await make_store(max_file_bytes=10)
        with caplog.at_level(logging.WARNING, logger="threads_mock.store"):
            for name in ("a", "b", "c"):
                await store.put_blob_record("p", "file", f"file-{name}", stream(b"x" * 3), file_record(f"file-{name}"))
            assert await blob_of(store, "p", "file-a") == b"xxx"  # a use: file-b is now the least recently used
            await store.put_blob_record("q", "file", "file-d", stream(b"y" * 4), file_record("file-d"))
            await store.put_blob_record("q", "file", "file-e", stream(b"z" * 3), file_record("file-e"))
        assert await store.get_record("p", "file", "file-b") is None
        assert await store.read_blob("p", "file", "file-b") is None
        assert await store.get_record("p", "file", "file-c") is None
        assert [await blob_of(store, p, f) for p, f in (("p", "file-a"), ("q", "file-d"), ("q", "file-e"))] == [
            b"xxx",
            b"yyyy",
            b"zzz",
        ]
        stats = await store.stats()
        assert (stats["file_bytes"], stats["max_file_bytes"], stats["files_evicted"]) == (10, 10, 2)
        warnings = [r.getMessage() for r in caplog.records if r.name == "threads_mock.store"]
        assert len(warnings) == 1 and "max_file_bytes=10" in warnings[0] and "least recently used" in warnings[0]

    async def test_a_blob_larger_than_max_file_bytes_is_refused_and_evicts_nothing(self, make_store: MakeStore) -> None:
        store = await make_store(max_file_bytes=10)
        await store.put_blob_record("p", "file", "file-a", stream(b"x" * 6), file_record("file-a"))
        with pytest.raises(BlobTooLarge) as refused:
            await store.put_blob_record("p", "file", "file-b", stream(b"y" * 6, b"y" * 5), file_record("file-b"))
        assert refused.value.limit == 10
        assert await store.get_record("p", "file", "file-b") is None
        assert await blob_of(store, "p", "file-a") == b"x" * 6

    async def test_a_closed_store_opens_again_with_its_blobs(self, store: Store) -> None:
        await store.put_blob_record("p", "file", "file-a", stream(b"kept"), file_record("file-a"))
        await store.close()
        await store.open()
        assert await blob_of(store, "p", "file-a") == b"kept"


async def thread_stats(store: Store) -> dict[str, int]:
    stats = await store.stats()
    return {key: stats[key] for key in ("threads", "max_threads", "evicted")}


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)  # as a client's body arrives: other calls run in between
        yield chunk


async def broken_stream(*chunks: bytes) -> AsyncIterator[bytes]:
    async for chunk in stream(*chunks):
        yield chunk
    raise ConnectionResetError("the client went away half way")


def file_record(record_id: str) -> Callable[[int], JSON]:
    return lambda size: {"id": record_id, "bytes": size}


async def blob_of(store: Store, project: str, record_id: str) -> bytes | None:
    pieces = await store.read_blob(project, "file", record_id)
    return None if pieces is None else b"".join([piece async for piece in pieces])


async def found(call: Awaitable[T | None]) -> T:
    """The answer of a call that must find what it looks for."""
    value = await call
    assert value is not None
    return value


async def page(call: Awaitable[Page | None]) -> Page:
    return await found(call)
