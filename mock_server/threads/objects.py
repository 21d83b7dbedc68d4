"""Thread and message objects shaped exactly as the real API returned them."""

from __future__ import annotations

from ..types import JSON


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
