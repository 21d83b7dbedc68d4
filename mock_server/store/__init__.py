"""Stores for threads and messages; `open_store` turns a `--store` URL into one."""

from __future__ import annotations

from .base import DEFAULT_MAX_THREADS, JSON, ListQuery, Page, Stats, Store
from .memory import MemoryStore
from .sqlite import SqliteStore, sqlite_path

STORE_URLS = "memory, sqlite:PATH"


def open_store(url: str, max_threads: int = DEFAULT_MAX_THREADS) -> Store:
    """`memory` (the default) or `sqlite:PATH`; raises ValueError with a message fit for the command line."""
    if url in ("memory", "memory:", ""):
        return MemoryStore(max_threads)
    if url.startswith("sqlite:"):
        return SqliteStore(sqlite_path(url), max_threads)
    raise ValueError(f"unknown store {url!r}; known: {STORE_URLS}")


def shared_between_processes(url: str) -> bool:
    """Whether several worker processes opening this store see one state."""
    return url.startswith("sqlite:")


__all__ = [
    "DEFAULT_MAX_THREADS",
    "JSON",
    "ListQuery",
    "MemoryStore",
    "Page",
    "SqliteStore",
    "Stats",
    "Store",
    "open_store",
    "shared_between_processes",
]
