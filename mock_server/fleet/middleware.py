"""The fleet's twins of two middleware, chosen by `MockApp` when the store is Redis, so that the in-process
classes stay as they were (the memory store's path pays nothing for the fleet):

- `SharedFaultInjector`: the header's fault as one instance decides it; the rules' from the fleet's list and
  counters in Redis (`SharedFaults.draw`), awaited;
- `SharedRequestJournal`: the in-process journal as before, and each completed entry appended to the fleet's
  journal before the client has the end of its answer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..faults import Decision, FaultBook
from ..journal import Journal, Recording
from ..middleware.auth import OPEN_PATHS
from ..middleware.faults import HEADER, FaultInjector
from ..middleware.journal import ADMIN_PREFIX, RequestJournal
from ..middleware.ratelimit import RateLimit
from .faults import SharedFaults
from .journal import SharedJournal

# What `decide` answers when the rules decide: the fleet's draw, which needs an await.
DRAW = Decision("rules", None, 0.0)


class SharedFaultInjector(FaultInjector):
    def __init__(
        self, app: ASGIApp, book: FaultBook, shared: SharedFaults, rate_limit: RateLimit | None = None
    ) -> None:
        super().__init__(app, book, rate_limit)
        self.shared = shared

    def decide(self, scope: Scope) -> Decision | None:
        if any(name == HEADER for name, _ in scope["headers"]):
            return super().decide(scope)
        return None if scope["path"].startswith(OPEN_PATHS) else DRAW

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        decision = self.decide(scope) if scope["type"] == "http" else None
        if decision is DRAW:
            decision = await self.shared.draw(scope["method"], scope["path"])
        if decision is None:
            await self.app(scope, receive, send)
        else:
            await self.faulted(decision, scope, receive, send)


class RecordingJournal(Journal):
    """The in-process journal, which also says which entry its last `close` completed."""

    just_closed: Recording | None = None

    def close(self, recording: Recording) -> None:
        if self._open.get(recording.number) is recording:
            self.just_closed = recording
        super().close(recording)


class SharedRequestJournal(RequestJournal):
    def __init__(self, app: ASGIApp, journal: RecordingJournal, shared: SharedJournal) -> None:
        super().__init__(app, journal)
        self.recording = journal
        self.shared = shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        journal = self.recording

        async def send_shared(message: Message) -> None:
            # The base completes the entry just before it hands on the last body message, with no await in
            # between: the entry `just_closed` names is this request's.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await self.take(journal)
            await send(message)

        try:
            await super().__call__(scope, receive, send_shared)
        finally:
            await self.take(journal)  # completed without an answer (a dropped connection, an error)

    async def take(self, journal: RecordingJournal) -> None:
        recording, journal.just_closed = journal.just_closed, None
        if recording is not None:
            await self.shared.append(recording)
