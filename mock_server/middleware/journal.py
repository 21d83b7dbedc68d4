"""Outermost, pure ASGI: fills the request journal (`mock_server.journal`) with every request and its answer."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..journal import Journal

UNREAD_BODY_WAIT = 0.25
ADMIN_PREFIX = "/__mock__"


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
                entry.response_headers = message.get("headers") or []
            elif message["type"] == "http.response.body":
                if body := message.get("body"):
                    entry.answered(body)
                if not message.get("more_body", False):
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
