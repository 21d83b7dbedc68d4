"""The default store: in memory, each object kept as compact JSON bytes."""

from __future__ import annotations

import itertools
import sys
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any

import orjson

from ..base import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_THREADS,
    JSON,
    ListQuery,
    MemoryUse,
    Page,
    Stats,
    Store,
    ThreadFull,
    TooLarge,
    Version,
    Versioned,
    check_max_file_bytes,
    check_max_threads,
    pieces,
    warn_eviction,
)
from ..registry import Backend, register


def encode(obj: JSON) -> bytes:
    # orjson (3.12 on) hands back bytes whose buffer is at least 4 KiB and never trimmed; a copy keeps a
    # stored object at its own size: a typical thread is ~150 bytes, 25 times less.
    # The copy is also the object's version: every write makes a new bytes object (JSON is never one byte
    # long, the only lengths CPython shares), compared by identity; a caller holding it keeps it from
    # being freed and its address reused, so a version never comes back.
    return bytes(memoryview(orjson.dumps(obj)))


ThreadKey = tuple[str, str]
RecordKey = tuple[str, str, str]
# What holding an object costs beyond its encoded bytes (measured: 100,000 threads of one message each hold
# about 1,240 bytes a thread in all, ~450 of them JSON): a thread's keys, its places in four dicts and its
# empty message dict; a message's or a record's key, dict slot and bytes header.
THREAD_COST = 600
ITEM_COST = 150
# The most of the store's share one thread (with its messages) may hold.
THREAD_SHARE = 4


def page_from(ids: dict[str, Any] | list[str], query: ListQuery) -> tuple[list[str], bool]:
    """`page_of` walking the ids in place: a page near the cursor costs its own length, not the thread's."""
    ordered = iter(ids) if query.order == "asc" else reversed(ids)
    if query.after is not None:
        if query.after not in ids:
            return [], False
        for found in ordered:
            if found == query.after:
                break
    if query.before is not None:
        preceding: list[str] = []
        for found in ordered:
            if found == query.before:
                return preceding[-query.limit :], len(preceding) > query.limit
            preceding.append(found)
        return [], False
    page = list(itertools.islice(ordered, query.limit + 1))
    return page[: query.limit], len(page) > query.limit


