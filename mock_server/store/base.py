"""The store: threads and messages kept per project (API key), free of HTTP.

A backend is one module with a class that satisfies `Store`; `open_store` picks it from a URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict

JSON = dict[str, Any]
Change = Callable[[JSON], JSON]
DEFAULT_MAX_THREADS = 100_000

log = logging.getLogger("threads_mock.store")


class Stats(TypedDict):
    threads: int  # held now, all projects together
    max_threads: int
    evicted: int  # least recently used threads dropped to stay within max_threads, since the last reset


def check_max_threads(max_threads: int) -> int:
    if max_threads < 1:
        raise ValueError(f"max_threads must be at least 1, got {max_threads}")
    return max_threads


def warn_eviction(max_threads: int) -> None:
    # Once per store: under a fuzzer every create may evict, and a line per eviction would bury the log.
    log.warning(
        "the store holds max_threads=%d threads: from now on the least recently used thread is evicted "
        "for each new one (counted on /__mock__/health; raise --max-threads to keep more)",
        max_threads,
    )


@dataclass(frozen=True)
class ListQuery:
    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[JSON]
    has_more: bool


class Store(Protocol):
    """Every call on a thread or its messages counts as a use of that thread for eviction (`threads` does not).

    `threads` lists a project's threads in creation order.
    Creating a thread whose id is already stored replaces it (a seeded server restarted on a durable store
    hands out the same ids again); so does adding a message whose id the thread already has.
    """

    async def create_thread(self, project: str, thread: JSON, messages: Sequence[JSON]) -> None: ...

    async def get_thread(self, project: str, thread_id: str) -> JSON | None: ...

    async def update_thread(self, project: str, thread_id: str, change: Change) -> JSON | None: ...

    async def delete_thread(self, project: str, thread_id: str) -> bool: ...

    async def threads(self, project: str) -> list[JSON]: ...

    async def add_message(self, project: str, message: JSON) -> bool: ...

    async def get_message(self, project: str, thread_id: str, message_id: str) -> JSON | None: ...

    async def update_message(self, project: str, thread_id: str, message_id: str, change: Change) -> JSON | None: ...

    async def delete_message(self, project: str, thread_id: str, message_id: str) -> bool: ...

    async def list_messages(self, project: str, thread_id: str, query: ListQuery) -> Page | None: ...

    # Records: the other objects (assistants, runs, run steps), each of a `kind`, found by id, and listed in
    # creation order under a `parent` (a run's thread, a step's run; "" for top-level ones). Putting an id
    # that exists replaces its data and keeps its place. A thread that goes (deleted, replaced or evicted)
    # takes the records under it and the records under those with it: a run's steps go with its thread.

    async def put_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> None: ...

    async def get_record(self, project: str, kind: str, record_id: str) -> JSON | None: ...

    async def delete_record(self, project: str, kind: str, record_id: str) -> bool: ...

    async def list_records(self, project: str, kind: str, parent: str, query: ListQuery) -> Page: ...

    async def stats(self) -> Stats: ...

    async def clear(self) -> None: ...

    async def close(self) -> None: ...


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
