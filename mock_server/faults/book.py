"""The fault book: the active rules, their counters, and the draw that decides each request's fault.

Python API (the admin API and the pytest plugin use the same calls):

    book = app.faults
    rule_id = book.add("POST /v1/threads: status=429; times=2")   # or a dict, or a FaultRule
    book.rules()          # the FaultRules, in the order they apply
    book.describe()       # the same as data, with `matched` and `applied` counters
    book.remove(rule_id)  # True if it was there
    book.clear()          # every rule gone
    book.reset()          # back to the rules the server started with, counters at zero

Matching costs one regular-expression match per request when no rule can match: the patterns are
compiled into one alternation per method whenever the rules change.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..paths import api_path
from .errors import FaultSyntaxError
from .grammar import parse_any, parse_header, rule_data
from .model import FaultRule, FaultSpec

HEADER_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Decision:
    """The fault for one request: the outcome to produce (if any) and the delay before it."""

    source: str  # "header" or "rules"
    spec: FaultSpec | None
    delay: float
    rules: tuple[str, ...] = ()

    @property
    def outcome(self) -> str | None:
        """The key of the outcome's kind; None when only a delay applies."""
        outcome = None if self.spec is None else self.spec.outcome
        return None if outcome is None else outcome.key

    def describe(self) -> dict[str, Any]:
        """What the journal records as the fault applied."""
        outcome = None if self.spec is None else self.spec.outcome
        described: dict[str, Any] = {"source": self.source, "kind": "latency" if outcome is None else outcome.key}
        if self.rules:
            described["rules"] = list(self.rules)
        if outcome is not None:
            described.update(outcome.describe())
        if self.delay:
            described["latency_ms"] = round(self.delay * 1000, 3)
        return described


class ActiveRule:
    """A rule in the book, with its counters and its own random stream."""

    __slots__ = ("applied", "matched", "rng", "rule")

    def __init__(self, rule: FaultRule, rng: random.Random) -> None:
        self.rule = rule
        self.rng = rng
        self.matched = 0
        self.applied = 0

    def fires(self) -> bool:
        """Counts one more matching request and says whether this one is faulted."""
        schedule = self.rule.schedule
        self.matched += 1
        eligible = self.matched - schedule.after
        if eligible <= 0:
            return False
        if schedule.every is not None and eligible % schedule.every:
            return False
        if schedule.times is not None and self.applied >= schedule.times:
            return False
        if schedule.probability is not None and self.rng.random() >= schedule.probability:
            return False
        self.applied += 1
        return True


class Candidates:
    """The rules that may apply to one method, behind one compiled alternation of their paths."""

    __slots__ = ("any_path", "rules")

    def __init__(self, rules: tuple[ActiveRule, ...]) -> None:
        self.rules = rules
        self.any_path = re.compile("|".join(f"(?:{a.rule.where.regex})" for a in rules))

    def matching(self, method: str, path: str) -> tuple[ActiveRule, ...]:
        path = api_path(path)
        if self.any_path.fullmatch(path) is None:
            return ()
        return tuple(a for a in self.rules if a.rule.where.fits(method, path))


class Index:
    """Per method, the candidates; methods no rule names share the candidates of method-less rules."""

    __slots__ = ("by_method", "other")

    def __init__(self, active: Iterable[ActiveRule]) -> None:
        rules = tuple(active)
        methods = {a.rule.where.method for a in rules if a.rule.where.method is not None}
        self.by_method: dict[str, Candidates] = {}
        for method in methods:
            chosen = tuple(a for a in rules if a.rule.where.method in (None, method))
            self.by_method[method] = Candidates(chosen)
        anywhere = tuple(a for a in rules if a.rule.where.method is None)
        self.other = Candidates(anywhere) if anywhere else None

    def candidates(self, method: str) -> Candidates | None:
        return self.by_method.get(method, self.other)


