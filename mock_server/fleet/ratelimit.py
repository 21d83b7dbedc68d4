"""The rate limit of a fleet: one token bucket per API key in Redis, taken from by one script per request,
on Redis's clock (the instances' clocks need not agree), so that 60/min means 60 a minute across the fleet."""

from __future__ import annotations

import math

from ..middleware.ratelimit import Grant, RateLimit, TokenBuckets
from .redis import RedisAccess

# ARGV: F, key, capacity, tokens per second, seconds the bucket is kept unused (then it is full again anyway).
# {allowed, tokens left (text: Lua numbers would be cut to integers), used}
TAKE = r"""
local key = ARGV[1] .. 'rate:' .. ARGV[2]
local capacity, per_second = tonumber(ARGV[3]), tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local held = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(held[1]) or capacity
local at = tonumber(held[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_second)
local used = capacity - math.floor(tokens)
local allowed = tokens >= 1
if allowed then tokens = tokens - 1 end
redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
redis.call('EXPIRE', key, math.ceil(ARGV[5]))
return {allowed and 1 or 0, string.format('%.17g', tokens), used}
"""


class SharedBuckets(TokenBuckets):
    shared = True

    def __init__(self, rate: RateLimit, redis: RedisAccess) -> None:
        super().__init__(rate)
        self.redis = redis

    async def take_shared(self, key: str) -> Grant:
        per_second = self._per_second
        allowed, left, used = await self.redis.run(TAKE, key, self.rate.limit, per_second, self.rate.period)
        tokens = float(left)
        return Grant(
            allowed=bool(allowed),
            remaining=math.floor(tokens),
            used=int(used),
            reset_in=(self.rate.limit - tokens) / per_second,
            retry_in=0.0 if allowed else (1.0 - tokens) / per_second,
        )

    def clear(self) -> None:
        """Nothing here: the buckets are keys of the namespace, which the reset clears with the store."""
