"""Ids, request ids and timestamps: random like the real API's, or reproducible with a seed."""

from __future__ import annotations

import random
import string
import time

ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 24
# With a seed, time is logical: it starts here and moves one second per object created.
SEEDED_EPOCH = 1_717_000_000


class Identity:
    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._ids = random.Random(seed)
        self._requests = random.Random(None if seed is None else seed + 1)
        self._ticks = 0

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{''.join(self._ids.choices(ALPHABET, k=ID_LENGTH))}"

    def request_id(self) -> str:
        return f"req_{self._requests.getrandbits(128):032x}"

    def now(self) -> int:
        if self.seed is None:
            return int(time.time())
        self._ticks += 1
        return SEEDED_EPOCH + self._ticks

    def reset(self) -> None:
        self.__init__(self.seed)  # type: ignore[misc]
