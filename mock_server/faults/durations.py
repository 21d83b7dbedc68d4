"""Durations as people write them (`250ms`, `2s`, `1.5m`) and as the real API prints them (Go style)."""

from __future__ import annotations

import math
import re

from .errors import FaultSyntaxError

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0}
DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|min|m)?\s*$")


def parse_duration(text: str | float, what: str = "duration") -> float:
    """Seconds from `250ms`, `2s`, `1.5m`; a bare number is seconds, as in `retry-after`."""
    if isinstance(text, bool):
        raise FaultSyntaxError(f"{what} must be a duration like 250ms or 2s, not {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        found = DURATION.match(text)
        if found is None:
            raise FaultSyntaxError(f"{what} must be a duration like 250ms or 2s, not {text!r}")
        seconds = float(found.group(1)) * UNITS[found.group(2) or "s"]
    if not math.isfinite(seconds) or seconds < 0:
        raise FaultSyntaxError(f"{what} must be a duration like 250ms or 2s, not {text!r}")
    return seconds


def is_milliseconds(text: str | float) -> bool:
    return isinstance(text, str) and text.strip().endswith("ms")


def short(seconds: float) -> str:
    """The shortest exact spelling: `250ms`, `2s`, `1.5s` (used when a rule is shown back)."""
    millis = round(seconds * 1000, 3)
    if millis < 1000 or millis % 1000:
        return f"{millis:g}ms" if millis < 1000 else f"{millis / 1000:g}s"
    return f"{millis / 1000:g}s"


def go_duration(seconds: float) -> str:
    """Go's `time.Duration.String()` at millisecond precision: `12ms`, `1s`, `1.898s`, `6m0s`, `1h0m0s`."""
    millis = max(0, round(seconds * 1000))
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, fraction = divmod(rest, 1000)
    secs = f"{whole}.{fraction:03d}".rstrip("0") if fraction else str(whole)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
