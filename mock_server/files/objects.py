"""File objects shaped exactly as the real API returned them (key order included)."""

from __future__ import annotations

import mimetypes
import struct
import zlib
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


# What a made image shows: bars of these heights (in tenths of the picture) and colours, on white.
BARS = ((4, (66, 133, 244)), (7, (219, 68, 55)), (5, (244, 180, 0)), (9, (15, 157, 88)))


def png(width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG, a bar chart such as a code_interpreter run draws: the image a scripted run makes."""
    bar_width = width // (2 * len(BARS) + 1)
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # each row's filter: none
        for x in range(width):
            slot, index = x // bar_width, (x // bar_width - 1) // 2
            tall = slot % 2 == 1 and index < len(BARS) and height - y <= BARS[index][0] * height // 10
            row += bytes(BARS[index][1] if tall else (255, 255, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    pixels = zlib.compress(b"".join(rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
