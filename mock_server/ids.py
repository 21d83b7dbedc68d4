"""Ids, request ids and timestamps: random like the real API's, or reproducible with a seed."""

from __future__ import annotations

import random
import string
import time

ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 24
FILE_ID_LENGTH = 22
# One random byte per id character, folded onto the 62 letters and digits by a translation table: ten
# times faster than random.choices, with a bias (8 of 62 characters a little likelier) no client can see.
_BYTE_TO_CHAR = bytes(ord(ALPHABET[i % len(ALPHABET)]) for i in range(256))
# With a seed, time is logical: it starts here and moves one second per object created.
SEEDED_EPOCH = 1_717_000_000


class Identity:
    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._ids = random.Random(seed)
        self._requests = random.Random(None if seed is None else seed + 1)
        self._ticks = 0

    def _token(self, length: int) -> str:
        return self._ids.randbytes(length).translate(_BYTE_TO_CHAR).decode()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._ids.randbytes(ID_LENGTH).translate(_BYTE_TO_CHAR).decode()}"

    def file_id(self) -> str:
        """`file-` and 22 letters and digits, as files created since 2024-11-23 are named."""
        return f"file-{self._token(FILE_ID_LENGTH)}"

    def hex_id(self, prefix: str, created_at: int) -> str:
        """`vs_` or `vsfb_` and 32 lowercase hex digits, the first 8 of them `created_at`, as 2025 ids are."""
        return f"{prefix}_{created_at & 0xFFFFFFFF:08x}{self._ids.getrandbits(96):024x}"

    def group(self) -> str:
        """16 hex digits that end every id of one conversation or response (and of the items they make)."""
        return f"{self._ids.getrandbits(64):016x}"

    def grouped_id(self, prefix: str, created_at: int, group: str) -> str:
        """`conv_`, `resp_`, `msg_`, `fc_`... and 48 hex digits: 8 of `created_at`, 24 random, then the 16 of the
        group it belongs to, as the real ids of conversations, responses and their items are built."""
        return f"{prefix}_{created_at & 0xFFFFFFFF:08x}{self._ids.getrandbits(96):024x}{group}"

    def padding(self, length: int) -> str:
        """Letters and digits with no meaning: the `obfuscation` a streamed delta carries to blur its size."""
        return self._token(length)

    def request_id(self) -> str:
        return f"req_{self._requests.getrandbits(128):032x}"

    def now(self) -> int:
        if self.seed is None:
            return int(time.time())
        self._ticks += 1
        return SEEDED_EPOCH + self._ticks

    def reset(self) -> None:
        self.__init__(self.seed)  # type: ignore[misc]
