"""The request journal: every API request the mock receives and what it answered, newest last, bounded.

Python API (the admin API's GET /__mock__/requests and the pytest plugin read the same):

    journal = app.journal
    journal.entries(method="POST", path="/v1/threads", status=429)   # JournalEntry objects, oldest first
    journal.entries()[-1].to_dict()    # method, path, query, headers, body, status, fault, timing, response
    journal.entries(after=41)          # only the requests numbered after 41: a poller's cursor
    journal.clear()

`middleware.journal.RequestJournal` fills it; it is outermost, so it sees every request, the ones refused
by auth, the rate limit or a fault included, with the final status. The admin API's own requests are not
recorded.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple

import orjson
from starlette.types import Message, Receive, Scope

from .faults.model import Where

DEFAULT_SIZE = 10_000
# A body up to this size is kept whole; of a larger one, this much, with its full size beside it.
BODY_KEPT = 64 * 1024
# What an entry costs beyond its body, headers and query: the tuple, its numbers and strings.
ENTRY_COST = 400
# Of a multipart body (an upload) the journal keeps the start: the form fields a client sends before the file,
# the file part's headers and its first bytes. The whole file is the store's; a second copy of every upload in
# the journal would double what uploads cost.
UPLOAD_KEPT = 4096
# What one header of an answer costs, counted as a whole: the answers' headers are the mock's own (names up to
# 30 bytes, values of a few dozen), kept as the server sent them, so that counting them adds no walk.
RESPONSE_HEADER_COST = 120
# Header names and values joined by NUL, which HTTP allows in neither: one object instead of two a header.
SEPARATOR = b"\0"
METHODS = {method: method for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}
PackedHeaders = bytes | tuple[bytes, ...]


def header_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        found[key] = f"{found[key]}, {text}" if key in found else text
    return found


def pack_headers(headers: list[tuple[bytes, bytes]]) -> PackedHeaders:
    packed = SEPARATOR.join(itertools.chain.from_iterable(headers))
    if packed.count(SEPARATOR) == 2 * len(headers) - 1:
        return packed
    # No header, or a NUL let through by the server: kept apart instead.
    return tuple(itertools.chain.from_iterable(headers))


def unpack_headers(packed: PackedHeaders) -> list[tuple[bytes, bytes]]:
    parts = packed.split(SEPARATOR) if isinstance(packed, bytes) else packed
    return list(zip(parts[::2], parts[1::2], strict=True))


def entry_size(fields: tuple[Any, ...]) -> int:
    """The bytes the journal counts for an entry's fields (a JournalEntry or its plain tuple)."""
    request = len(fields[5]) + packed_size(fields[10]) + len(fields[3])
    return ENTRY_COST + request + RESPONSE_HEADER_COST * len(fields[12]) + len(fields[13])


def packed_size(headers: PackedHeaders) -> int:
    return len(headers) if isinstance(headers, bytes) else sum(map(len, headers))


def shown(raw: bytes, size: int, verb: str) -> Any:
    """A body as JSON; text if it is not JSON (an event stream); None if there was none. One larger than what
    was kept is its first part as text, with a mark that says how large it was."""
    if not raw:
        return None
    if size > len(raw):
        return raw.decode("utf-8", "ignore") + f"… [cut: {size} bytes {verb}, {len(raw)} kept]"
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


