"""The types every API family's handlers share: the validated call in, the object (or a response) out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

if TYPE_CHECKING:
    from .middleware.uploads import Upload

JSON = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request that passed the contract: the caller's project (its API key), its path parameters, its
    query with the contract's defaults filled in, its body, and its raw headers (read only on demand); or, for
    an upload, the multipart body still to be read (its form is checked as it ends)."""

    project: str
    path: dict[str, str]
    query: dict[str, Any] = field(default_factory=dict)
    body: JSON = field(default_factory=dict)
    headers: Sequence[tuple[bytes, bytes]] = ()
    upload: Upload | None = None

    def header(self, name: bytes) -> str | None:
        """The first value of a header, by its lower-case name."""
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None


# A handler answers with the object to send as JSON, or with a ready response (a stream, say).
Handler = Callable[[Call], Awaitable[JSON | Response]]
