"""The fault kinds by key, and every list of them a user sees (CLI help, header error, README table).

A `Kind` is a key a fault names, with how it is written and what a client gets. An `Outcome` is a kind
that decides the answer: it reads its own value (`parse`), writes it back (`data`, `text`) and produces
the answer (`answer`). Kinds are registered by key, as respx registers its patterns; the grammar finds
them here, so a new kind is one class with `@register` and nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from .values import item_text

if TYPE_CHECKING:
    from ..middleware.ratelimit import RateLimit


class Kind:
    """A key of the fault grammar, documented where it is defined. Every kind is an `Outcome` but
    `latency`, which the model keeps apart because it stacks with any outcome."""

    key: ClassVar[str]
    # How the CLI help and the README table write it: `status=N`, `hang[=MAX]`.
    form: ClassVar[str]
    # Whole faults in the text form, simplest first; the last one shows the kind's options, if it has any.
    examples: ClassVar[tuple[str, ...]]
    # The README's columns, in Markdown: what the client gets, and what the official SDK raises then.
    gets: ClassVar[str]
    raises: ClassVar[str]
    # Keys that go with this kind only (`status=429; retry_after=2`).
    options: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def misplaced(cls, option: str) -> str:
        """The refusal of one of its options given without it."""
        return f"{option} goes with {cls.key}, e.g. {cls.examples[-1].partition(';')[0]}; {option}=..."


class Outcome(Kind, ABC):
    """A kind that decides the answer; at most one per fault. Values are frozen dataclasses."""

    @classmethod
    @abstractmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        """From a fault's items (text values from the header or --fault, data values from TOML or JSON),
        `values[cls.key]` among them, True for a bare key; its options are there when given."""

    @abstractmethod
    def data(self) -> dict[str, Any]:
        """As the admin API shows it and takes it back: its key first, then its options."""

    def text(self) -> str:
        """As the X-Mock-Fault header takes it."""
        return "; ".join(item_text(key, value) for key, value in self.data().items())

    def describe(self) -> dict[str, Any]:
        """What the journal records of it besides its kind."""
        return {}

    @abstractmethod
    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, rate_limit: RateLimit) -> None:
        """Produce the faulted answer; `app` is the real one, for the kinds that spoil it."""


K = TypeVar("K", bound=type[Kind])


class Kinds:
    """The registry: the kinds by key, in the order they were registered, which every list shows."""

    def __init__(self) -> None:
        self._by_key: dict[str, type[Kind]] = {}

    def register(self, kind: K) -> K:
        taken = {*self._by_key, *self.options()}
        for key in (kind.key, *kind.options):
            if key in taken:
                raise ValueError(f"the fault key {key!r} is taken")
        self._by_key[kind.key] = kind
        return kind

    def unregister(self, key: str) -> None:
        del self._by_key[key]

    def __iter__(self) -> Iterator[type[Kind]]:
        return iter(tuple(self._by_key.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __getitem__(self, key: str) -> type[Kind]:
        return self._by_key[key]

    def keys(self) -> tuple[str, ...]:
        return tuple(self._by_key)

    def outcomes(self) -> tuple[type[Outcome], ...]:
        return tuple(kind for kind in self._by_key.values() if issubclass(kind, Outcome))

    def options(self) -> tuple[str, ...]:
        return tuple(option for kind in self._by_key.values() for option in kind.options)

    def knows(self, key: str) -> bool:
        """A kind or an option of one."""
        return key in self._by_key or key in self.options()

    # ---- the lists a user reads ----------------------------------------------------------------

    def help(self) -> str:
        """`status=N (retry_after, ...), latency=DELAY, reset, ...`: the kinds for the --fault help."""
        return ", ".join(f"{kind.form} ({', '.join(kind.options)})" if kind.options else kind.form for kind in self)

    def examples(self) -> tuple[str, ...]:
        return tuple(example for kind in self for example in kind.examples)

    def table(self) -> str:
        """The README's table of fault kinds, in Markdown."""
        rows = [f"| `{kind.form}` | {kind.gets} | {kind.raises} |" for kind in self]
        return "\n".join(["| fault | what the client gets | the official SDK raises |", "| --- | --- | --- |", *rows])


KINDS = Kinds()
register = KINDS.register


def fault_kinds_help() -> str:
    """The fault kinds as the --fault help lists them, from the registry."""
    return KINDS.help()


def fault_kinds_table() -> str:
    """The README's table of fault kinds, from the registry (a test holds the README to it)."""
    return KINDS.table()
