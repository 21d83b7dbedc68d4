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
    """One request. Headers, query and body are kept raw and decoded only when read."""

    __slots__ = (
        "_body",
        "_fault",
        "_request_id",
        "_started",
        "_state",
        "duration_ms",
        "method",
        "number",
        "path",
        "raw_headers",
        "raw_query",
        "started_at",
        "status",
    )

    def __init__(self, number: int, scope: Scope) -> None:
        self.number = number
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.raw_query: bytes = scope.get("query_string", b"")
        self.raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        self.started_at = time.time()
        self._started = time.perf_counter()
        self._body: list[bytes] = []
        # While the request is in flight, its id and fault are read live from the request's state.
        self._state: dict[str, Any] | None = scope.setdefault("state", {})
        self._request_id: str | None = None
        self._fault: dict[str, Any] | None = None
        self.status: int | None = None
        self.duration_ms: float | None = None

    def finish(self) -> None:
        self._request_id, self._fault = self.request_id, self.fault
        self._state = None
        self.duration_ms = round((time.perf_counter() - self._started) * 1000, 3)

    @property
    def request_id(self) -> str | None:
        return self._request_id if self._state is None else self._state.get("request_id")

    @property
    def fault(self) -> dict[str, Any] | None:
        """The fault applied (source, kind, rules, status, latency_ms), or None."""
        return self._fault if self._state is None else self._state.get("fault")

    def add_body(self, chunk: bytes) -> None:
        self._body.append(chunk)

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
    def raw_body(self) -> bytes:
        return b"".join(self._body)

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


class Journal:
    """The last `size` requests (0 turns the journal off)."""

    def __init__(self, size: int = DEFAULT_SIZE, body_limit: int = 1024 * 1024) -> None:
        if size < 0:
            raise ValueError(f"the journal size must be 0 or more, not {size}")
        self.size = size
        self.body_limit = body_limit
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._count = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def open(self, scope: Scope) -> JournalEntry:
        self._count += 1
        entry = JournalEntry(self._count, scope)
        self._entries.append(entry)
        return entry

    def entries(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Recorded requests, oldest first. `path` takes the fault rules' patterns (`/v1/threads/*`;
        a /v1 path also matches the same path at the root); `limit` keeps the newest N."""
        where = Where(method.upper() if method else None, path or "*")
        found = [
            entry
            for entry in list(self._entries)
            if where.matches(entry.method, entry.path) and (status is None or entry.status == status)
        ]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        self._entries.clear()
        self._count = 0

    def __len__(self) -> int:
        return len(self._entries)


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
        entry = self.journal.open(scope)
        limit = self.journal.body_limit
        kept = 0
        body_done = False

        async def record() -> Message:
            nonlocal kept, body_done
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")[: limit - kept]
                if chunk:
                    entry.add_body(chunk)
                    kept += len(chunk)
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        record.__wrapped__ = receive  # type: ignore[attr-defined]

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                if not body_done:
                    await self.read_unread_body(scope, record)
                # Complete before the client has the whole answer, so that a client reading the
                # journal right after its answer finds the entry complete.
                entry.finish()
            await send(message)

        try:
            await self.app(scope, record, send_recording)
        finally:
            if not entry.completed:  # no answer was sent (a dropped connection, an error)
                entry.finish()

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
