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

import re
from collections.abc import Mapping
from typing import Any

from .errors import FaultSyntaxError
from .kinds import Latency
from .model import FaultRule, FaultSpec, Schedule, Where
from .registry import KINDS
from .values import as_int, as_probability, item_text, split_top, unquote

SCHEDULE_KEYS = ("probability", "times", "every", "after")
METHOD = re.compile(r"^[A-Za-z]+$")
KEY = re.compile(r"^[a-z][a-z_-]*$")


# ---- text: split into items ----------------------------------------------------------------


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


# ---- where ----------------------------------------------------------------------------------


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
    outcomes = KINDS.outcomes()
    given = [kind for kind in outcomes if kind.key in values and values[kind.key] is not False]
    if len(given) > 1:
        every, got = ", ".join(kind.key for kind in outcomes), " and ".join(kind.key for kind in given)
        raise FaultSyntaxError(f"at most one of {every} per fault, got {got}")
    chosen = given[0] if given else None
    for kind in outcomes:
        misplaced = [option for option in kind.options if option in values]
        if misplaced and kind is not chosen:
            raise FaultSyntaxError(kind.misplaced(misplaced[0]))
    latency = Latency.parse(values[Latency.key]) if Latency.key in values else None
    if chosen is None and latency is None:
        raise FaultSyntaxError(f"it names no fault; give one of {', '.join(KINDS.keys())}")
    return FaultSpec(None if chosen is None else chosen.parse(values), latency)


def schedule_from(values: Mapping[str, Any]) -> Schedule:
    return Schedule(
        probability=as_probability(values["probability"]) if "probability" in values else None,
        times=as_int("times", values["times"], 1) if "times" in values else None,
        every=as_int("every", values["every"], 1) if "every" in values else None,
        after=as_int("after", values["after"], 0) if "after" in values else 0,
    )


# ---- the three entry forms -------------------------------------------------------------------


def parse_header(value: str) -> FaultSpec:
    """An X-Mock-Fault value: what goes wrong with this one request."""
    items = text_items(value)
    for key in items:
        if key in SCHEDULE_KEYS or key == "match":
            raise FaultSyntaxError(f"{key!r} has no meaning in a header: the fault applies to the request it is on")
        if not KINDS.knows(key):
            raise FaultSyntaxError(f"unknown fault {key!r}; known: {', '.join(KINDS.keys())}")
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
        if not (KINDS.knows(key) or key in SCHEDULE_KEYS or key == "match"):
            known = ", ".join(("match", *KINDS.keys(), *SCHEDULE_KEYS))
            raise FaultSyntaxError(f"unknown key {key!r}; known: {known}")
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
    data = {} if spec.outcome is None else spec.outcome.data()
    if spec.latency is not None:
        data[Latency.key] = spec.latency.text()
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
    parts = [] if spec.outcome is None else [spec.outcome.text()]
    if spec.latency is not None:
        parts.append(item_text(Latency.key, spec.latency.text()))
    return "; ".join(parts)
