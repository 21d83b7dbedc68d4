"""Thread and message objects shaped exactly as the real API returned them."""

from __future__ import annotations

from typing import Any

from .ids import Identity
from .store import JSON


def thread_object(thread_id: str, created_at: int, tool_resources: JSON, metadata: JSON | None) -> JSON:
    return {
        "id": thread_id,
        "object": "thread",
        "created_at": created_at,
        "metadata": metadata or {},
        "tool_resources": tool_resources,
    }


def text_part(value: str) -> JSON:
    return {"type": "text", "text": {"value": value, "annotations": []}}


def content_parts(content: str | list[JSON]) -> list[JSON]:
    if isinstance(content, str):
        return [text_part(content)]
    parts: list[JSON] = []
    for part in content:
        kind = part["type"]
        if kind == "text":
            parts.append(text_part(part["text"]))
        else:
            image = part[kind]
            parts.append({"type": kind, kind: {**image, "detail": image.get("detail", "auto")}})
    return parts


def message_object(
    message_id: str,
    thread_id: str,
    created_at: int,
    request: JSON,
    *,
    assistant_id: str | None = None,
    run_id: str | None = None,
) -> JSON:
    return {
        "id": message_id,
        "object": "thread.message",
        "created_at": created_at,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "run_id": run_id,
        "status": "completed",
        "incomplete_details": None,
        "completed_at": created_at,
        "incomplete_at": None,
        "role": request["role"],
        "content": content_parts(request["content"]),
        "attachments": request.get("attachments") or [],
        "metadata": request.get("metadata") or {},
    }


def tool_resources_object(requested: JSON | None, identity: Identity) -> JSON:
    """The thread's tool resources; the `vector_stores` helper becomes a new `vs_` id."""
    resources: JSON = {}
    if not requested:
        return resources
    code = requested.get("code_interpreter")
    if code is not None:
        resources["code_interpreter"] = {"file_ids": list(code.get("file_ids", []))}
    search = requested.get("file_search")
    if search is not None:
        if "vector_stores" in search:
            ids = [identity.new_id("vs") for _ in search["vector_stores"]]
        else:
            ids = list(search.get("vector_store_ids", []))
        resources["file_search"] = {"vector_store_ids": ids}
    return resources


# The contract's Metadata limit (maxProperties): no object holds more pairs, however many updates merge in.
METADATA_PAIRS = 16


def merged_metadata(current: JSON | None, update: Any) -> JSON:
    if update is None:
        return current or {}
    return {**(current or {}), **update}


def deleted_object(object_id: str, kind: str) -> JSON:
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}


def list_object(items: list[JSON], has_more: bool) -> JSON:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }
