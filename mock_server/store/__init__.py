"""Stores for threads, messages and records; `store_for` turns a `--store` URL into one."""

from __future__ import annotations

from .base import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_THREADS,
    EVERYTHING,
    JSON,
    UPDATE_ATTEMPTS,
    BlobTooLarge,
    Contention,
    ListQuery,
    MemoryUse,
    Page,
    Stats,
    Store,
    StoreUnavailable,
    TooLarge,
    Version,
    Versioned,
    page_of,
)
from .registry import Backend, known_urls, probe, register, shared_between_processes, store_for

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_THREADS",
    "EVERYTHING",
    "JSON",
    "UPDATE_ATTEMPTS",
    "Backend",
    "BlobTooLarge",
    "Contention",
    "ListQuery",
    "MemoryUse",
    "Page",
    "Stats",
    "Store",
    "StoreUnavailable",
    "TooLarge",
    "Version",
    "Versioned",
    "known_urls",
    "page_of",
    "probe",
    "register",
    "shared_between_processes",
    "store_for",
]
