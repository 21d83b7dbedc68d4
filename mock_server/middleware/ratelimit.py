"""Rate limits per API key (`--rate-limit 60/min`): a token bucket, the real 429 and x-ratelimit-* headers."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import errors
from ..faults.durations import go_duration

# unit -> (seconds, how the real API names the window in its 429 message)
WINDOWS: dict[str, tuple[float, str]] = {
    "s": (1.0, "requests per sec (RPS)"),
    "min": (60.0, "requests per min (RPM)"),
    "h": (3600.0, "requests per hour (RPH)"),
    "d": (86400.0, "requests per day (RPD)"),
}
UNIT_NAMES = {
    "s": "s", "sec": "s", "second": "s",
    "m": "min", "min": "min", "minute": "min",
    "h": "h", "hour": "h",
    "d": "d", "day": "d",
}  # fmt: skip
RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class RateLimit:
    """`limit` requests per `unit` (s, min, h or d)."""

    limit: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        found = RATE.match(text.lower())
        unit = UNIT_NAMES.get(found.group(2)) if found else None
        if found is None or unit is None or int(found.group(1)) < 1:
            raise ValueError(f"a rate limit is like 60/min, 5/s, 1000/h or 10000/d, not {text!r}")
        return cls(int(found.group(1)), unit)

    @property
    def period(self) -> float:
        return WINDOWS[self.unit][0]

    @property
    def window(self) -> str:
        return WINDOWS[self.unit][1]

    def text(self) -> str:
        return f"{self.limit}/{self.unit}"


NOMINAL = RateLimit(60, "min")


@dataclass(frozen=True, slots=True)
class Grant:
    allowed: bool
    remaining: int
    used: int
    reset_in: float  # until the bucket is full again
    retry_in: float  # until one more request is allowed (0 when allowed)


class TokenBuckets:
    """One bucket per API key: `limit` tokens, refilled continuously over the period."""

    # A fleet's buckets (mock_server/fleet/ratelimit.py) are shared through Redis: `await take_shared(key)`.
    shared = False

    def __init__(self, rate: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._per_second = rate.limit / rate.period
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> Grant:
        now = self.clock()
        capacity = float(self.rate.limit)
        with self._lock:
            tokens, then = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - then) * self._per_second)
            allowed = tokens >= 1.0
            used = self.rate.limit - math.floor(tokens)
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
        return Grant(
            allowed=allowed,
            remaining=math.floor(tokens),
            used=used,
            reset_in=(capacity - tokens) / self._per_second,
            retry_in=0.0 if allowed else (1.0 - tokens) / self._per_second,
        )

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()

    async def take_shared(self, key: str) -> Grant:
        raise NotImplementedError("only a fleet's buckets are shared")


class RateLimiter:
    """Pure ASGI, after auth (the key is the caller's project). Every answer to a limited key carries the
    x-ratelimit-*-requests headers, errors raised further in included."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets
        self.shared = buckets.shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        project = scope["state"].get("project") if scope["type"] == "http" else None
        if project is None:
            await self.app(scope, receive, send)
            return
        grant = await self.buckets.take_shared(project) if self.shared else self.buckets.take(project)
        headers = {
            "x-ratelimit-limit-requests": str(self.buckets.rate.limit),
            "x-ratelimit-remaining-requests": str(grant.remaining),
            "x-ratelimit-reset-requests": go_duration(grant.reset_in),
        }
        if not grant.allowed:
            rate = self.buckets.rate
            retry_after = {"retry-after": str(max(1, math.ceil(grant.retry_in)))}
            raise errors.rate_limit_reached(
                rate.limit, grant.used, rate.window, go_duration(grant.retry_in), {**headers, **retry_after}
            )
        raw = [(name.encode(), value.encode()) for name, value in headers.items()]

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *raw]
            await send(message)

        try:
            await self.app(scope, receive, send_with_limits)
        except errors.APIError as error:
            error.headers = {**headers, **error.headers}
            raise
