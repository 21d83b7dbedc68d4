"""The fleet's store (`--store redis://HOST:PORT/DB`): everything in one Redis (or Valkey), shared by every
instance and worker that opens the same URL and namespace.

Each call that must be atomic is one Lua script (`redis_lua.py`), which Redis runs as one step: no lock is held
by a client, so an instance killed half-way leaves nothing locked. An object's version is its stored JSON, as in
the SQLite store: a conditional write compares it inside its script. A blob's pieces are pushed one by one into a
list of their own, which expires if the upload is abandoned, and renamed into place with its record by one script.

`?namespace=NAME` in the URL puts every key under `threads-mock:NAME:` (default `default`), so that many test
sessions share one Redis without seeing each other; `clear` (the admin API's reset) empties that namespace only.
The bounds (max_threads, max_file_bytes) are kept by the scripts, least recently used first, as the memory store
keeps them. Instead, a Redis with `maxmemory` and `maxmemory-policy allkeys-lru` evicts on its own; a key it
drops may then leave an object half there (a thread without its messages), which the mock reads as missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from ..base import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_THREADS,
    JSON,
    ListQuery,
    Page,
    Stats,
    Store,
    StoreUnavailable,
    ThreadFull,
    Version,
    Versioned,
    check_max_file_bytes,
    check_max_threads,
    pieces,
    warn_eviction,
)
from ..registry import Backend, register
from . import redis_lua

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

KEY_ROOT = "threads-mock"
DEFAULT_NAMESPACE = "default"
NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# An upload's pieces are kept this long after its last piece arrived: an instance killed during an upload
# leaves nothing behind for longer.
UPLOAD_TTL_SECONDS = 3600
# A request waits at most this long for a new connection to Redis: while it is down, clients get a 503 soon, not a
# hung request (a refused connection at once); a loaded machine may take seconds to hand over a connection.
CONNECT_TIMEOUT_SECONDS = 5.0
COMMAND_TIMEOUT_SECONDS = 10.0
# Every script of redis_lua.py, by its name there.
SCRIPTS = [name for name, text in vars(redis_lua).items() if name.isupper() and name != "PRELUDE"]


def redis_target(url: str) -> tuple[str, str]:
    """The URL for the client (without our own `namespace` parameter) and the namespace."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.netloc:
        raise ValueError(f"a redis store is like redis://HOST:PORT/DB, got {url!r}")
    query = parse_qsl(parts.query)
    namespace = next((value for name, value in query if name == "namespace"), DEFAULT_NAMESPACE)
    if not NAMESPACE.match(namespace):
        raise ValueError(f"a redis store's namespace is letters, digits, '_', '.' and '-', got {namespace!r}")
    rest = urlencode([(name, value) for name, value in query if name != "namespace"])
    return urlunsplit(parts._replace(query=rest)), namespace


@contextmanager
def reaching(url: str) -> Iterator[None]:
    """Redis that cannot be reached (down, restarting, too slow) raises StoreUnavailable, which the API answers
    with a 503 in its envelope (`server_error`) and a retry-after, instead of a 500 and a traceback per request."""
    try:
        yield
    except Exception as error:
        from redis.exceptions import ConnectionError, TimeoutError

        if isinstance(error, ConnectionError | TimeoutError | OSError):
            raise StoreUnavailable(f"the redis store {url!r} cannot be reached: {error}") from error
        raise


def loads(data: bytes) -> JSON:
    value: JSON = orjson.loads(data)
    return value


