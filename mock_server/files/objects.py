"""File objects shaped exactly as the real API returned them (key order included)."""

from __future__ import annotations

import mimetypes
from typing import Any

from ..types import JSON

# `batch` files expired after 30 days unless the upload said otherwise; the others never did.
BATCH_LIFETIME = 30 * 24 * 3600
# Downloading these was refused by the real API.
NOT_DOWNLOADABLE = frozenset({"assistants", "user_data"})


def file_object(file_id: str, created_at: int, filename: str, size: int, form: dict[str, Any]) -> JSON:
    purpose = form["purpose"]
    expires_after = form.get("expires_after")
    expires_at = None
    if expires_after is not None:
        expires_at = created_at + expires_after["seconds"]
    elif purpose == "batch":
        expires_at = created_at + BATCH_LIFETIME
    return {
        "object": "file",
        "id": file_id,
        "purpose": purpose,
        "filename": filename,
        "bytes": size,
        "created_at": created_at,
        "expires_at": expires_at,
        "status": "processed",
        "status_details": None,
    }


def content_type(filename: str) -> str:
    """What a download says its bytes are: guessed from the filename, else plain bytes."""
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"
