"""The contract's prose constraints, applied to generated requests.

JSON Schema cannot compare two fields, so a constraint such as "`chunk_overlap_tokens` at most half of
`max_chunk_size_tokens`" lives in the contract's descriptions (and in `mock_server.contract.constraints` on the server
side). A generator that only reads the schema keywords would call a request that breaks it valid, and a
server that refuses it, as the real API did, would be blamed for it. `within_constraints` lowers such a request
into the constraint. It never turns an invalid request into a valid one: it only touches values the schema
already accepts, and only where the constraint, not the schema, would refuse them.
"""

from __future__ import annotations

from typing import Any, TypeGuard


def within_constraints(body: Any) -> Any:
    """The request body with each static chunking overlap lowered to half its chunk size, at most."""
    from ..contract.constraints import chunking_strategies

    for _, strategy in list(chunking_strategies(body)):
        static = strategy.get("static") if isinstance(strategy, dict) else None
        if not isinstance(static, dict):
            continue
        size, overlap = static.get("max_chunk_size_tokens"), static.get("chunk_overlap_tokens")
        if is_count(size) and is_count(overlap) and overlap > size // 2:
            static["chunk_overlap_tokens"] = int(size) // 2
    return body


def is_count(value: Any) -> TypeGuard[int | float]:
    # JSON Schema's `integer` takes 417.0 too, and generators do send it.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value >= 0 and float(value).is_integer()
