"""The default store: in memory, each object kept as compact JSON bytes."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from .base import JSON, Change, ListQuery, Page, page_of


class _Thread:
    __slots__ = ("data", "messages")

    def __init__(self, data: bytes) -> None:
        self.data = data
        # message id -> (run_id, encoded message), in creation order
        self.messages: dict[str, tuple[str | None, bytes]] = {}


class MemoryStore:
    def __init__(self) -> None:
        self._projects: dict[str, dict[str, _Thread]] = {}

    def _thread(self, project: str, thread_id: str) -> _Thread | None:
        return self._projects.get(project, {}).get(thread_id)

    async def create_thread(self, project: str, thread: JSON, messages: Sequence[JSON]) -> None:
        record = _Thread(orjson.dumps(thread))
        for message in messages:
            record.messages[message["id"]] = (message.get("run_id"), orjson.dumps(message))
        self._projects.setdefault(project, {})[thread["id"]] = record

    async def get_thread(self, project: str, thread_id: str) -> JSON | None:
        record = self._thread(project, thread_id)
        return None if record is None else orjson.loads(record.data)

    async def update_thread(self, project: str, thread_id: str, change: Change) -> JSON | None:
        record = self._thread(project, thread_id)
        if record is None:
            return None
        updated = change(orjson.loads(record.data))
        record.data = orjson.dumps(updated)
        return updated

    async def delete_thread(self, project: str, thread_id: str) -> bool:
        return self._projects.get(project, {}).pop(thread_id, None) is not None

    async def threads(self, project: str) -> list[JSON]:
        return [orjson.loads(record.data) for record in self._projects.get(project, {}).values()]

    async def add_message(self, project: str, message: JSON) -> bool:
        record = self._thread(project, message["thread_id"])
        if record is None:
            return False
        record.messages[message["id"]] = (message.get("run_id"), orjson.dumps(message))
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
        record.messages[message_id] = (updated.get("run_id"), orjson.dumps(updated))
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

    async def clear(self) -> None:
        self._projects.clear()

    async def close(self) -> None:
        return None