class FaultBook:
    """The fault rules of one server. Safe to call from any thread (the pytest plugin does)."""

    def __init__(self, seed: int | None = None, rules: Iterable[FaultRule | Mapping[str, Any] | str] = ()) -> None:
        self.seed = seed
        self._startup = tuple(parse_any(rule) for rule in rules)
        self._lock = threading.Lock()
        self._active: dict[str, ActiveRule] = {}
        self._index: Index | None = None
        self._next_id = 0
        self._headers: dict[bytes, FaultSpec] = {}
        self._header_rng = self._rng("header")
        self.reset()

    def _rng(self, name: str) -> random.Random:
        # With a seed every rule draws from its own stream, so one rule's draws never shift another's.
        return random.Random(None if self.seed is None else f"{self.seed}/{name}")

    def _rebuild(self) -> None:
        self._index = Index(self._active.values()) if self._active else None

    def _add(self, rule: FaultRule) -> str:
        self._next_id += 1
        rule_id = f"fault_{self._next_id}"
        self._active[rule_id] = ActiveRule(replace(rule, id=rule_id), self._rng(rule_id))
        return rule_id

    # ---- the Python API --------------------------------------------------------------------

    def add(self, rule: FaultRule | Mapping[str, Any] | str) -> str:
        """Add a rule (a FaultRule, its data form or its command-line form); returns its id."""
        parsed = parse_any(rule)
        with self._lock:
            rule_id = self._add(parsed)
            self._rebuild()
        return rule_id

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            found = self._active.pop(rule_id, None) is not None
            self._rebuild()
        return found

    def clear(self) -> int:
        """Remove every rule, the start-up ones included; returns how many there were."""
        with self._lock:
            count = len(self._active)
            self._active.clear()
            self._rebuild()
        return count

    def reset(self) -> None:
        """Back to the rules the server started with (--fault, [[faults]]), counters and draws from zero."""
        with self._lock:
            self._active.clear()
            self._next_id = 0
            self._header_rng = self._rng("header")
            for rule in self._startup:
                self._add(rule)
            self._rebuild()

    def get(self, rule_id: str) -> FaultRule | None:
        active = self._active.get(rule_id)
        return None if active is None else active.rule

    def rules(self) -> list[FaultRule]:
        return [a.rule for a in list(self._active.values())]

    def describe(self, rule_id: str | None = None) -> list[dict[str, Any]]:
        """The rules as data, each with `matched` (requests it matched) and `applied` (faults it caused)."""
        with self._lock:
            chosen = [a for key, a in self._active.items() if rule_id is None or key == rule_id]
            return [{**rule_data(a.rule), "matched": a.matched, "applied": a.applied} for a in chosen]

    def __len__(self) -> int:
        return len(self._active)

    # ---- for a fleet (mock_server/fleet/faults.py): rules and counters kept in Redis ----------------------

    @property
    def startup(self) -> tuple[FaultRule, ...]:
        """The rules the server started with (--fault, [[faults]]), without ids."""
        return self._startup

    def adopt(self, rules: Iterable[FaultRule]) -> None:
        """The book's rules become `rules` (each with its id), as the fleet's shared list says; a rule already
        held keeps its random stream."""
        with self._lock:
            held = self._active
            self._active = {
                str(rule.id): held[str(rule.id)]
                if str(rule.id) in held and held[str(rule.id)].rule == rule
                else ActiveRule(rule, self._rng(str(rule.id)))
                for rule in rules
            }
            self._rebuild()

    def matching(self, method: str, path: str) -> tuple[ActiveRule, ...]:
        """The rules that match a request, counting nothing (what `draw` starts with)."""
        index = self._index
        candidates = None if index is None else index.candidates(method)
        return () if candidates is None else candidates.matching(method, path)

    # ---- per request -------------------------------------------------------------------------

    def draw(self, method: str, path: str) -> Decision | None:
        """The fault the rules give this request, or None. Counters move for every matching rule."""
        index = self._index
        if index is None:
            return None
        candidates = index.candidates(method)
        if candidates is None:
            return None
        matching = candidates.matching(method, path)
        if not matching:
            return None
        with self._lock:
            fired = [a for a in matching if a.fires()]
            if not fired:
                return None
            return decision_of(fired)

    def from_header(self, value: bytes) -> Decision:
        """The fault an X-Mock-Fault header asks for; raises FaultSyntaxError when it cannot be read."""
        spec = self._headers.get(value)
        if spec is None:
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                raise FaultSyntaxError("it is not UTF-8 text") from None
            spec = parse_header(text)
            if len(self._headers) >= HEADER_CACHE_SIZE:
                self._headers.clear()
            self._headers[value] = spec
        with self._lock:
            delay = 0.0 if spec.latency is None else spec.latency.draw(self._header_rng)
        return Decision("header", spec if spec.outcome is not None else None, delay)


def decision_of(fired: list[ActiveRule]) -> Decision:
    """The fault of the rules that fired for a request: the first outcome any of them gives, after the sum of
    their latencies (each drawn from its rule's own stream)."""
    spec = next((a.rule.spec for a in fired if a.rule.spec.outcome is not None), None)
    delay = sum((a.rule.spec.latency.draw(a.rng) for a in fired if a.rule.spec.latency is not None), 0.0)
    return Decision("rules", spec, delay, tuple(str(a.rule.id) for a in fired))


class FaultRules(Protocol):
    """What the admin API does with fault rules, one instance's or the fleet's."""

    async def add(self, rules: list[FaultRule]) -> list[str]: ...
    async def remove(self, rule_id: str) -> bool: ...
    async def clear(self) -> int: ...
    async def describe(self, rule_id: str | None = None) -> list[dict[str, Any]]: ...


class BookRules:
    """One instance's fault book, as the admin API reaches it."""

    def __init__(self, book: FaultBook) -> None:
        self.book = book

    async def add(self, rules: list[FaultRule]) -> list[str]:
        return [self.book.add(rule) for rule in rules]

    async def remove(self, rule_id: str) -> bool:
        return self.book.remove(rule_id)

    async def clear(self) -> int:
        return self.book.clear()

    async def describe(self, rule_id: str | None = None) -> list[dict[str, Any]]:
        return self.book.describe(rule_id)
