"""The memory budget: the bytes of what clients send that the process may hold, whatever they send.

One budget (`--max-memory`) is shared out once, at start-up, between the three parts that hold client
data: the store (three quarters: past it the least recently used threads go), the journal (an eighth:
past it the oldest entries go) and request bodies being read (an eighth: past it a new body is refused
with a 503 until others finish). Each part counts its own bytes, each object by its encoded size plus
what Python spends to hold it. The interpreter, the libraries and the server's own buffers come on top:
the fixed overhead the README states.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from . import errors

DEFAULT_MAX_MEMORY = 1024**3
UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
# A budget below this cannot hold the journal's and a body's share of one request of the default size.
MIN_MAX_MEMORY = 16 * 1024**2
OFF = "off"


def parse_size(value: Any) -> int | None:
    """Bytes from a number or text such as `256MB`, `1GiB`, `512k` is refused (units are spelled out); `off`
    is no budget (None)."""
    if isinstance(value, str) and value.strip().lower() == OFF:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (found := SIZE.match(value)) and found.group(2).lower() in UNITS:
        size = int(float(found.group(1)) * UNITS[found.group(2).lower()])
    else:
        raise ValueError(f"expected a size such as 1GiB, 256MB, a number of bytes or off, got {value!r}")
    if size < MIN_MAX_MEMORY:
        raise ValueError(f"a memory budget must be at least {MIN_MAX_MEMORY // 1024**2}MiB, got {value!r}")
    return size


@dataclass(frozen=True)
class Shares:
    """Each part's bytes; None for all with no budget (`off`: the parts still count what they hold)."""

    store: int | None
    journal: int | None
    in_flight: int | None

    @classmethod
    def of(cls, limit: int | None) -> Shares:
        if limit is None:
            return cls(None, None, None)
        journal = in_flight = limit // 8
        return cls(limit - journal - in_flight, journal, in_flight)


class InFlight:
    """The bytes of request bodies being read, all requests together, within their share."""

    def __init__(self, limit: int | None) -> None:
        self.limit = sys.maxsize if limit is None else limit
        self.used = 0
        self.refused = 0

    def take(self, size: int) -> None:
        if self.used + size > self.limit:
            self.refused += 1
            raise errors.overloaded()
        self.used += size

    def give_back(self, size: int) -> None:
        self.used -= size