class MemoryStore(Store):
    """Everything is kept in a few dicts made at start-up, keyed by tuples of strings, holding bytes or dicts
    of strings and bytes: none of it is tracked by the garbage collector once it has looked at it, so a store
    of 100,000 threads adds nothing to the young collections that run between requests. Few objects per
    thread, too: a full store slows the allocator down less."""

    def __init__(self, max_threads: int = DEFAULT_MAX_THREADS, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> None:
        # Every project's threads in one order, least recently used first: the bound is per store.
        self._threads: OrderedDict[ThreadKey, bytes] = OrderedDict()
        self._creation: dict[ThreadKey, None] = {}  # the same keys, in creation order
        # (project, thread) -> {message id: encoded} in creation order, and {message id: run id} for the
        # messages a run wrote: dicts of strings and bytes only, which the collector never tracks.
        self._messages: dict[ThreadKey, dict[str, bytes]] = {}
        self._message_runs: dict[ThreadKey, dict[str, str]] = {}
        self._max_threads = check_max_threads(max_threads)
        self._max_bytes: int | None = None
        # The write paths' one comparison each before `_make_room` is called: the whole budget, a thread's share.
        self._limit = self._thread_room = sys.maxsize
        self._bytes = 0  # everything held, by `THREAD_COST`/`ITEM_COST` plus the encoded bytes
        self._thread_bytes: dict[ThreadKey, int] = {}  # a thread and its messages
        self._evicted = 0
        self._warned = False
        # (project, kind, id) -> (parent, encoded data); (project, kind, parent) -> ids in creation order
        self._records: dict[tuple[str, str, str], tuple[str, bytes]] = {}
        self._children: dict[tuple[str, str, str], dict[str, None]] = {}
        self._kinds: set[str] = set()
        # (project, kind, id) -> the blob's pieces, least recently used first; the one copy of its bytes.
        self._blobs: OrderedDict[RecordKey, tuple[bytes, ...]] = OrderedDict()
        self._blob_bytes = 0
        self._max_file_bytes = check_max_file_bytes(max_file_bytes)
        self._files_evicted = 0
        self._files_warned = False

    def _touch(self, key: ThreadKey) -> bytes | None:
        found = self._threads.get(key)
        if found is not None:
            self._threads.move_to_end(key)
        return found

    def _drop(self, key: ThreadKey) -> None:
        del self._creation[key]
        del self._messages[key]
        self._bytes -= self._thread_bytes.pop(key)
        self._message_runs.pop(key, None)
        project, thread_id = key
        under = self._drop_children(project, thread_id)
        for record_id in under:
            self._drop_children(project, record_id)

    def _drop_children(self, project: str, parent: str) -> list[str]:
        dropped = []
        for kind in self._kinds:
            for record_id in self._children.pop((project, kind, parent), ()):
                entry = self._records.pop((project, kind, record_id), None)
                if entry is not None:
                    self._bytes -= ITEM_COST + len(entry[1])
                    self._drop_blob((project, kind, record_id))
                    dropped.append(record_id)
        return dropped

    def _drop_blob(self, key: RecordKey) -> None:
        blob = self._blobs.pop(key, None)
        if blob is not None:
            self._blob_bytes -= sum(map(len, blob))

    def limit_memory(self, max_bytes: int) -> None:
        # Uploaded files take at most half the store's share, and threads what files leave of it.
        self._max_bytes = max_bytes
        self._limit, self._thread_room = max_bytes, max_bytes // THREAD_SHARE
        self._max_file_bytes = min(self._max_file_bytes, max_bytes // 2)

    def memory(self) -> MemoryUse:
        return {"bytes": self._bytes + self._blob_bytes, "max_bytes": self._max_bytes}

    def _make_room(self, size: int, keep: ThreadKey | None = None, held: int = 0) -> None:
        """Room for `size` more bytes, the least recently used threads (but `keep`) evicted for it; refused
        with TooLarge, before anything goes, when thread `keep` (holding `held` bytes) would pass its share."""
        if self._max_bytes is None:
            return
        if keep is not None and held + size > self._thread_room:
            # Else one client filling one thread would evict every other thread of every project.
            raise TooLarge(held + size, self._thread_room)
        room = self._max_bytes - self._blob_bytes
        if not self._evict_until_within(room - size, keep):
            # What cannot be evicted (assistants, the kept thread's runs, files) leaves no room.
            raise TooLarge(size, room - (self._bytes - held))

    def _evict_until_within(self, limit: int, keep: ThreadKey | None = None) -> bool:
        """The least recently used threads (but `keep`) evicted until the threads hold at most `limit` bytes;
        False when all that could go went and it is still more."""
        if self._bytes <= limit:
            return True  # the common case, without copying the keys of every thread
        for evicted in list(self._threads):
            if self._bytes <= limit:
                return True
            if evicted != keep:
                self._evict(evicted, for_bytes=True)
        return self._bytes <= limit

    def _evict(self, key: ThreadKey, *, for_bytes: bool = False) -> None:
        del self._threads[key]
        self._drop(key)
        self._evicted += 1
        if not self._warned:
            self._warned = True
            if for_bytes and self._max_bytes is not None:
                warn_eviction(self._max_bytes, "memory")
            else:
                warn_eviction(self._max_threads)

    def _put_message(self, key: ThreadKey, message: JSON) -> bytes:
        message_id = message["id"]
        encoded = encode(message)
        previous = self._messages[key].get(message_id)
        grows = len(encoded) - (-ITEM_COST if previous is None else len(previous))
        held = self._thread_bytes[key]
        if self._bytes + self._blob_bytes + grows > self._limit or held + grows > self._thread_room:
            self._make_room(grows, key, held)
        self._messages[key][message_id] = encoded
        self._thread_bytes[key] += grows
        self._bytes += grows
        run_id = message.get("run_id")
        if run_id is not None:
            self._message_runs.setdefault(key, {})[message_id] = run_id
        elif key in self._message_runs:
            self._message_runs[key].pop(message_id, None)
        return encoded

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def create_thread(self, project: str, thread: JSON, messages: Sequence[JSON]) -> None:
        # One copy of a project's key, not one per stored thread.
        key = (sys.intern(project), thread["id"])
        encoded = encode(thread)
        size = THREAD_COST + len(encoded)
        stored: dict[str, bytes] = {}
        runs: dict[str, str] = {}
        for message in messages:
            stored[message["id"]] = data = encode(message)
            size += ITEM_COST + len(data)
            if message.get("run_id") is not None:
                runs[message["id"]] = message["run_id"]
        if self._threads.pop(key, None) is not None:
            self._drop(key)
        if self._bytes + self._blob_bytes + size > self._limit or size > self._thread_room:
            self._make_room(size, key)
        self._threads[key] = encoded
        self._creation[key] = None
        self._messages[key] = stored
        if runs:
            self._message_runs[key] = runs
        self._thread_bytes[key] = size
        self._bytes += size
        while len(self._threads) > self._max_threads:
            self._evict(next(iter(self._threads)))

    async def get_thread(self, project: str, thread_id: str) -> JSON | None:
        found = self._touch((project, thread_id))
        return None if found is None else orjson.loads(found)

    async def read_thread(self, project: str, thread_id: str) -> Versioned | None:
        found = self._touch((project, thread_id))
        return None if found is None else Versioned(orjson.loads(found), found)

    async def replace_thread(self, project: str, thread_id: str, thread: JSON, version: Version) -> Version | None:
        key = (project, thread_id)
        found = self._touch(key)
        if found is None or found is not version:
            return None
        encoded = encode(thread)
        grows = len(encoded) - len(found)
        held = self._thread_bytes[key]
        if self._bytes + self._blob_bytes + grows > self._limit or held + grows > self._thread_room:
            self._make_room(grows, key, held)
        self._threads[key] = encoded
        self._thread_bytes[key] += grows
        self._bytes += grows
        return encoded

    async def delete_thread(self, project: str, thread_id: str) -> bool:
        key = (project, thread_id)
        if self._threads.pop(key, None) is None:
            return False
        self._drop(key)
        return True

    async def threads(self, project: str) -> list[JSON]:
        return [orjson.loads(self._threads[key]) for key in self._creation if key[0] == project]

    def _thread_messages(self, project: str, thread_id: str) -> dict[str, bytes] | None:
        key = (project, thread_id)
        return None if self._touch(key) is None else self._messages[key]

    async def add_message(self, project: str, message: JSON, most: int | None = None) -> bool:
        key = (project, message["thread_id"])
        if self._touch(key) is None:
            return False
        if most is not None and len(messages := self._messages[key]) >= most and message["id"] not in messages:
            raise ThreadFull(most)
        self._put_message(key, message)
        return True

    async def get_message(self, project: str, thread_id: str, message_id: str) -> JSON | None:
        messages = self._thread_messages(project, thread_id)
        found = None if messages is None else messages.get(message_id)
        return None if found is None else orjson.loads(found)

    async def read_message(self, project: str, thread_id: str, message_id: str) -> Versioned | None:
        messages = self._thread_messages(project, thread_id)
        found = None if messages is None else messages.get(message_id)
        return None if found is None else Versioned(orjson.loads(found), found)

    async def replace_message(
        self, project: str, thread_id: str, message_id: str, message: JSON, version: Version
    ) -> Version | None:
        messages = self._thread_messages(project, thread_id)
        found = None if messages is None else messages.get(message_id)
        if found is None or found is not version:
            return None
        return self._put_message((project, thread_id), message)

    async def delete_message(self, project: str, thread_id: str, message_id: str) -> bool:
        messages = self._thread_messages(project, thread_id)
        found = None if messages is None else messages.pop(message_id, None)
        if found is None:
            return False
        self._message_runs.get((project, thread_id), {}).pop(message_id, None)
        self._thread_bytes[(project, thread_id)] -= ITEM_COST + len(found)
        self._bytes -= ITEM_COST + len(found)
        return True

    async def list_messages(self, project: str, thread_id: str, query: ListQuery) -> Page | None:
        messages = self._thread_messages(project, thread_id)
        if messages is None:
            return None
        ids: dict[str, bytes] | list[str] = messages
        if query.run_id is not None:
            runs = self._message_runs.get((project, thread_id), {})
            ids = [mid for mid in messages if runs.get(mid) == query.run_id]
        chosen, has_more = page_from(ids, query)
        return Page([orjson.loads(messages[mid]) for mid in chosen], has_more)

    async def put_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> Version:
        key = (project, kind, record_id)
        previous = self._records.get(key)
        encoded = encode(data)
        grows = len(encoded) - (-ITEM_COST if previous is None else len(previous[1]))
        self._make_room(grows, (project, parent))
        if previous is not None and previous[0] != parent:
            self._children[(project, kind, previous[0])].pop(record_id, None)
        self._records[key] = (parent, encoded)
        self._bytes += grows
        self._kinds.add(kind)
        self._children.setdefault((project, kind, parent), {})[record_id] = None
        return encoded

    async def add_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> JSON | None:
        entry = self._records.get((project, kind, record_id))
        if entry is not None:
            return orjson.loads(entry[1])  # type: ignore[no-any-return]
        await self.put_record(project, kind, record_id, data, parent)
        return None

    async def get_record(self, project: str, kind: str, record_id: str) -> JSON | None:
        entry = self._records.get((project, kind, record_id))
        return None if entry is None else orjson.loads(entry[1])

    async def read_record(self, project: str, kind: str, record_id: str) -> Versioned | None:
        entry = self._records.get((project, kind, record_id))
        return None if entry is None else Versioned(orjson.loads(entry[1]), entry[1])

    async def replace_record(
        self, project: str, kind: str, record_id: str, data: JSON, version: Version
    ) -> Version | None:
        key = (project, kind, record_id)
        entry = self._records.get(key)
        if entry is None or entry[1] is not version:
            return None
        encoded = encode(data)
        grows = len(encoded) - len(entry[1])
        self._make_room(grows, (project, entry[0]))
        self._records[key] = (entry[0], encoded)
        self._bytes += grows
        return encoded

    async def delete_record(self, project: str, kind: str, record_id: str, version: Version | None = None) -> bool:
        key = (project, kind, record_id)
        entry = self._records.get(key)
        if entry is None or (version is not None and entry[1] is not version):
            return False
        del self._records[key]
        self._children[(project, kind, entry[0])].pop(record_id, None)
        self._bytes -= ITEM_COST + len(entry[1])
        self._drop_blob(key)
        return True

    async def list_records(self, project: str, kind: str, parent: str, query: ListQuery) -> Page:
        chosen, has_more = page_from(self._children.get((project, kind, parent), {}), query)
        return Page([orjson.loads(self._records[(project, kind, rid)][1]) for rid in chosen], has_more)

    async def put_blob_record(
        self, project: str, kind: str, record_id: str, chunks: AsyncIterable[bytes], make: Callable[[int], JSON]
    ) -> JSON:
        # Pieces collected first, published after: nothing shows (or is evicted for it) until the last arrived.
        kept = tuple([piece async for piece in pieces(chunks, self._max_file_bytes)])
        size = sum(map(len, kept))
        record = make(size)
        key = (sys.intern(project), kind, record_id)
        self._drop_blob(key)
        await self.put_record(project, kind, record_id, record)
        self._blobs[key] = kept
        self._blob_bytes += size
        while self._blob_bytes > self._max_file_bytes:
            oldest = next(iter(self._blobs))
            await self.delete_record(*oldest)
            self._drop_blob(oldest)
            self._files_evicted += 1
            if not self._files_warned:
                self._files_warned = True
                warn_eviction(self._max_file_bytes, "file")
        if self._max_bytes is not None:
            # The file's room comes out of the threads' when both together pass the store's share.
            self._evict_until_within(self._max_bytes - self._blob_bytes)
        return record

    async def read_blob(self, project: str, kind: str, record_id: str) -> AsyncIterator[bytes] | None:
        key = (project, kind, record_id)
        blob = self._blobs.get(key)
        if blob is None:
            return None
        self._blobs.move_to_end(key)
        return each(blob)

    async def stats(self) -> Stats:
        return {
            "threads": len(self._threads),
            "max_threads": self._max_threads,
            "evicted": self._evicted,
            "file_bytes": self._blob_bytes,
            "max_file_bytes": self._max_file_bytes,
            "files_evicted": self._files_evicted,
        }

    async def clear(self) -> None:
        self._threads.clear()
        self._creation.clear()
        self._messages.clear()
        self._message_runs.clear()
        self._records.clear()
        self._children.clear()
        self._thread_bytes.clear()
        self._bytes = 0
        self._evicted = 0
        self._blobs.clear()
        self._blob_bytes = 0
        self._files_evicted = 0


async def each(pieces: tuple[bytes, ...]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def memory_store(url: str, max_threads: int, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> MemoryStore:
    if url not in ("memory", "memory:", ""):
        raise ValueError(f"the memory store takes nothing after 'memory:', got {url!r}")
    return MemoryStore(max_threads, max_file_bytes)


register(Backend("memory", "memory", memory_store, summary="lost on exit"))
