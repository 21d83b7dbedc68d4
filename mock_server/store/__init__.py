"""Stores for threads and messages; `open_store` turns a `--store` URL into one."""

from __future__ import annotations

from .base import JSON, ListQuery, Page, Store
from .memory import MemoryStore


def open_store(url: str) -> Store:
    if url in ("memory", "memory:", ""):
        return MemoryStore()
    raise ValueError(f"unknown store {url!r}; known: memory")


__all__ = ["JSON", "ListQuery", "MemoryStore", "Page", "Store", "open_store"]
