"""The pace of a run's answer: how long after it begins the first delta arrives, and how many follow per second.

A pace is set per request (the `X-Mock-Pace` header), per reply rule (`first_delta_ms`, `deltas_per_second`)
or for the server (`--pace`), the first of those given winning. In text it is a preset name or
`first_delta_ms=N,deltas_per_second=N` (either key may be left out, `;` separates as well as `,`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

HEADER = b"x-mock-pace"
KEYS = ("first_delta_ms", "deltas_per_second")
# The longest wait a pace may ask for, as a reply rule's `seconds` may: a client test never needs more.
MAX_FIRST_DELTA_MS = 3_600_000
MAX_DELTAS_PER_SECOND = 10_000


@dataclass(frozen=True)
class Pace:
    """`first_delta`: seconds from the answer's start (its message created) to its first delta;
    `per_second`: deltas a second after that, 0 for all at once."""

    first_delta: float = 0.0
    per_second: float = 0.0

    @classmethod
    def parse(cls, text: str, base: Pace | None = None) -> Self:
        """From a preset name or `key=value` items (keys left out keep `base`'s value); ValueError says what
        is wrong."""
        text = text.strip()
        if text.lower() in PRESETS:
            preset = PRESETS[text.lower()]
            return cls(preset.first_delta, preset.per_second)
        values: dict[str, Any] = {}
        for item in text.replace(";", ",").split(","):
            if not item.strip():
                continue
            key, separator, value = (part.strip() for part in item.partition("="))
            if not separator:
                raise ValueError(f"{key!r} is neither a preset ({' or '.join(PRESETS)}) nor key=value")
            try:
                values[key] = float(value)
            except ValueError:
                raise ValueError(f"{key} must be a number, got {value!r}") from None
        if not values:
            raise ValueError("a pace is a preset or first_delta_ms=N,deltas_per_second=N")
        return cls.from_data(values, base)

    @classmethod
    def from_data(cls, values: Mapping[str, Any], base: Pace | None = None) -> Self:
        """From the keys of a reply rule (numbers); keys left out keep `base`'s value."""
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise ValueError(f"unknown pace key {unknown[0]!r}; known: {', '.join(KEYS)}")
        first_ms = number(values, "first_delta_ms", MAX_FIRST_DELTA_MS)
        per_second = number(values, "deltas_per_second", MAX_DELTAS_PER_SECOND)
        base = base or INSTANT
        return cls(
            base.first_delta if first_ms is None else first_ms / 1000,
            base.per_second if per_second is None else per_second,
        )

    def data(self) -> dict[str, float]:
        return {"first_delta_ms": round(self.first_delta * 1000, 3), "deltas_per_second": self.per_second}

    def text(self) -> str:
        for name, preset in PRESETS.items():
            if preset == self:
                return name
        return ",".join(f"{key}={value:g}" for key, value in self.data().items())

    def due(self, first_at: float, total: int, now: float) -> int:
        """How many of `total` deltas whose first is due at `first_at` are due at `now`."""
        if now < first_at:
            return 0
        if self.per_second <= 0:
            return total
        return min(total, 1 + math.floor((now - first_at) * self.per_second))

    def due_at(self, first_at: float, index: int) -> float:
        """When delta number `index` (from 0) is due."""
        return first_at if self.per_second <= 0 else first_at + index / self.per_second


def number(values: Mapping[str, Any], key: str, maximum: float) -> float | None:
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= maximum:
        raise ValueError(f"'{key}' must be a number from 0 to {maximum:,}")
    return float(value)


INSTANT = Pace()
# From published measurements of GPT-4o-class models behind the Assistants API (time to first token about
# 0.5-1 s, 50-100 tokens a second, a word a delta being 1-2 tokens): not recorded by us.
REALISTIC = Pace(first_delta=0.7, per_second=40.0)
PRESETS: dict[str, Pace] = {"instant": INSTANT, "realistic": REALISTIC}
EXAMPLE = "first_delta_ms=500,deltas_per_second=20"


def pace_setting(value: Any) -> str:
    """The settings table's reader: the text as given, once it reads as a pace."""
    if isinstance(value, Pace):
        return value.text()
    if not isinstance(value, str):
        raise ValueError(f"expected a pace such as 'realistic' or '{EXAMPLE}', got {value!r}")
    Pace.parse(value)
    return value
