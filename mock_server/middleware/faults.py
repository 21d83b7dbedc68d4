"""Produces each request's fault: the one its X-Mock-Fault header asks for, else the fault book's.

Pure ASGI, innermost (after auth and the rate limit), so that a fault answer still carries the request
id, the OpenAI headers and the rate-limit headers. Each kind produces its own answer
(`mock_server.faults.kinds`); every wait is an asyncio sleep, so a request that hangs or dribbles never
holds up another.
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from .. import errors
from ..faults import KINDS, Decision, FaultBook, FaultSyntaxError
from .auth import OPEN_PATHS
from .ratelimit import NOMINAL, RateLimit

HEADER = b"x-mock-fault"


async def sleep_at_least(seconds: float) -> None:
    """`asyncio.sleep`, held to the real clock: uvloop counts a timer from the loop's millisecond time, cached as
    the loop step began, so a plain sleep of 100 ms could end a few microseconds short of 100 ms."""
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(left)


class FaultInjector:
    def __init__(self, app: ASGIApp, book: FaultBook, rate_limit: RateLimit | None = None) -> None:
        self.app = app
        self.book = book
        self.rate_limit = rate_limit or NOMINAL

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        decision = self.decide(scope) if scope["type"] == "http" else None
        if decision is None:
            await self.app(scope, receive, send)
            return
        await self.faulted(decision, scope, receive, send)

    async def faulted(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> None:
        """The request with its fault: the delay, then the outcome's answer (or the app's, for a delay alone)."""
        scope["state"]["fault"] = decision.describe()
        if decision.delay > 0:
            await sleep_at_least(decision.delay)
        outcome = None if decision.spec is None else decision.spec.outcome
        if outcome is None:
            await self.app(scope, receive, send)
        else:
            await outcome.answer(self.app, scope, receive, send, self.rate_limit)

    def decide(self, scope: Scope) -> Decision | None:
        path: str = scope["path"]
        if path.startswith(OPEN_PATHS):
            return None
        for name, value in scope["headers"]:
            if name == HEADER:
                try:
                    return self.book.from_header(value)
                except FaultSyntaxError as error:
                    raise errors.invalid_fault_header(str(error), KINDS.examples()) from None
        return self.book.draw(scope["method"], path)
