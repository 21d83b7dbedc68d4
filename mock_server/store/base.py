"""The store: threads, messages and records kept per project (API key), free of HTTP.

A backend is one module in `store/backends/` with a subclass of `Store` and a `register(Backend(...))` line;
`store_for` finds it by the scheme of a `--store` URL.
"""

from __future__ import annotations

import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, TypedDict

from ..types import JSON as JSON

Change = Callable[[JSON], JSON]
# What a read hands out beside the data, for a conditional write to hand back. Each backend picks its own:
# a counter, a write stamp, or the stored bytes themselves; callers never look inside.
Version: TypeAlias = object
DEFAULT_MAX_THREAD_MESSAGES = 100_000
DEFAULT_MAX_DISK = 8 * 1024**3
DEFAULT_MAX_THREADS = 100_000
# The real API took files of up to 512 MB; the mock's default budget for all files together is one such file.
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
# A blob is kept in pieces of about this size, whatever pieces the client sent: few objects per file (a
# client that sends a byte at a time would otherwise cost an object per byte) and no copy of the whole.
BLOB_PIECE = 256 * 1024
# How often `update_*` reads again after losing to another writer. Memory and SQLite never lose (nothing
# interleaves inside their calls); a network backend loses about once per concurrent writer.
UPDATE_ATTEMPTS = 64

log = logging.getLogger("threads_mock.store")


class StoreUnavailable(ValueError):
    """`open()` failed: a file that cannot be written, a server that cannot be reached. A ValueError, as every
    refusal of a `--store` setting is, with a message fit for the command line."""


class Contention(RuntimeError):
    """An update lost to other writers UPDATE_ATTEMPTS times in a row."""


class BlobTooLarge(ValueError):
    """A blob that cannot fit in max_file_bytes, even with every other blob evicted."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a blob may hold at most {limit} bytes")
        self.limit = limit


class Stats(TypedDict):
    threads: int  # held now, all projects together
    max_threads: int
    evicted: int  # least recently used threads dropped to stay within max_threads, since the last reset
    file_bytes: int  # the bytes of the blobs held now (uploaded files), all projects together
    max_file_bytes: int
    files_evicted: int  # least recently used blob records dropped to stay within max_file_bytes


class MemoryUse(TypedDict):
    bytes: int  # client data held in this process, by its encoded size and what holding it costs
    max_bytes: int | None  # the store's share of --max-memory; None for a backend that holds data elsewhere


class ThreadFull(ValueError):
    """A new message for a thread that holds the most messages a write allowed (`add_message(..., most=N)`)."""

    def __init__(self, most: int) -> None:
        super().__init__(f"the thread holds {most} messages already")
        self.most = most


class TooLarge(ValueError):
    """A write that could never fit in the store's share of the memory budget, even alone."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes do not fit in {limit}")
        self.size = size
        self.limit = limit


