"""Stores for threads, messages and records; `store_for` turns a `--store` URL into one."""

from __future__ import annotations

from .base import (
    DEFAULT_MAX_THREADS,
    JSON,
    UPDATE_ATTEMPTS,
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
)
from .registry import Backend, known_urls, probe, register, shared_between_processes, store_for

__all__ = [
    "DEFAULT_MAX_THREADS",
    "JSON",
    "UPDATE_ATTEMPTS",
    "Backend",
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
    "probe",
    "register",
    "shared_between_processes",
    "store_for",
]
