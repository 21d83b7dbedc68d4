"""The journal of a fleet: one list in Redis of every instance's requests, each numbered from one counter as it
completes, the oldest dropped past the journal's size. An entry is appended before the client has the end of
its answer (as the in-process journal completes it), so a client that reads the journal after an answer finds
it there, whichever instance it asks. Requests still in flight are in their own instance's journal only.

While Redis cannot be reached, entries are lost (the log says so once); the requests themselves are answered.
"""

from __future__ import annotations

import logging

import orjson

from ..journal import JournalEntry, Recording, filtered
from ..store.backends.redis import reaching
from .redis import RedisAccess

log = logging.getLogger("threads_mock.fleet")

# ARGV: F, the entry's JSON without its id (an object: '{...}'), the journal's size. The entry's number.
APPEND = r"""
local F = ARGV[1]
local n = redis.call('INCR', F .. 'journal:seq')
redis.call('RPUSH', F .. 'journal:entries', '{"id":' .. n .. ',' .. string.sub(ARGV[2], 2))
redis.call('LTRIM', F .. 'journal:entries', -tonumber(ARGV[3]), -1)
return n
"""


class SharedJournal:
    def __init__(self, redis: RedisAccess, size: int) -> None:
        self.redis = redis
        self.size = size
        self._warned = False

    @property
    def _entries_key(self) -> str:
        return f"{self.redis.prefix}journal:entries"

    async def append(self, recording: Recording) -> None:
        data = recording.entry(finished=True).to_dict()
        del data["id"]
        try:
            await self.redis.run(APPEND, orjson.dumps(data), self.size)
        except Exception as error:  # Redis down: the request is answered all the same
            if not self._warned:
                self._warned = True
                log.warning("the fleet's journal could not record a request (%s); entries are lost until it can", error)

    async def entries(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        limit: int | None = None,
        after: int | None = None,
    ) -> list[JournalEntry]:
        """As Journal.entries, over every instance's completed requests, oldest first (`after`: those numbered
        after it, by the fleet's numbers)."""
        first = 0 if after is None else after
        with reaching(self.redis.store.url):
            raw = await self.redis.client.lrange(self._entries_key, 0, -1)
        return filtered((e for e in map(entry_of, raw) if e.number > first), method, path, status, limit)

    async def clear(self) -> int:
        async with self.redis.client.pipeline(transaction=True) as pipe:
            pipe.llen(self._entries_key)
            pipe.delete(self._entries_key, f"{self.redis.prefix}journal:seq")
            count, _ = await pipe.execute()
        return int(count)


def entry_of(raw: bytes | str) -> JournalEntry:
    return JournalEntry.from_dict(orjson.loads(raw))