class DiskFull(ValueError):
    """A write that found no room on disk (`limit_disk`) once every thread and file that could go had gone."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the store's file is full at {limit} bytes")
        self.limit = limit


@dataclass(slots=True)
class Versioned:
    data: JSON
    version: Version


def check_max_threads(max_threads: int) -> int:
    if max_threads < 1:
        raise ValueError(f"max_threads must be at least 1, got {max_threads}")
    return max_threads


def check_max_file_bytes(max_file_bytes: int) -> int:
    if max_file_bytes < 1:
        raise ValueError(f"max_file_bytes must be at least 1, got {max_file_bytes}")
    return max_file_bytes


# What is bounded: the setting, the unit it counts, and what one eviction drops.
BOUNDS = {"thread": ("max_threads", "threads"), "file": ("max_file_bytes", "bytes")}


def warn_eviction(limit: int, what: str = "thread") -> None:
    # Once per store and bound: under a fuzzer every create may evict, and a line per eviction would bury the log.
    if what == "memory":
        log.warning(
            "the store holds its share of --max-memory (%d bytes): from now on the least recently used "
            "threads are evicted to make room (counted on /__mock__/health; raise --max-memory to keep more)",
            limit,
        )
        return
    setting, unit = BOUNDS[what]
    log.warning(
        "the store holds %s=%d %s: from now on the least recently used %s is evicted "
        "for each new one (counted on /__mock__/health; raise --%s to keep more)",
        setting,
        limit,
        unit,
        what,
        setting.replace("_", "-"),
    )


async def pieces(chunks: AsyncIterable[bytes], limit: int) -> AsyncIterator[bytes]:
    """The bytes of `chunks` in pieces of BLOB_PIECE (the last one shorter), raising BlobTooLarge as soon as
    they pass `limit`: what every backend stores, one piece in memory at a time."""
    buffer = bytearray()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BlobTooLarge(limit)
        buffer += chunk
        while len(buffer) >= BLOB_PIECE:
            yield bytes(buffer[:BLOB_PIECE])
            del buffer[:BLOB_PIECE]
    if buffer or size == 0:
        yield bytes(buffer)


@dataclass(frozen=True)
class ListQuery:
    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None
    run_id: str | None = None


# Every record of a kind under a parent, oldest first: for the lists that filter before they page.
EVERYTHING = ListQuery(limit=sys.maxsize - 1, order="asc")


@dataclass(frozen=True)
class Page:
    items: list[JSON]
    has_more: bool


class Store(ABC):
    """Every call is atomic on its own: a backend that awaits I/O inside a call makes it one transaction or one
    server-side operation. What spans calls is made safe by versions: `read_*` answers an object with its
    version, `replace_*` writes only while the object still has it (and answers the new one, or None when
    it lost), and `update_*` (shared by every backend, below) retries read, change and replace until the
    replace wins. `add_record` and `delete_record(..., version=...)` are the insert-if-absent and
    compare-and-delete that claiming and releasing a thread's active run need.

    Every call on a thread or its messages counts as a use of that thread for eviction (`threads` does not).
    `threads` lists a project's threads in creation order.
    Creating a thread whose id is already stored replaces it (a seeded server restarted on a durable store
    hands out the same ids again); so does adding a message whose id the thread already has.

    Records are the other objects (assistants, runs, run steps), each of a `kind`, found by id, and listed in
    creation order under a `parent` (a run's thread, a step's run; "" for top-level ones). Putting an id that
    exists replaces its data and keeps its place. A thread that goes (deleted, replaced or evicted) takes the
    records under it and the records under those with it: a run's steps go with its thread.

    A blob record (an uploaded file) is a top-level record that owns bytes: `put_blob_record` streams them in
    and publishes the record with them, `read_blob` streams them out, `delete_record` takes them with it. All
    blobs together stay within `max_file_bytes`: past it the least recently used blob records go, record and
    bytes (a put and a `read_blob` are uses; `get_record` is not), counted and warned about as threads are.
    """

    @abstractmethod
    async def open(self) -> None:
        """Start-up, awaited before the server takes requests: connect, create what is missing, and raise
        StoreUnavailable if that fails. A closed store may be opened again. The constructor does no I/O."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of what `open` took; awaited after the last request."""

    # -- threads

    @abstractmethod
    async def create_thread(self, project: str, thread: JSON, messages: Sequence[JSON]) -> None: ...

    @abstractmethod
    async def get_thread(self, project: str, thread_id: str) -> JSON | None: ...

    @abstractmethod
    async def read_thread(self, project: str, thread_id: str) -> Versioned | None: ...

    @abstractmethod
    async def replace_thread(self, project: str, thread_id: str, thread: JSON, version: Version) -> Version | None: ...

    @abstractmethod
    async def delete_thread(self, project: str, thread_id: str) -> bool: ...

    @abstractmethod
    async def threads(self, project: str) -> list[JSON]: ...

    # -- messages

    @abstractmethod
    async def add_message(self, project: str, message: JSON, most: int | None = None) -> bool:
        """Adds (or replaces, by id) a message; False when its thread is missing. With `most`, a new message
        for a thread that holds `most` already raises ThreadFull, in the same atomic step."""

    @abstractmethod
    async def get_message(self, project: str, thread_id: str, message_id: str) -> JSON | None: ...

    @abstractmethod
    async def read_message(self, project: str, thread_id: str, message_id: str) -> Versioned | None: ...

    @abstractmethod
    async def replace_message(
        self, project: str, thread_id: str, message_id: str, message: JSON, version: Version
    ) -> Version | None: ...

    @abstractmethod
    async def delete_message(self, project: str, thread_id: str, message_id: str) -> bool: ...

    @abstractmethod
    async def list_messages(self, project: str, thread_id: str, query: ListQuery) -> Page | None: ...

    # -- records

    @abstractmethod
    async def put_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> Version: ...

    @abstractmethod
    async def add_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> JSON | None:
        """Puts the record unless its id is taken: None when it went in, else the record that holds the id."""

    @abstractmethod
    async def get_record(self, project: str, kind: str, record_id: str) -> JSON | None: ...

    @abstractmethod
    async def read_record(self, project: str, kind: str, record_id: str) -> Versioned | None: ...

    @abstractmethod
    async def replace_record(
        self, project: str, kind: str, record_id: str, data: JSON, version: Version
    ) -> Version | None: ...

    @abstractmethod
    async def delete_record(self, project: str, kind: str, record_id: str, version: Version | None = None) -> bool:
        """With a version, deletes only while the record still has it."""

    @abstractmethod
    async def list_records(self, project: str, kind: str, parent: str, query: ListQuery) -> Page: ...

    # -- blob records

    @abstractmethod
    async def put_blob_record(
        self, project: str, kind: str, record_id: str, chunks: AsyncIterable[bytes], make: Callable[[int], JSON]
    ) -> JSON:
        """Reads `chunks` to their end, then puts the record `make(size)` (top-level) with those bytes, as one
        step: nothing of it shows before it answers the record. When `chunks` raises, or the bytes pass
        max_file_bytes (BlobTooLarge), nothing is kept and the error goes on. One piece is held at a time."""

    @abstractmethod
    async def read_blob(self, project: str, kind: str, record_id: str) -> AsyncIterator[bytes] | None:
        """The bytes of a blob record, in pieces; None when there is no such blob."""

    # -- the whole store

    @abstractmethod
    async def stats(self) -> Stats: ...

    def limit_memory(self, max_bytes: int) -> None:
        """The bytes this backend may hold in the process (the least recently used threads go past it).
        A backend that keeps its data elsewhere holds only bounded caches, and ignores it."""
        return None

    def memory(self) -> MemoryUse:
        return {"bytes": 0, "max_bytes": None}

    def limit_disk(self, max_bytes: int) -> None:
        """The bytes this backend's files may take on disk (the least recently used threads, then files, go
        to make room; a write that still finds none raises DiskFull). A backend without files ignores it."""
        return None

    @abstractmethod
    async def clear(self) -> None: ...

    # -- read, change, write if unchanged: the same for every backend

    async def update_thread(self, project: str, thread_id: str, change: Change) -> JSON | None:
        return await updated(
            lambda: self.read_thread(project, thread_id),
            lambda data, version: self.replace_thread(project, thread_id, data, version),
            change,
        )

    async def update_message(self, project: str, thread_id: str, message_id: str, change: Change) -> JSON | None:
        return await updated(
            lambda: self.read_message(project, thread_id, message_id),
            lambda data, version: self.replace_message(project, thread_id, message_id, data, version),
            change,
        )

    async def update_record(self, project: str, kind: str, record_id: str, change: Change) -> JSON | None:
        return await updated(
            lambda: self.read_record(project, kind, record_id),
            lambda data, version: self.replace_record(project, kind, record_id, data, version),
            change,
        )


async def updated(
    read: Callable[[], Awaitable[Versioned | None]],
    replace: Callable[[JSON, Version], Awaitable[Version | None]],
    change: Change,
) -> JSON | None:
    """The object changed and written back unless another write came in between (then read and changed
    again); None when it is not there. `change` gets a fresh copy each time and may raise: nothing is written."""
    for _ in range(UPDATE_ATTEMPTS):
        found = await read()
        if found is None:
            return None
        data = change(found.data)
        if await replace(data, found.version) is not None:
            return data
    raise Contention(f"an update lost to other writers {UPDATE_ATTEMPTS} times in a row")


def page_of(ids: list[str], query: ListQuery) -> tuple[list[str], bool]:
    """Cut one page out of ids in creation order, the way the API's cursors did."""
    ordered = ids if query.order == "asc" else ids[::-1]
    if query.after is not None:
        ordered = ordered[ordered.index(query.after) + 1 :] if query.after in ordered else []
    if query.before is not None:
        if query.before not in ordered:
            return [], False
        preceding = ordered[: ordered.index(query.before)]
        return preceding[-query.limit :], len(preceding) > query.limit
    return ordered[: query.limit], len(ordered) > query.limit
