"""The fleet's way to Redis: the store's own client (opened with it, before the first request), under a key
prefix of the fleet's, and its scripts registered once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..store.backends.redis import RedisStore, reaching

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript


class RedisAccess:
    def __init__(self, store: RedisStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self._scripts: dict[str, tuple[Redis, AsyncScript]] = {}

    @property
    def client(self) -> Redis:
        return self.store.client

    async def run(self, script: str, *args: Any) -> Any:
        """A Lua script with the prefix as ARGV[1]; registered again when the store opened a new client."""
        client = self.client
        registered = self._scripts.get(script)
        if registered is None or registered[0] is not client:
            registered = (client, client.register_script(script))
            self._scripts[script] = registered
        with reaching(self.store.url):
            return await registered[1](args=(self.prefix, *args))
