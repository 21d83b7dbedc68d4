"""Constraints the contract states in prose, which its schema language cannot say; each raises the API's
own error. (The fuzzer's twin, `mock_server.fuzzing.constraints`, keeps generated requests within them.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import errors
from ..errors import param_path

Constraint = Callable[[dict[str, Any]], None]


def chunk_overlap_at_most_half(body: dict[str, Any]) -> None:
    """`chunk_overlap_tokens` may be at most half of `max_chunk_size_tokens` (prose in OpenAI's spec)."""
    file_search = ((body.get("tool_resources") or {}).get("file_search")) or {}
    for index, store in enumerate(file_search.get("vector_stores") or []):
        strategy = store.get("chunking_strategy") or {}
        static = strategy.get("static") if strategy.get("type") == "static" else None
        if not static:
            continue
        limit = static["max_chunk_size_tokens"] // 2
        overlap = static["chunk_overlap_tokens"]
        if overlap > limit:
            name = param_path(
                [
                    "tool_resources",
                    "file_search",
                    "vector_stores",
                    index,
                    "chunking_strategy",
                    "static",
                    "chunk_overlap_tokens",
                ]
            )
            raise errors.invalid_request(
                f"Invalid '{name}': integer above maximum value. Expected a value <= {limit} "
                f"(half of max_chunk_size_tokens), but got {overlap} instead.",
                param=name,
                code="integer_above_max_value",
            )


CONSTRAINTS: dict[str, tuple[Constraint, ...]] = {
    "createThread": (chunk_overlap_at_most_half,),
}


def for_operation(operation_id: str) -> tuple[Constraint, ...]:
    return CONSTRAINTS.get(operation_id, ())
