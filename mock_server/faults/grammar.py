"""Fault rules as text and as data, both ways.

Text (the X-Mock-Fault header, `--fault`): items separated by `;` or `,`, each `key` or `key=value`;
a rule may start with where it applies and a colon:

    status=429; retry_after=2
    status=500, latency=lognormal(median=100ms, sigma=0.5, max=2s)
    POST /v1/threads: status=429; probability=0.2

Data (TOML tables, admin API JSON): the same keys, `match` for where:

    {"match": "POST /v1/threads", "status": 429, "retry_after": 1, "probability": 0.2}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .durations import is_milliseconds, parse_duration, short
from .errors import FaultSyntaxError
from .model import (
    DEFAULT_HANG_LIMIT,
    KINDS,
    OUTCOMES,
    Delay,
    FaultRule,
    FaultSpec,
    Fixed,
    LogNormal,
    Outcome,
    Schedule,
    Uniform,
    Where,
)

STATUS_KEYS = ("retry_after", "should_retry", "code", "message")
SCHEDULE_KEYS = ("probability", "times", "every", "after")
RULE_KEYS = frozenset({*KINDS, *STATUS_KEYS, *SCHEDULE_KEYS, "match"})
FLAG_KINDS = frozenset({"reset", "empty", "malformed", "invalid"})
METHOD = re.compile(r"^[A-Za-z]+$")
KEY = re.compile(r"^[a-z][a-z_-]*$")
TRUE = ("true", "yes", "1", "on")
FALSE = ("false", "no", "0", "off")


# ---- text: split into items ----------------------------------------------------------------


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


def text_items(text: str) -> dict[str, Any]:
    """`status=429; retry_after=2` -> {"status": "429", "retry_after": "2"}; a bare key maps to True."""
    items: dict[str, Any] = {}
    for raw in split_top(text, ",;"):
        item = raw.strip()
        if not item:
            continue
        key, has_value, value = item.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not KEY.match(key):
            raise FaultSyntaxError(f"cannot read {item!r}: expected key=value, e.g. status=503")
        if key in items:
            raise FaultSyntaxError(f"{key!r} is given twice")
        value = value.strip()
        if has_value and not value:
            raise FaultSyntaxError(f"{key!r} has an empty value")
        items[key] = unquote(value) if has_value else True
    if not items:
        raise FaultSyntaxError("it names no fault; e.g. status=503, latency=250ms, reset")
    return items


def split_where(text: str) -> tuple[str | None, str]:
    """`POST /v1/threads: status=429` -> ("POST /v1/threads", "status=429"); no colon: (None, text)."""
    parts = split_top(text, ":")
    if len(parts) == 1:
        return None, text
    head, body = parts[0], ":".join(parts[1:])
    return head.strip(), body


# ---- values ----------------------------------------------------------------------------------


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


def as_where(text: Any) -> Where:
    """`POST /v1/threads`, `GET /v1/threads/*`, `/v1/threads`, `DELETE`, `*`."""
    if not isinstance(text, str) or not text.strip():
        raise FaultSyntaxError(f"match must be like 'POST /v1/threads' or '*', not {text!r}")
    words = text.split()
    if len(words) > 2:
        raise FaultSyntaxError(f"match must be like 'POST /v1/threads' or '*', not {text!r}")
    if len(words) == 1:
        word = words[0]
        if word.startswith("/") or word in ("*", "**"):
            return Where(None, word)
        method, pattern = word, "*"
    else:
        method, pattern = words
    if method != "*" and not METHOD.match(method):
        raise FaultSyntaxError(f"{method!r} is not an HTTP method (in match {text!r})")
    if not (pattern.startswith("/") or pattern in ("*", "**")):
        raise FaultSyntaxError(f"the path pattern must start with '/' or be '*', not {pattern!r}")
    return Where(None if method == "*" else method.upper(), pattern)


# ---- the model from values -------------------------------------------------------------------


def spec_from(values: Mapping[str, Any]) -> FaultSpec:
    outcomes = [kind for kind in OUTCOMES if kind in values and values[kind] is not False]
    if len(outcomes) > 1:
        raise FaultSyntaxError(f"at most one of {', '.join(OUTCOMES)} per fault, got {' and '.join(outcomes)}")
    outcome: Outcome | None = outcomes[0] if outcomes else None
    extra = [key for key in STATUS_KEYS if key in values]
    if extra and outcome != "status":
        raise FaultSyntaxError(f"{extra[0]} goes with status, e.g. status=429; {extra[0]}=...")
    latency = as_delay(values["latency"]) if "latency" in values else None
    if outcome is None and latency is None:
        raise FaultSyntaxError(f"it names no fault; give one of {', '.join(KINDS)}")
    status = retry_after = duration = events = None
    retry_after_ms = False
    should_retry = code = message = None
    if outcome == "status":
        status = as_int("status", values["status"], 0)
        if not 400 <= status <= 599:
            raise FaultSyntaxError(f"status must be an HTTP error status from 400 to 599, not {status}")
        if "retry_after" in values:
            retry_after = parse_duration(values["retry_after"], "retry_after")
            retry_after_ms = is_milliseconds(values["retry_after"]) or not float(retry_after).is_integer()
        if "should_retry" in values:
            should_retry = as_bool("should_retry", values["should_retry"])
        if "code" in values:
            code = as_text("code", values["code"])
        if "message" in values:
            message = as_text("message", values["message"])
    elif outcome in FLAG_KINDS:
        if values[outcome] is not True and not as_bool(outcome, values[outcome]):
            raise FaultSyntaxError(f"{outcome} takes no value")
    elif outcome == "slow":
        if values["slow"] is True:
            raise FaultSyntaxError("slow needs the time the body takes, e.g. slow=2s")
        duration = parse_duration(values["slow"], "slow")
    elif outcome == "hang":
        duration = DEFAULT_HANG_LIMIT if values["hang"] is True else parse_duration(values["hang"], "hang")
    elif outcome == "stream_cut":
        if values["stream_cut"] is True:
            raise FaultSyntaxError("stream_cut needs the number of events sent before the cut, e.g. stream_cut=5")
        events = as_int("stream_cut", values["stream_cut"], 0)
    return FaultSpec(
        outcome=outcome,
        latency=latency,
        status=status,
        retry_after=retry_after,
        retry_after_ms=retry_after_ms,
        should_retry=should_retry,
        code=code,
        message=message,
        duration=duration,
        events=events,
    )


def schedule_from(values: Mapping[str, Any]) -> Schedule:
    return Schedule(
        probability=as_probability(values["probability"]) if "probability" in values else None,
        times=as_int("times", values["times"], 1) if "times" in values else None,
        every=as_int("every", values["every"], 1) if "every" in values else None,
        after=as_int("after", values["after"], 0) if "after" in values else 0,
    )


# ---- the three entry forms -------------------------------------------------------------------

HEADER_KEYS = frozenset({*KINDS, *STATUS_KEYS})


def parse_header(value: str) -> FaultSpec:
    """An X-Mock-Fault value: what goes wrong with this one request."""
    items = text_items(value)
    for key in items:
        if key in SCHEDULE_KEYS or key == "match":
            raise FaultSyntaxError(f"{key!r} has no meaning in a header: the fault applies to the request it is on")
        if key not in HEADER_KEYS:
            raise FaultSyntaxError(f"unknown fault {key!r}; known: {', '.join(KINDS)}")
    return spec_from(items)


def parse_rule(text: str) -> FaultRule:
    """A rule in the command-line form: `[METHOD] PATTERN: key=value; ...`."""
    where, body = split_where(text)
    items = text_items(body)
    if where is not None:
        if "match" in items:
            raise FaultSyntaxError("the rule gives where it applies twice (before the colon and as match)")
        items["match"] = where
    return rule_from_values(items)


def rule_from_data(data: Mapping[str, Any]) -> FaultRule:
    """A rule as data: `{"match": "POST /v1/threads", "status": 429, "times": 2}`.
    `{"rule": "<command-line form>", ...}` is read as that text, with the other keys added to it."""
    if not isinstance(data, Mapping):
        raise FaultSyntaxError(f"a fault rule must be an object, not {type(data).__name__}")
    values = {str(k).lower().replace("-", "_"): v for k, v in data.items()}
    if "rule" in values:
        text = values.pop("rule")
        if not isinstance(text, str):
            raise FaultSyntaxError(f"rule must be a string like 'POST /v1/threads: status=429', not {text!r}")
        where, body = split_where(text)
        items = text_items(body)
        if where is not None:
            items["match"] = where
        for key, value in values.items():
            if key in items:
                raise FaultSyntaxError(f"{key!r} is given twice (in rule and as a key)")
            items[key] = value
        values = items
    return rule_from_values(values)


def rule_from_values(values: Mapping[str, Any]) -> FaultRule:
    for key in values:
        if key not in RULE_KEYS:
            raise FaultSyntaxError(f"unknown key {key!r}; known: match, {', '.join(KINDS)}, {', '.join(SCHEDULE_KEYS)}")
    where = as_where(values["match"]) if "match" in values else Where()
    return FaultRule(spec=spec_from(values), where=where, schedule=schedule_from(values))


def parse_any(rule: FaultRule | Mapping[str, Any] | str) -> FaultRule:
    if isinstance(rule, FaultRule):
        return rule
    if isinstance(rule, str):
        return parse_rule(rule)
    return rule_from_data(rule)


# ---- back to data and text ---------------------------------------------------------------------


def spec_data(spec: FaultSpec) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if spec.outcome == "status":
        data["status"] = spec.status
        if spec.retry_after is not None:
            millis = round(spec.retry_after * 1000, 3)
            data["retry_after"] = f"{millis:g}ms" if spec.retry_after_ms else int(spec.retry_after)
        for key in ("should_retry", "code", "message"):
            if getattr(spec, key) is not None:
                data[key] = getattr(spec, key)
    elif spec.outcome in ("slow", "hang"):
        data[spec.outcome] = short(spec.duration or 0.0)
    elif spec.outcome == "stream_cut":
        data["stream_cut"] = spec.events
    elif spec.outcome is not None:
        data[spec.outcome] = True
    if spec.latency is not None:
        data["latency"] = spec.latency.text()
    return data


def rule_data(rule: FaultRule) -> dict[str, Any]:
    """The rule as the admin API shows it (and takes it back)."""
    data: dict[str, Any] = {"id": rule.id, "match": rule.where.text(), **spec_data(rule.spec)}
    schedule = rule.schedule
    for key in ("probability", "times", "every"):
        if getattr(schedule, key) is not None:
            data[key] = getattr(schedule, key)
    if schedule.after:
        data["after"] = schedule.after
    return data


def spec_text(spec: FaultSpec) -> str:
    """The header form: `status=429; retry_after=2`."""
    parts = []
    for key, value in spec_data(spec).items():
        if value is True:
            parts.append(key)
        elif isinstance(value, bool):
            parts.append(f"{key}={'true' if value else 'false'}")
        elif key == "message":
            parts.append(f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"')
        else:
            parts.append(f"{key}={value}")
    return "; ".join(parts)
