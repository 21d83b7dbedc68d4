"""The default store: in memory, each object kept as compact JSON bytes."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence

import orjson

from .base import (
    DEFAULT_MAX_THREADS,
    JSON,
    Change,
    ListQuery,
    Page,
    Stats,
    check_max_threads,
    page_of,
    warn_eviction,
)


def encode(obj: JSON) -> bytes:
    # orjson (3.12 on) hands back bytes whose buffer is at least 4 KiB and never trimmed; a copy keeps a
    # stored object at its own size: a typical thread is ~150 bytes, 25 times less.
    return bytes(memoryview(orjson.dumps(obj)))


class _Thread:
    __slots__ = ("created", "data", "messages")

    def __init__(self, created: int, data: bytes) -> None:
        self.created = created
        self.data = data
        # message id -> (run_id, encoded message), in creation order
        self.messages: dict[str, tuple[str | None, bytes]] = {}


class MemoryStore:
    def __init__(self, max_threads: int = DEFAULT_MAX_THREADS) -> None:
        # Every project's threads in one order, least recently used first: the bound is per store.
        self._threads: OrderedDict[tuple[str, str], _Thread] = OrderedDict()
        self._max_threads = check_max_threads(max_threads)
        self._evicted = 0
        self._warned = False
        self._created = itertools.count()
        # (project, kind, id) -> (parent, encoded data); (project, kind, parent) -> ids in creation order
        self._records: dict[tuple[str, str, str], tuple[str, bytes]] = {}
        self._children: dict[tuple[str, str, str], dict[str, None]] = {}

    def _thread(self, project: str, thread_id: str) -> _Thread | None:
        key = (project, thread_id)
        record = self._threads.get(key)
        if record is not None:
            self._threads.move_to_end(key)
        return record

    async def create_thread(self, project: str, thread: JSON, messages: Sequence[JSON]) -> None:
        record = _Thread(next(self._created), encode(thread))
        for message in messages:
            record.messages[message["id"]] = (message.get("run_id"), encode(message))
        key = (project, thread["id"])
        self._threads.pop(key, None)
        self._threads[key] = record
        while len(self._threads) > self._max_threads:
            self._threads.popitem(last=False)
            self._evicted += 1
            if not self._warned:
                self._warned = True
                warn_eviction(self._max_threads)

    async def get_thread(self, project: str, thread_id: str) -> JSON | None:
        record = self._thread(project, thread_id)
        return None if record is None else orjson.loads(record.data)

    async def update_thread(self, project: str, thread_id: str, change: Change) -> JSON | None:
        record = self._thread(project, thread_id)
        if record is None:
            return None
        updated = change(orjson.loads(record.data))
        record.data = encode(updated)
        return updated

    async def delete_thread(self, project: str, thread_id: str) -> bool:
        return self._threads.pop((project, thread_id), None) is not None

    async def threads(self, project: str) -> list[JSON]:
        records = sorted((r for (p, _), r in self._threads.items() if p == project), key=lambda r: r.created)
        return [orjson.loads(record.data) for record in records]

    async def add_message(self, project: str, message: JSON) -> bool:
        record = self._thread(project, message["thread_id"])
        if record is None:
            return False
        record.messages[message["id"]] = (message.get("run_id"), encode(message))
        return True

    async def get_message(self, project: str, thread_id: str, message_id: str) -> JSON | None:
        record = self._thread(project, thread_id)
        entry = None if record is None else record.messages.get(message_id)
        return None if entry is None else orjson.loads(entry[1])

    async def update_message(self, project: str, thread_id: str, message_id: str, change: Change) -> JSON | None:
        record = self._thread(project, thread_id)
        entry = None if record is None else record.messages.get(message_id)
        if record is None or entry is None:
            return None
        updated = change(orjson.loads(entry[1]))
        record.messages[message_id] = (updated.get("run_id"), encode(updated))
        return updated

    async def delete_message(self, project: str, thread_id: str, message_id: str) -> bool:
        record = self._thread(project, thread_id)
        return record is not None and record.messages.pop(message_id, None) is not None

    async def list_messages(self, project: str, thread_id: str, query: ListQuery) -> Page | None:
        record = self._thread(project, thread_id)
        if record is None:
            return None
        messages = record.messages
        ids = [mid for mid, (run, _) in messages.items() if query.run_id is None or run == query.run_id]
        chosen, has_more = page_of(ids, query)
        return Page([orjson.loads(messages[mid][1]) for mid in chosen], has_more)

    async def put_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> None:
        key = (project, kind, record_id)
        previous = self._records.get(key)
        if previous is not None and previous[0] != parent:
            self._children[(project, kind, previous[0])].pop(record_id, None)
        self._records[key] = (parent, encode(data))
        self._children.setdefault((project, kind, parent), {})[record_id] = None

    async def get_record(self, project: str, kind: str, record_id: str) -> JSON | None:
        entry = self._records.get((project, kind, record_id))
        return None if entry is None else orjson.loads(entry[1])

    async def delete_record(self, project: str, kind: str, record_id: str) -> bool:
        entry = self._records.pop((project, kind, record_id), None)
        if entry is None:
            return False
        self._children[(project, kind, entry[0])].pop(record_id, None)
        return True

    async def list_records(self, project: str, kind: str, parent: str, query: ListQuery) -> Page:
        ids = list(self._children.get((project, kind, parent), ()))
        chosen, has_more = page_of(ids, query)
        return Page([orjson.loads(self._records[(project, kind, rid)][1]) for rid in chosen], has_more)

    async def stats(self) -> Stats:
        return {"threads": len(self._threads), "max_threads": self._max_threads, "evicted": self._evicted}

    async def clear(self) -> None:
        self._threads.clear()
        self._records.clear()
        self._children.clear()
        self._evicted = 0

    async def close(self) -> None:
        return None
