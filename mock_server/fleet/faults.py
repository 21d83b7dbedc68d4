"""The fault rules of a fleet: one list of rules in Redis, which every instance reads before it draws (a rule
added through one instance's admin API applies on all from the next request), and the rules' counters kept
there too, moved by one script per request, so that `times=5` means five faults across the fleet and `after`
and `every` count every instance's requests.

Each instance keeps the rules it last read (in its `FaultBook`, for the one compiled match per request) and
reads the list again only when it changed: a request costs one round trip to learn that, and a second one,
the counters' script, only when a rule matches it. Latency and probability are drawn by the instance that
serves the request, from the rule's own random stream.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from ..faults import Decision, FaultBook, FaultRule, rule_data, rule_from_data
from ..faults.book import BookRules as BookRules
from ..faults.book import FaultRules as FaultRules
from ..faults.book import decision_of
from .redis import RedisAccess

# KEYS under the fleet prefix F: F faults:ready (the list was written once), F faults:rules (LIST of
# {"id", "rule"} JSON, in the order rules apply), F faults:next (the last id's number), F faults:counts (HASH
# id:m, id:a: matched and applied).
FETCH = r"""
if redis.call('EXISTS', ARGV[1] .. 'faults:ready') == 0 then return false end
return redis.call('LRANGE', ARGV[1] .. 'faults:rules', 0, -1)
"""

# ARGV: F, '1' to write only when nothing was written yet (else always: a reset), then the start-up rules' JSON.
START = r"""
local F = ARGV[1]
if ARGV[2] == '1' and redis.call('EXISTS', F .. 'faults:ready') == 1 then return 0 end
redis.call('DEL', F .. 'faults:rules', F .. 'faults:counts')
for i = 3, #ARGV do
  redis.call('RPUSH', F .. 'faults:rules', '{"id":"fault_' .. (i - 2) .. '","rule":' .. ARGV[i] .. '}')
end
redis.call('SET', F .. 'faults:next', #ARGV - 2)
redis.call('SET', F .. 'faults:ready', 1)
return 1
"""

# ARGV: F, then rule JSONs. Their ids, in order.
ADD = r"""
local F = ARGV[1]
local ids = {}
for i = 2, #ARGV do
  local id = 'fault_' .. redis.call('INCR', F .. 'faults:next')
  redis.call('RPUSH', F .. 'faults:rules', '{"id":"' .. id .. '","rule":' .. ARGV[i] .. '}')
  ids[#ids + 1] = id
end
redis.call('SET', F .. 'faults:ready', 1)
return ids
"""

# ARGV: F, id. 1 when it was there.
REMOVE = r"""
local F = ARGV[1]
for _, entry in ipairs(redis.call('LRANGE', F .. 'faults:rules', 0, -1)) do
  if cjson.decode(entry).id == ARGV[2] then
    redis.call('LREM', F .. 'faults:rules', 1, entry)
    return 1
  end
end
return 0
"""

CLEAR = r"""
local count = redis.call('LLEN', ARGV[1] .. 'faults:rules')
redis.call('DEL', ARGV[1] .. 'faults:rules')
redis.call('SET', ARGV[1] .. 'faults:ready', 1)
return count
"""

# ARGV: F, then per matching rule: id, after, every or '', times or '', probability or '', a draw in [0, 1).
# As ActiveRule.fires, for the fleet: 1 or 0 per rule.
FIRE = r"""
local counts = ARGV[1] .. 'faults:counts'
local fired = {}
for i = 2, #ARGV, 6 do
  local id = ARGV[i]
  local matched = redis.call('HINCRBY', counts, id .. ':m', 1)
  local eligible = matched - tonumber(ARGV[i + 1])
  local fires = eligible > 0
  if fires and ARGV[i + 2] ~= '' and eligible % tonumber(ARGV[i + 2]) ~= 0 then fires = false end
  if fires and ARGV[i + 3] ~= '' and tonumber(redis.call('HGET', counts, id .. ':a') or '0') >= tonumber(ARGV[i + 3])
  then
    fires = false
  end
  if fires and ARGV[i + 4] ~= '' and tonumber(ARGV[i + 5]) >= tonumber(ARGV[i + 4]) then fires = false end
  if fires then redis.call('HINCRBY', counts, id .. ':a', 1) end
  fired[#fired + 1] = fires and 1 or 0
end
return fired
"""


def encoded(rule: FaultRule) -> bytes:
    data = rule_data(rule)
    del data["id"]
    return orjson.dumps(data)


class SharedFaults:
    def __init__(self, book: FaultBook, redis: RedisAccess) -> None:
        self.book = book
        self.redis = redis
        self._seen: list[bytes] | None = None

    async def sync(self) -> None:
        """The book holds the fleet's rules as they are now: read every request, parsed only when changed."""
        listed = await self.redis.run(FETCH)
        if listed is None:
            await self.redis.run(START, "1", *map(encoded, self.book.startup))
            listed = await self.redis.run(FETCH)
        if listed != self._seen:
            rules = []
            for entry in listed:
                data = orjson.loads(entry)
                rules.append(replace(rule_from_data(data["rule"]), id=data["id"]))
            self.book.adopt(rules)
            self._seen = listed

    async def draw(self, method: str, path: str) -> Decision | None:
        """The fault the fleet's rules give this request (FaultBook.draw, with the counters in Redis)."""
        await self.sync()
        matching = self.book.matching(method, path)
        if not matching:
            return None
        args: list[Any] = []
        for active in matching:
            schedule = active.rule.schedule
            draw = active.rng.random() if schedule.probability is not None else 0.0
            args += [
                active.rule.id,
                schedule.after,
                *(opt(v) for v in (schedule.every, schedule.times)),
                opt(schedule.probability),
                draw,
            ]
        flags = await self.redis.run(FIRE, *args)
        fired = [active for active, flag in zip(matching, flags, strict=True) if flag]
        return decision_of(fired) if fired else None

    # -- the admin API's calls

    async def add(self, rules: list[FaultRule]) -> list[str]:
        await self.sync()  # the start-up rules are written before the first added one
        ids: list[bytes] = await self.redis.run(ADD, *map(encoded, rules))
        await self.sync()
        return [rule_id.decode() for rule_id in ids]

    async def remove(self, rule_id: str) -> bool:
        await self.sync()
        found = bool(await self.redis.run(REMOVE, rule_id))
        await self.sync()
        return found

    async def clear(self) -> int:
        count = int(await self.redis.run(CLEAR))
        await self.sync()
        return count

    async def reset(self) -> None:
        await self.redis.run(START, "0", *map(encoded, self.book.startup))
        await self.sync()

    async def describe(self, rule_id: str | None = None) -> list[dict[str, Any]]:
        await self.sync()
        rules = [rule for rule in self.book.rules() if rule_id is None or rule.id == rule_id]
        if not rules:
            return []
        fields = [f"{rule.id}:{which}" for rule in rules for which in ("m", "a")]
        counts = await self.redis.client.hmget(f"{self.redis.prefix}faults:counts", fields)
        numbers = [int(n or 0) for n in counts]
        return [
            {**rule_data(rule), "matched": numbers[2 * i], "applied": numbers[2 * i + 1]}
            for i, rule in enumerate(rules)
        ]


def opt(value: float | int | None) -> float | int | str:
    return "" if value is None else value
