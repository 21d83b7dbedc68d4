"""The request journal: every API request the mock receives and what it answered, newest last, bounded.

Python API (the admin API's GET /__mock__/requests and the pytest plugin read the same):

    journal = app.state.journal
    journal.entries(method="POST", path="/v1/threads", status=429)   # JournalEntry objects, oldest first
    journal.entries()[-1].to_dict()    # method, path, query, headers, body, status, fault, timing
    journal.clear()

The middleware is outermost, so it sees every request, the ones refused by auth, the rate limit or a
fault included, with the final status. The admin API's own requests are not recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..faults import Where

DEFAULT_SIZE = 10_000
UNREAD_BODY_WAIT = 0.25
ADMIN_PREFIX = "/__mock__"


class JournalEntry:
    """One request as read from the journal. Headers, query and body are kept raw and decoded on access."""

    __slots__ = (
        "duration_ms",
        "fault",
        "method",
        "number",
        "path",
        "raw_body",
        "raw_headers",
        "raw_query",
        "request_id",
        "started_at",
        "status",
    )
    number: int
    method: str
    path: str
    raw_query: bytes
    started_at: float
    raw_body: bytes
    status: int | None
    request_id: str | None
    fault: dict[str, Any] | None
    duration_ms: float | None

    def __init__(self, record: Record) -> None:
        (
            self.number,
            self.method,
            self.path,
            self.raw_query,
            self.started_at,
            self.raw_body,
            self.status,
            self.request_id,
            self.fault,
            duration,
            headers,
        ) = record
        self.duration_ms = None if duration is None else round(duration * 1000, 3)
        self.raw_headers: list[tuple[bytes, bytes]] = unpack_headers(headers)

    @property
    def completed(self) -> bool:
        return self.duration_ms is not None

    @property
    def headers(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for name, value in self.raw_headers:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            found[key] = f"{found[key]}, {text}" if key in found else text
        return found

    @property
    def query(self) -> str:
        return self.raw_query.decode("latin-1")

    @property
    def body(self) -> Any:
        """The body parsed as JSON; text if it is not JSON; None if there was none."""
        raw = self.raw_body
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw.decode("utf-8", "replace")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.number,
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "fault": self.fault,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "completed": self.completed,
        }

    def __repr__(self) -> str:
        return f"<JournalEntry {self.number} {self.method} {self.path} -> {self.status}>"


# number, method, path, query, started_at, body, status, request_id, fault, duration (s), headers.
# A tuple of strings, bytes and numbers, which the collector stops tracking at its first look: ten thousand
# entries held as objects made every young collection walk them, and those pauses were the mock's p99. And
# few objects: a dozen small ones per entry, freed oldest first, scattered the allocator's free blocks and
# slowed every request down by a tenth.
Record = tuple[Any, ...]
# Header names and values joined by NUL, which HTTP allows in neither: one object instead of two a header.
SEPARATOR = b"\0"
METHODS = {method: method for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}


def pack_headers(headers: list[tuple[bytes, bytes]]) -> bytes | tuple[bytes, ...]:
    packed = SEPARATOR.join(itertools.chain.from_iterable(headers))
    if packed.count(SEPARATOR) == 2 * len(headers) - 1:
        return packed
    # No header, or a NUL let through by the server: kept apart instead.
    return tuple(itertools.chain.from_iterable(headers))


def unpack_headers(packed: bytes | tuple[bytes, ...]) -> list[tuple[bytes, bytes]]:
    parts = packed.split(SEPARATOR) if isinstance(packed, bytes) else packed
    return list(zip(parts[::2], parts[1::2], strict=True))


class Recording:
    """A request in flight: what the middleware learns of it until its answer is sent. Its `receive` is the
    app's, recording the body as the app reads it; `__wrapped__` is the server's, which it wraps."""

    __slots__ = (
        "__wrapped__",
        "_body",
        "_kept",
        "_limit",
        "_scope",
        "_started",
        "body_done",
        "number",
        "started_at",
        "status",
    )

    def __init__(self, number: int, scope: Scope, receive: Receive, body_limit: int) -> None:
        self.number = number
        self._scope = scope
        # The request id and the fault are set by inner middleware in the request's state.
        scope.setdefault("state", {})
        self.started_at = time.time()
        self._started = time.perf_counter()
        self._body: list[bytes] = []
        self._kept = 0
        self._limit = body_limit
        self.__wrapped__ = receive
        self.body_done = False
        self.status: int | None = None

    async def receive(self) -> Message:
        message = await self.__wrapped__()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")[: self._limit - self._kept]
            if chunk:
                self._body.append(chunk)
                self._kept += len(chunk)
            self.body_done = not message.get("more_body", False)
        else:
            self.body_done = True
        return message

    def record(self, finished: bool) -> Record:
        scope = self._scope
        state = scope["state"]
        return (
            self.number,
            METHODS.get(scope["method"], scope["method"]),
            scope["path"],
            scope.get("query_string", b""),
            self.started_at,
            b"".join(self._body),
            self.status,
            state.get("request_id"),
            state.get("fault"),
            time.perf_counter() - self._started if finished else None,
            pack_headers(scope["headers"]),
        )


class Journal:
    """The last `size` requests (0 turns the journal off): finished ones as `Record`s, those in flight as
    `Recording`s; `entries()` reads both as `JournalEntry` objects."""

    def __init__(self, size: int = DEFAULT_SIZE, body_limit: int = 1024 * 1024) -> None:
        if size < 0:
            raise ValueError(f"the journal size must be 0 or more, not {size}")
        self.size = size
        self.body_limit = body_limit
        self._done: deque[Record] = deque(maxlen=size)
        self._open: dict[int, Recording] = {}
        self._count = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def open(self, scope: Scope, receive: Receive) -> Recording:
        self._count += 1
        recording = Recording(self._count, scope, receive, self.body_limit)
        self._open[recording.number] = recording
        return recording

    def close(self, recording: Recording) -> None:
        # A request still in flight when the journal was cleared stays out of it.
        if self._open.get(recording.number) is recording:
            del self._open[recording.number]
            self._done.append(recording.record(finished=True))

    def entries(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Recorded requests, oldest first, in flight ones included. `path` takes the fault rules' patterns
        (`/v1/threads/*`; a /v1 path also matches the same path at the root); `limit` keeps the newest N."""
        where = Where(method.upper() if method else None, path or "*")
        records = sorted([*self._done, *(r.record(finished=False) for r in list(self._open.values()))])
        kept = (JournalEntry(record) for record in (records[-self.size :] if self.size else []))
        found = [e for e in kept if where.matches(e.method, e.path) and (status is None or e.status == status)]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        self._done.clear()
        self._open.clear()
        self._count = 0

    def __len__(self) -> int:
        return min(len(self._done) + len(self._open), self.size)


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class RequestJournal:
    """Pure ASGI, outermost. The body is recorded as the app reads it; a body the app never read (a
    request refused by auth, the rate limit or a fault) is read once the answer is sent, so that the
    journal still shows what the client sent, without delaying the answer."""

    def __init__(self, app: ASGIApp, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        entry = self.journal.open(scope, receive)

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                if not entry.body_done:
                    await self.read_unread_body(scope, entry.receive)
                # Complete before the client has the whole answer, so that a client reading the
                # journal right after its answer finds the entry complete.
                self.journal.close(entry)
            await send(message)

        try:
            await self.app(scope, entry.receive, send_recording)
        finally:
            self.journal.close(entry)  # when no answer was sent (a dropped connection, an error)

    async def read_unread_body(self, scope: Scope, record: Receive) -> None:
        length = declared_length(scope)
        if not length or length > self.journal.body_limit:
            return
        # The body of a refused request has normally arrived with its headers; a client that holds it
        # back does not hold back its answer for long.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(UNREAD_BODY_WAIT):
                while (await record()).get("more_body", False):
                    pass
