"""Vector store, vector store file and file batch objects shaped as the real API returned them."""

from __future__ import annotations

from typing import Any

from ..types import JSON

DAY = 24 * 3600
# What `auto` chunking was: the real API showed it resolved to these numbers.
AUTO_CHUNKING = {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}
STATUSES = ("in_progress", "completed", "failed", "cancelled")
# A file batch's `object`: the live API said `file_batch`; OpenAI's document and its SDKs say `files_batch` (and
# the SDKs' strict response validation holds an answer to that), which lenient mode answers.
LIVE_BATCH = "vector_store.file_batch"
SPEC_BATCH = "vector_store.files_batch"


def resolved_chunking(requested: JSON | None) -> JSON:
    """A request's chunking strategy as a vector store file shows it: `auto` (or none) as its static numbers."""
    if requested is not None and requested.get("type") == "static":
        return {"type": "static", "static": dict(requested["static"])}
    return {"type": "static", "static": dict(AUTO_CHUNKING)}


def file_counts(statuses: list[str]) -> JSON:
    counts: JSON = {status: statuses.count(status) for status in STATUSES}
    counts["total"] = len(statuses)
    return counts


def expires_at(expires_after: JSON | None, last_active_at: int) -> int | None:
    return None if expires_after is None else last_active_at + expires_after["days"] * DAY


def vector_store_object(store_id: str, created_at: int, body: JSON, unnamed: str | None = None) -> JSON:
    """`unnamed`: the name of a store made without one (the live API's null; lenient mode's "", a string as
    OpenAI's document and its SDKs have it)."""
    expires_after = body.get("expires_after")
    name = body.get("name")
    return {
        "id": store_id,
        "object": "vector_store",
        "created_at": created_at,
        "name": unnamed if name is None else name,
        "description": body.get("description"),
        "usage_bytes": 0,
        "file_counts": file_counts([]),
        "status": "completed",
        "expires_after": expires_after,
        "expires_at": expires_at(expires_after, created_at),
        "last_active_at": created_at,
        "metadata": body.get("metadata") or {},
    }


def vector_store_file_object(file_id: str, store_id: str, created_at: int, request: JSON) -> JSON:
    return {
        "id": file_id,
        "object": "vector_store.file",
        "usage_bytes": 0,
        "created_at": created_at,
        "vector_store_id": store_id,
        "status": "in_progress",
        "last_error": None,
        "chunking_strategy": resolved_chunking(request.get("chunking_strategy")),
        "attributes": request.get("attributes") or {},
    }


def batch_object(batch_id: str, store_id: str, created_at: int, statuses: list[str], kind: str = LIVE_BATCH) -> JSON:
    return {
        "id": batch_id,
        "object": kind,
        "created_at": created_at,
        "vector_store_id": store_id,
        "status": "in_progress" if "in_progress" in statuses else "completed",
        "file_counts": file_counts(statuses),
    }


def page_object(data: list[Any]) -> JSON:
    """The one-page answers of file contents (a list of text parts)."""
    return {"object": "vector_store.file_content.page", "data": data, "has_more": False, "next_page": None}