class JournalEntry(NamedTuple):
    """One request and what it answered. Headers, query and body are kept raw and decoded on access."""

    number: int
    method: str
    path: str
    raw_query: bytes
    started_at: float
    raw_body: bytes
    status: int | None
    request_id: str | None
    fault: dict[str, Any] | None
    duration: float | None  # seconds, None while the request is in flight
    packed_headers: PackedHeaders
    body_size: int  # of the whole body; more than len(raw_body) when it was cut to BODY_KEPT
    # The answer as the client got it (the headers the mock added included), its body cut as the request's is.
    raw_response_headers: tuple[tuple[bytes, bytes], ...] = ()
    raw_response_body: bytes = b""
    response_body_size: int = 0

    @property
    def body_cut(self) -> bool:
        return self.body_size > len(self.raw_body)

    @property
    def size(self) -> int:
        """The bytes the journal counts for the entry."""
        return entry_size(self)

    @property
    def completed(self) -> bool:
        return self.duration is not None

    @property
    def duration_ms(self) -> float | None:
        return None if self.duration is None else round(self.duration * 1000, 3)

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return unpack_headers(self.packed_headers)

    @property
    def headers(self) -> dict[str, str]:
        return header_dict(self.raw_headers)

    @property
    def query(self) -> str:
        return self.raw_query.decode("latin-1")

    @property
    def body(self) -> Any:
        """The body parsed as JSON; text if it is not JSON; None if there was none. A body larger than
        BODY_KEPT is its first part as text, with a mark that says how large it was."""
        return shown(self.raw_body, self.body_size, "received")

    @property
    def response_headers(self) -> dict[str, str]:
        return header_dict(list(self.raw_response_headers))

    @property
    def response_body(self) -> Any:
        """The answer's body, read as `body` reads the request's."""
        return shown(self.raw_response_body, self.response_body_size, "sent")

    @property
    def json(self) -> Any:
        """The body, as `body` reads it (the name tests written for respx and WireMock reach for)."""
        return self.body

    def to_dict(self) -> dict[str, Any]:
        """The entry as the admin API shows it."""
        return {
            "id": self.number,
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "body_size": self.body_size,
            "status": self.status,
            "fault": self.fault,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "completed": self.completed,
            "response": {
                "headers": self.response_headers,
                "body": self.response_body,
                "body_size": self.response_body_size,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JournalEntry:
        """An entry back from the admin API's JSON (what a test handle reads over HTTP)."""
        raw_body = raw_of(data.get("body"))
        response = data.get("response") or {}
        raw_response = raw_of(response.get("body"))
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (data.get("headers") or {}).items()]
        duration_ms = data.get("duration_ms")
        return cls(
            number=data.get("id", 0),
            method=data["method"],
            path=data["path"],
            raw_query=str(data.get("query", "")).encode("latin-1"),
            started_at=data.get("started_at", 0.0),
            raw_body=raw_body,
            status=data.get("status"),
            request_id=data.get("request_id"),
            fault=data.get("fault"),
            duration=None if duration_ms is None else duration_ms / 1000,
            packed_headers=pack_headers(headers),
            body_size=data.get("body_size", len(raw_body)),
            raw_response_headers=tuple(
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in (response.get("headers") or {}).items()
            ),
            raw_response_body=raw_response,
            response_body_size=response.get("body_size", len(raw_response)),
        )

    def __str__(self) -> str:
        body = "" if self.body is None else " " + json.dumps(self.body)[:300]
        fault = f" fault={self.fault}" if self.fault else ""
        query = f"?{self.query}" if self.query else ""
        return f"{self.method} {self.path}{query} -> {self.status}{fault}{body}"


def raw_of(body: Any) -> bytes:
    return b"" if body is None else body.encode() if isinstance(body, str) else orjson.dumps(body)


def filtered(
    entries: Iterable[JournalEntry], method: str | None, path: str | None, status: int | None, limit: int | None
) -> list[JournalEntry]:
    """The entries a journal's reader asked for: `path` takes the fault rules' patterns; `limit` keeps the newest."""
    where = Where(method.upper() if method else None, path or "*")
    found = [e for e in entries if where.matches(e.method, e.path) and (status is None or e.status == status)]
    return found[-limit:] if limit else found


def is_multipart(scope: Scope) -> bool:
    return any(name == b"content-type" and value[:10].lower() == b"multipart/" for name, value in scope["headers"])


class Recording:
    """A request in flight: what the middleware learns of it until its answer is sent. Its `receive` is the
    app's, recording the body as the app reads it; `__wrapped__` is the server's, which it wraps."""

    __slots__ = (
        "__wrapped__",
        "_answer",
        "_answer_size",
        "_body",
        "_kept",
        "_limit",
        "_scope",
        "_size",
        "_started",
        "body_done",
        "number",
        "response_headers",
        "started_at",
        "status",
    )

    def __init__(self, number: int, scope: Scope, receive: Receive, body_kept: int) -> None:
        self.number = number
        self._scope = scope
        # The request id and the fault are set by inner middleware in the request's state.
        scope.setdefault("state", {})
        self.started_at = time.time()
        self._started = time.perf_counter()
        self._body: list[bytes] = []
        self._kept = 0
        self._size = 0
        self._limit = body_kept
        self.__wrapped__ = receive
        self.body_done = False
        self.status: int | None = None
        self.response_headers: list[tuple[bytes, bytes]] = []
        self._answer: list[bytes] = []
        self._answer_size = 0

    async def receive(self) -> Message:
        message = await self.__wrapped__()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            self._size += len(body)
            if self._kept + len(body) > UPLOAD_KEPT and self._limit > UPLOAD_KEPT and is_multipart(self._scope):
                # Looked at only for a body past the upload's share: the headers walk stays off small requests.
                self._limit = UPLOAD_KEPT
            chunk = body[: self._limit - self._kept]
            if chunk:
                self._body.append(chunk)
                self._kept += len(chunk)
            self.body_done = not message.get("more_body", False)
        else:
            self.body_done = True
        return message

    def answered(self, body: bytes) -> None:
        """A piece of the answer's body, as it is sent: kept up to the same share as the request's."""
        before = self._answer_size
        self._answer_size = before + len(body)
        if before < self._limit:
            self._answer.append(body if self._answer_size <= self._limit else body[: self._limit - before])

    def fields(self, finished: bool) -> tuple[Any, ...]:
        """The entry as the plain tuple the journal keeps (JournalEntry's fields, in order)."""
        scope = self._scope
        state = scope["state"]
        return (
            self.number,
            METHODS.get(scope["method"]) or scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            self.started_at,
            b"".join(self._body),
            self.status,
            state.get("request_id"),
            state.get("fault"),
            time.perf_counter() - self._started if finished else None,
            pack_headers(scope["headers"]),
            self._size,
            tuple(self.response_headers),
            b"".join(self._answer),
            self._answer_size,
        )

    def entry(self, finished: bool) -> JournalEntry:
        return JournalEntry._make(self.fields(finished))


class Journal:
    """The last `size` requests (0 turns the journal off), finished ones and those in flight.

    A finished entry is kept as a plain tuple of its fields: a tuple of strings, bytes and numbers, which
    the garbage collector stops tracking at its first look (it does so for exact tuples only, not for a
    NamedTuple). Ten thousand entries held as objects made every young collection walk them, and those
    pauses were the mock's p99; a dozen small objects per entry, freed oldest first, also scattered the
    allocator's free blocks and slowed every request down by a tenth."""

    def __init__(
        self,
        size: int = DEFAULT_SIZE,
        body_limit: int = 1024 * 1024,
        *,
        body_kept: int = BODY_KEPT,
        max_bytes: int | None = None,
    ) -> None:
        """`body_limit`: the largest body the server reads (a refused request's unread body up to it is read
        for the journal); `body_kept`: the part of a body kept; `max_bytes`: the journal's share of the
        memory budget, past which the oldest entries go."""
        if size < 0:
            raise ValueError(f"the journal size must be 0 or more, not {size}")
        self.size = size
        self.body_limit = body_limit
        self.body_kept = body_kept
        self.max_bytes = max_bytes
        self._bytes_limit = sys.maxsize if max_bytes is None else max_bytes
        self._kept_limit = min(body_kept, body_limit)
        self._done: deque[tuple[Any, ...]] = deque()
        self._sizes: deque[int] = deque()
        self.bytes = 0
        self._open: dict[int, Recording] = {}
        self._count = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def open(self, scope: Scope, receive: Receive) -> Recording:
        self._count += 1
        recording = Recording(self._count, scope, receive, self._kept_limit)
        self._open[recording.number] = recording
        return recording

    def close(self, recording: Recording) -> None:
        # A request still in flight when the journal was cleared stays out of it.
        if self._open.get(recording.number) is recording:
            del self._open[recording.number]
            fields = recording.fields(finished=True)
            size = entry_size(fields)
            self._done.append(fields)
            self._sizes.append(size)
            self.bytes += size
            while len(self._done) > self.size or self.bytes > self._bytes_limit:
                self._done.popleft()
                self.bytes -= self._sizes.popleft()

    def entries(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        limit: int | None = None,
        after: int | None = None,
    ) -> list[JournalEntry]:
        """Recorded requests, oldest first, in flight ones included. `path` takes the fault rules' patterns
        (`/v1/threads/*`; a /v1 path also matches the same path at the root); `limit` keeps the newest N;
        `after` only those numbered after it (a cursor: each request gets the next number, and a reader that
        polls with it is handed only what is new, at the cost of a comparison per entry it skips)."""
        first = 0 if after is None else after
        done = (JournalEntry._make(fields) for fields in self._done if fields[0] > first)
        in_flight = (r.entry(finished=False) for r in list(self._open.values()) if r.number > first)
        everything = sorted([*done, *in_flight])
        return filtered(everything[-self.size :] if self.size else [], method, path, status, limit)

    def clear(self) -> None:
        self._done.clear()
        self._sizes.clear()
        self.bytes = 0
        self._open.clear()
        self._count = 0

    def __len__(self) -> int:
        return min(len(self._done) + len(self._open), self.size)
