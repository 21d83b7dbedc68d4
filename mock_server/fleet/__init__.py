"""A fleet: several instances (and workers) on one Redis share, beside the store's data, what each process
would otherwise keep for itself: the fault rules and their counters (`faults.py`), the rate-limit buckets
(`ratelimit.py`) and the journal (`journal.py`). Each part is the in-process one's shared twin, reached through
a seam in its middleware (and the admin API), and chosen only when the store is Redis: the memory and SQLite
paths do not change.

Every key lives under the store's namespace (`threads-mock:NAME:fleet:`), so that `reset`, which clears the
namespace, puts the shared parts back to the start too.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..faults import FaultBook
from ..middleware.ratelimit import RateLimit
from ..store.backends.redis import RedisStore
from .faults import SharedFaults
from .journal import SharedJournal
from .ratelimit import SharedBuckets
from .redis import RedisAccess


@dataclass(frozen=True)
class Fleet:
    faults: SharedFaults
    journal: SharedJournal
    namespace: str

    def buckets(self, rate: RateLimit) -> SharedBuckets:
        return SharedBuckets(rate, self.faults.redis)


def fleet_of(store: RedisStore, book: FaultBook, journal_size: int) -> Fleet:
    """The fleet's shared parts on the store's Redis (MockApp calls it through app.fleet_for)."""
    redis = RedisAccess(store, f"{store.prefix}fleet:")
    return Fleet(SharedFaults(book, redis), SharedJournal(redis, journal_size), store.namespace)
