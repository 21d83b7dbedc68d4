"""The types every API family's handlers share: the validated call in, the object (or a response) out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

JSON = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request that passed the contract: the caller's project (its API key), its path parameters, its
    query with the contract's defaults filled in, and its body."""

    project: str
    path: dict[str, str]
    query: dict[str, Any] = field(default_factory=dict)
    body: JSON = field(default_factory=dict)


# A handler answers with the object to send as JSON, or with a ready response (a stream, say).
Handler = Callable[[Call], Awaitable[JSON | Response]]