class RedisStore(Store):
    def __init__(
        self, url: str, max_threads: int = DEFAULT_MAX_THREADS, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    ) -> None:
        self.url, self.namespace = redis_target(url)
        self.prefix = f"{KEY_ROOT}:{self.namespace}:"
        self._max_threads = check_max_threads(max_threads)
        self._max_file_bytes = check_max_file_bytes(max_file_bytes)
        self._warned = False
        self._files_warned = False
        self._client: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise RuntimeError(f"the redis store {self.url!r} is not open: await its open() first")
        return self._client

    async def open(self) -> None:
        if self._client is not None:
            return
        try:
            from redis.asyncio import Redis
            from redis.exceptions import RedisError
        except ImportError as error:
            raise StoreUnavailable(
                "the redis store needs the redis client: pip install 'openai-threads-mock[redis]'"
            ) from error
        client = Redis.from_url(
            self.url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=COMMAND_TIMEOUT_SECONDS
        )
        try:
            await client.ping()
        except (RedisError, OSError) as error:
            await client.aclose()
            raise StoreUnavailable(f"cannot reach the redis store {self.url!r}: {error}") from error
        self._client = client
        self._scripts = {name: client.register_script(redis_lua.PRELUDE + getattr(redis_lua, name)) for name in SCRIPTS}

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self, script: str, *args: Any) -> Any:
        if self._client is None:
            raise RuntimeError(f"the redis store {self.url!r} is not open: await its open() first")
        with reaching(self.url):
            return await self._scripts[script](args=(self.prefix, *args))

    def _warn(self, evicted: int) -> None:
        if evicted > 0 and not self._warned:
            self._warned = True
            warn_eviction(self._max_threads)

    # -- threads

    async def create_thread(self, project: str, thread: JSON, messages: Sequence[JSON]) -> None:
        flat: list[Any] = []
        for message in messages:
            flat += [message["id"], orjson.dumps(message), message.get("run_id") or ""]
        evicted = await self._run(
            "CREATE_THREAD", project, thread["id"], orjson.dumps(thread), self._max_threads, *flat
        )
        self._warn(int(evicted))

    async def get_thread(self, project: str, thread_id: str) -> JSON | None:
        data = await self._run("READ_THREAD", project, thread_id)
        return None if data is None else loads(data)

    async def read_thread(self, project: str, thread_id: str) -> Versioned | None:
        data = await self._run("READ_THREAD", project, thread_id)
        return None if data is None else Versioned(loads(data), data)

    async def replace_thread(self, project: str, thread_id: str, thread: JSON, version: Version) -> Version | None:
        data = orjson.dumps(thread)
        written = await self._run("REPLACE_THREAD", project, thread_id, data, version)
        return data if written == 1 else None

    async def delete_thread(self, project: str, thread_id: str) -> bool:
        return bool(await self._run("DELETE_THREAD", project, thread_id))

    async def threads(self, project: str) -> list[JSON]:
        return [loads(data) for data in await self._run("THREADS", project)]

    # -- messages

    async def add_message(self, project: str, message: JSON, most: int | None = None) -> bool:
        kept = await self._run(
            "ADD_MESSAGE",
            project,
            message["thread_id"],
            message["id"],
            orjson.dumps(message),
            message.get("run_id") or "",
            "" if most is None else most,
        )
        if kept == -1:
            raise ThreadFull(most or 0)
        return bool(kept)

    async def get_message(self, project: str, thread_id: str, message_id: str) -> JSON | None:
        data = await self._run("READ_MESSAGE", project, thread_id, message_id)
        return None if data is None else loads(data)

    async def read_message(self, project: str, thread_id: str, message_id: str) -> Versioned | None:
        data = await self._run("READ_MESSAGE", project, thread_id, message_id)
        return None if data is None else Versioned(loads(data), data)

    async def replace_message(
        self, project: str, thread_id: str, message_id: str, message: JSON, version: Version
    ) -> Version | None:
        data = orjson.dumps(message)
        written = await self._run(
            "REPLACE_MESSAGE", project, thread_id, message_id, data, message.get("run_id") or "", version
        )
        return data if written == 1 else None

    async def delete_message(self, project: str, thread_id: str, message_id: str) -> bool:
        return bool(await self._run("DELETE_MESSAGE", project, thread_id, message_id))

    async def list_messages(self, project: str, thread_id: str, query: ListQuery) -> Page | None:
        found = await self._run("LIST_MESSAGES", project, thread_id, query.run_id or "", *cursor_args(query))
        return None if found is None else page_from(found)

    # -- records

    async def put_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> Version:
        encoded = orjson.dumps(data)
        await self._run("PUT_RECORD", project, kind, record_id, encoded, parent)
        return encoded

    async def add_record(self, project: str, kind: str, record_id: str, data: JSON, parent: str = "") -> JSON | None:
        held = await self._run("ADD_RECORD", project, kind, record_id, orjson.dumps(data), parent)
        return None if held is None else loads(held)

    async def get_record(self, project: str, kind: str, record_id: str) -> JSON | None:
        found = await self.read_record(project, kind, record_id)
        return None if found is None else found.data

    async def read_record(self, project: str, kind: str, record_id: str) -> Versioned | None:
        with reaching(self.url):
            data: bytes | None = await self.client.hget(f"{self.prefix}r:{project}\n{kind}\n{record_id}", "d")  # type: ignore[assignment]
        return None if data is None else Versioned(loads(data), data)

    async def replace_record(
        self, project: str, kind: str, record_id: str, data: JSON, version: Version
    ) -> Version | None:
        encoded = orjson.dumps(data)
        written = await self._run("REPLACE_RECORD", project, kind, record_id, encoded, version)
        return encoded if written == 1 else None

    async def delete_record(self, project: str, kind: str, record_id: str, version: Version | None = None) -> bool:
        conditional = ("1", version) if version is not None else ("0", "")
        return bool(await self._run("DELETE_RECORD", project, kind, record_id, *conditional))

    async def list_records(self, project: str, kind: str, parent: str, query: ListQuery) -> Page:
        return page_from(await self._run("LIST_RECORDS", project, kind, parent, *cursor_args(query)))

    # -- blob records

    async def put_blob_record(
        self, project: str, kind: str, record_id: str, chunks: AsyncIterable[bytes], make: Callable[[int], JSON]
    ) -> JSON:
        token = os.urandom(16).hex()  # not uuid: importing it costs the server's start-up 20 ms
        upload, blob = f"{self.prefix}up:{token}", f"{self.prefix}bp:{token}"
        size = 0
        try:
            # One piece per round trip: the upload is never held whole, here or in a pipeline's buffer.
            async for piece in pieces(chunks, self._max_file_bytes):
                with reaching(self.url):
                    async with self.client.pipeline(transaction=False) as pipe:
                        pipe.rpush(upload, piece)
                        pipe.expire(upload, UPLOAD_TTL_SECONDS)
                        await pipe.execute()
                size += len(piece)
            record = make(size)
            evicted = await self._run(
                "PUBLISH_BLOB", project, kind, record_id, orjson.dumps(record), upload, blob, size, self._max_file_bytes
            )
        except BaseException:
            with suppress(Exception):  # Redis gone: the upload's key expires by itself
                await self.client.delete(upload)
            raise
        if evicted == -1:
            raise RuntimeError("the upload's pieces were removed while it streamed (a reset)")
        if evicted > 0 and not self._files_warned:
            self._files_warned = True
            warn_eviction(self._max_file_bytes, "file")
        return record

    async def read_blob(self, project: str, kind: str, record_id: str) -> AsyncIterator[bytes] | None:
        key = await self._run("READ_BLOB", project, kind, record_id)
        return None if key is None else self._pieces(key)

    async def _pieces(self, key: bytes) -> AsyncIterator[bytes]:
        # One piece per round trip: a download holds one piece in memory. A blob deleted meanwhile ends early.
        n = 0
        # The client is made without decode_responses: every answer is bytes, never str.
        while True:
            with reaching(self.url):
                piece = await self.client.lindex(key, n)
            if piece is None:
                return
            yield piece  # type: ignore[misc]
            n += 1

    # -- the whole store

    async def stats(self) -> Stats:
        with reaching(self.url):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zcard(f"{self.prefix}lru")
                pipe.hmget(f"{self.prefix}stat", ["evicted", "file_bytes", "files_evicted"])
                threads, (evicted, file_bytes, files_evicted) = await pipe.execute()
        return {
            "threads": int(threads),
            "max_threads": self._max_threads,
            "evicted": int(evicted or 0),
            "file_bytes": int(file_bytes or 0),
            "max_file_bytes": self._max_file_bytes,
            "files_evicted": int(files_evicted or 0),
        }

    async def clear(self) -> None:
        """Every key of this namespace but the uploads in flight (which end as they would have), in batches."""
        uploads = f"{self.prefix}up:".encode()
        batch: list[bytes] = []
        with reaching(self.url):
            async for key in self.client.scan_iter(match=f"{self.prefix}*", count=1000):
                if not key.startswith(uploads):
                    batch.append(key)
                if len(batch) >= 1000:
                    await self.client.unlink(*batch)
                    batch = []
            if batch:
                await self.client.unlink(*batch)


def cursor_args(query: ListQuery) -> tuple[Any, ...]:
    return (query.order, query.limit, query.after or "", query.before or "")


def page_from(found: list[Any]) -> Page:
    """A script's page, `{has_more, JSON...}`; an item deleted between the ids and their data is left out."""
    return Page([loads(data) for data in found[1:] if data is not None], bool(found[0]))


def redis_store(url: str, max_threads: int, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> RedisStore:
    return RedisStore(url, max_threads, max_file_bytes)


register(
    Backend(
        "redis",
        "redis://HOST:PORT/DB",
        redis_store,
        shared_between_processes=True,
        summary="a Redis or Valkey server shared by every instance and worker (add ?namespace=NAME to share one "
        "server between test sessions)",
    )
)
