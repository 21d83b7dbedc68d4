"""The fault model: what goes wrong (`FaultSpec`), where (`Where`), how often (`Schedule`), as one `FaultRule`.

Values here are already checked; `grammar` turns text and data into them and back. The outcomes
themselves are the kinds of `kinds`.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ..paths import api_path, path_regex
from .durations import short

if TYPE_CHECKING:
    from .registry import Outcome


@dataclass(frozen=True)
class Fixed:
    seconds: float

    def draw(self, rng: random.Random) -> float:
        return self.seconds

    def text(self) -> str:
        return short(self.seconds)


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    def text(self) -> str:
        return f"{short(self.low)}..{short(self.high)}"


@dataclass(frozen=True)
class LogNormal:
    median: float
    sigma: float
    cap: float | None = None

    def draw(self, rng: random.Random) -> float:
        value = rng.lognormvariate(math.log(self.median), self.sigma) if self.median > 0 else 0.0
        return value if self.cap is None else min(value, self.cap)

    def text(self) -> str:
        cap = "" if self.cap is None else f", max={short(self.cap)}"
        return f"lognormal(median={short(self.median)}, sigma={self.sigma:g}{cap})"


Delay = Fixed | Uniform | LogNormal


@dataclass(frozen=True)
class FaultSpec:
    """What goes wrong: at most one outcome, and optionally a latency before it (or before the real answer)."""

    outcome: Outcome | None = None
    latency: Delay | None = None


@dataclass(frozen=True)
class Where:
    """A method (None: any) and a path pattern: `*` is one path segment, `**` any run of them, `{name}`
    one segment; a pattern under /v1 also matches the same path at the root, and the other way round."""

    method: str | None = None
    pattern: str = "*"

    @cached_property
    def regex(self) -> str:
        """Matched in full against `paths.api_path(path)`."""
        return path_regex(self.pattern)

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)

    def matches(self, method: str, path: str) -> bool:
        return self.fits(method, api_path(path))

    def fits(self, method: str, path: str) -> bool:
        """`matches` for a path already without its /v1."""
        return (self.method is None or self.method == method) and self.compiled.fullmatch(path) is not None

    def text(self) -> str:
        if self.method is None:
            return self.pattern
        return self.method if self.pattern == "*" else f"{self.method} {self.pattern}"


@dataclass(frozen=True)
class Schedule:
    """How often a matching request is faulted. `after` skips the first N matching requests; `every`
    counts the rest and picks every Nth; `probability` draws for those; `times` caps the faults."""

    probability: float | None = None
    times: int | None = None
    every: int | None = None
    after: int = 0


@dataclass(frozen=True)
class FaultRule:
    spec: FaultSpec
    where: Where = field(default_factory=Where)
    schedule: Schedule = field(default_factory=Schedule)
    id: str | None = None
