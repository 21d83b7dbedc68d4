"""The request schemas as `--mode lenient` checks them: the contract's `x-lenient` applied.

The contract says what the real API did, some of it beyond what OpenAI's own document makes a schema keyword
(the range of `limit`, "exactly one of `file_ids` or `files`": prose there). Prism and Steady check requests
against that document, so suites written against them send what its schemas allow. A schema's `x-lenient`
maps such a keyword to what lenient mode checks instead: null drops it, a value replaces it (its own marks
applied in turn).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MARK = "x-lenient"
BOUNDS = ("minimum", "maximum")


def lenient_schema(node: Any) -> Any:
    """A copy of `node` with every `x-lenient` applied, at any depth (the schema itself is left alone: the
    contract's parsed schemas are shared)."""
    if isinstance(node, list):
        return [lenient_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    changes = node.get(MARK) or {}
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == MARK:
            continue
        if key in changes:
            if changes[key] is not None:
                # A replacement may hold schemas with marks of their own (the item types of a broader oneOf).
                result[key] = lenient_schema(changes[key])
            continue
        result[key] = lenient_schema(value)
    for key, value in changes.items():
        if key not in node and value is not None:
            result[key] = value
    return result


def clamped(schema: Mapping[str, Any], value: Any) -> Any:
    """A query number within the bounds that lenient mode did not check: `limit=0` asks for the smallest page
    the store knows how to cut (1), `limit=1000` for the largest (100), never for a page it would cut wrong."""
    changes = schema.get(MARK) or {}
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    low, high = (schema.get(bound) if bound in changes else None for bound in BOUNDS)
    if low is not None and value < low:
        return low
    if high is not None and value > high:
        return high
    return value
