"""Values as a fault rule writes them: whole numbers, booleans, strings, probabilities, delays, and the
text items they are written in, both ways."""

from __future__ import annotations

import math
import re
from typing import Any

from .durations import parse_duration, short
from .errors import FaultSyntaxError
from .model import Delay, Fixed, LogNormal, Uniform

TRUE = ("true", "yes", "1", "on")
FALSE = ("false", "no", "0", "off")


def split_top(text: str, separators: str) -> list[str]:
    """Split at separators that are outside parentheses and double quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    start = 0
    for index, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise FaultSyntaxError(f"unbalanced ')' in {text!r}")
        elif char in separators and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if quoted:
        raise FaultSyntaxError(f"unterminated quoted string in {text!r}")
    if depth:
        raise FaultSyntaxError(f"unbalanced '(' in {text!r}")
    parts.append(text[start:])
    return parts


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def item_text(key: str, value: Any) -> str:
    """One item of the text form: a bare key for True, `key=value` otherwise."""
    if value is True:
        return key
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    return f"{key}={value}"


def as_int(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise FaultSyntaxError(f"{key} must be a whole number, not {value!r}")
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
    else:
        raise FaultSyntaxError(f"{key} must be a whole number, not {value!r}")
    if number < minimum:
        raise FaultSyntaxError(f"{key} must be at least {minimum}, not {number}")
    return number


def as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in TRUE + FALSE:
        return value.lower() in TRUE
    raise FaultSyntaxError(f"{key} must be true or false, not {value!r}")


def as_probability(value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        raise FaultSyntaxError(f"probability must be a number from 0 to 1, not {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise FaultSyntaxError(f"probability must be a number from 0 to 1, not {value!r}")
    return number


def as_text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise FaultSyntaxError(f"{key} must be a non-empty string, not {value!r}")
    return value


def call_arguments(text: str, name: str, names: tuple[str, ...]) -> dict[str, str]:
    """`(100ms, sigma=0.5)` of `lognormal(...)` -> {"median": "100ms", "sigma": "0.5"}."""
    inner = text[len(name) + 1 : -1]
    found: dict[str, str] = {}
    for position, raw in enumerate(split_top(inner, ",")):
        argument = raw.strip()
        if not argument:
            continue
        key, has_key, value = argument.partition("=")
        if not has_key:
            if position >= len(names):
                raise FaultSyntaxError(f"{name}() takes at most {len(names)} values: {text!r}")
            key, value = names[position], argument
        key = key.strip().lower()
        if key not in names:
            raise FaultSyntaxError(f"{name}() has no {key!r}; it takes {', '.join(names)}")
        if key in found:
            raise FaultSyntaxError(f"{name}() is given {key!r} twice")
        found[key] = value.strip()
    return found


def as_delay(value: Any) -> Delay:
    """`250ms`, `100ms..300ms`, `uniform(min=100ms, max=300ms)`, `lognormal(median=100ms, sigma=0.5, max=2s)`."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FaultSyntaxError(f"latency must be a duration or a distribution, not {value!r}")
    if isinstance(value, int | float):
        return Fixed(parse_duration(value, "latency"))
    text = value.strip()
    lowered = text.lower()
    if lowered.startswith("uniform(") and text.endswith(")"):
        given = call_arguments(text, "uniform", ("min", "max"))
        if set(given) != {"min", "max"}:
            raise FaultSyntaxError(f"uniform() needs min and max: {text!r}")
        return uniform(parse_duration(given["min"], "uniform min"), parse_duration(given["max"], "uniform max"))
    if lowered.startswith("lognormal(") and text.endswith(")"):
        given = call_arguments(text, "lognormal", ("median", "sigma", "max"))
        if "median" not in given or "sigma" not in given:
            raise FaultSyntaxError(f"lognormal() needs median and sigma: {text!r}")
        try:
            sigma = float(given["sigma"])
        except ValueError:
            raise FaultSyntaxError(f"lognormal() sigma must be a number, not {given['sigma']!r}") from None
        if not math.isfinite(sigma) or sigma < 0:
            raise FaultSyntaxError(f"lognormal() sigma must be a number >= 0, not {given['sigma']!r}")
        cap = parse_duration(given["max"], "lognormal max") if "max" in given else None
        return LogNormal(parse_duration(given["median"], "lognormal median"), sigma, cap)
    if ".." in text:
        low, _, high = text.partition("..")
        return uniform(parse_duration(low, "latency"), parse_duration(high, "latency"))
    return Fixed(parse_duration(text, "latency"))


def uniform(low: float, high: float) -> Uniform:
    if low > high:
        raise FaultSyntaxError(f"a uniform latency needs min <= max, got {short(low)}..{short(high)}")
    return Uniform(low, high)
