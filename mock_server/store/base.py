"""The store: threads and messages kept per project (API key), free of HTTP.

A backend is one module with a class that satisfies `Store`; `open_store` picks it from a URL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

JSON = dict[str, Any]
Change = Callable[[JSON], JSON]


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
