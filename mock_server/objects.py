"""Object shapes every API family shares, as the real API sent them: lists (and the query a page is cut
by), deletions and metadata merges."""

from __future__ import annotations

from typing import Any

from . import errors
from .store import ListQuery
from .types import JSON, Call

# The contract's Metadata limit (maxProperties): no object holds more pairs, however many updates merge in.
METADATA_PAIRS = 16


def merged_metadata(current: JSON | None, update: Any) -> JSON:
    if update is None:
        return current or {}
    return {**(current or {}), **update}


def deleted_object(object_id: str, kind: str) -> JSON:
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}


def list_query(call: Call, run_id: str | None = None) -> ListQuery:
    """The page a list call asks for: its size, order and cursors (the contract filled in the defaults)."""
    return ListQuery(
        limit=call.query["limit"],
        order=call.query["order"],
        after=call.query.get("after"),
        before=call.query.get("before"),
        run_id=run_id,
    )


def list_object(items: list[JSON], has_more: bool) -> JSON:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


def merged_within_limit(current: JSON | None, update: Any) -> JSON:
    """Metadata merged key by key. A merge past the limit is refused with the error a request with that
    many pairs gets, before anything is stored: the API never kept more than 16 pairs on an object."""
    merged = merged_metadata(current, update)
    if len(merged) > METADATA_PAIRS:
        raise errors.invalid_request(
            f"Invalid 'metadata': too many properties. Expected an object with at most {METADATA_PAIRS} "
            f"properties, but got an object with {len(merged)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    return merged
