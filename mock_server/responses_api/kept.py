"""Stored responses, each kept as a thread of the store (with no messages) in its project's responses space
(`store/spaces.py`): bounded and evicted as threads are, least recently used first. A response whose
predecessor was evicted answers `previous_response_not_found`, as one past the real API's retention does.

The record of a response is `{"id", "response": the object, "input", "context", ...}` (see `api.py`); the
function calls it made (`{"then": the reply their outputs get}`, found by call id) are records under it, so
they go with it.
"""

from __future__ import annotations

from ..store import JSON, Store, Version, Versioned
from ..store.spaces import RESPONSES, space

# A function call a response made, by its call_id: the reply its output gets (the rule's `then`).
CALL = "response_call"


class KeptResponses:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, project: str, response_id: str) -> JSON | None:
        return await self.store.get_thread(space(project, RESPONSES), response_id)

    async def read(self, project: str, response_id: str) -> Versioned | None:
        return await self.store.read_thread(space(project, RESPONSES), response_id)

    async def put(self, project: str, record: JSON) -> None:
        """A new response's record (an id is made once: a put never replaces one already kept)."""
        await self.store.create_thread(space(project, RESPONSES), {"id": record["response"]["id"], **record}, [])

    async def replace(self, project: str, response_id: str, record: JSON, version: Version) -> Version | None:
        return await self.store.replace_thread(space(project, RESPONSES), response_id, record, version)

    async def delete(self, project: str, response_id: str) -> bool:
        return await self.store.delete_thread(space(project, RESPONSES), response_id)

    async def all(self, project: str) -> list[JSON]:
        """Every stored response of the project, oldest first, as it is now (the admin API's list)."""
        return [record["response"] for record in await self.store.threads(space(project, RESPONSES))]

    async def remember_call(self, project: str, response_id: str, call_id: str, then: str) -> None:
        await self.store.put_record(space(project, RESPONSES), CALL, call_id, {"then": then}, parent=response_id)

    async def call(self, project: str, call_id: str) -> JSON | None:
        return await self.store.get_record(space(project, RESPONSES), CALL, call_id)
