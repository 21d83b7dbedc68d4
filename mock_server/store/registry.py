"""Store backends by URL scheme: each module of `store/backends/` registers its own, and is found without a list."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from . import backends as backends_package
from .base import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_THREADS, Store

DEFAULT_SCHEME = "memory"


@dataclass(frozen=True)
class Backend:
    scheme: str  # what a --store URL starts with, before the first colon
    url_form: str  # as help and errors show it: `sqlite:PATH`
    # The URL, max_threads and max_file_bytes -> a store, not opened yet; a ValueError says what is wrong with
    # the URL.
    create: Callable[[str, int, int], Store]
    # Whether several worker processes opening the same URL see one state (what --workers needs).
    shared_between_processes: bool = False
    # What a user should know of it, for the --store help: `lost on exit`.
    summary: str = ""


_backends: dict[str, Backend] = {}
_discovered = False


def register(backend: Backend) -> None:
    _backends[backend.scheme] = backend


def backends() -> dict[str, Backend]:
    """Every backend, by scheme, in the order of their modules' names."""
    global _discovered
    if not _discovered:
        _discovered = True
        for module in pkgutil.iter_modules(backends_package.__path__):
            importlib.import_module(f"{backends_package.__name__}.{module.name}")
    return _backends


def backend_for(url: str) -> Backend | None:
    return backends().get(url.partition(":")[0] or DEFAULT_SCHEME)


def known_urls() -> str:
    return ", ".join(backend.url_form for backend in backends().values())


def backends_help() -> str:
    """Every backend as the --store help lists it: `'memory' (lost on exit) or 'sqlite:PATH' (...)`."""
    described = [f"'{b.url_form}' ({b.summary})" if b.summary else f"'{b.url_form}'" for b in backends().values()]
    return " or ".join(described)


def store_for(url: str, max_threads: int = DEFAULT_MAX_THREADS, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Store:
    """The store a `--store` URL names, not opened yet; raises ValueError with a message fit for the command line."""
    backend = backend_for(url)
    if backend is None:
        raise ValueError(f"unknown store {url!r}; known: {known_urls()}")
    return backend.create(url, max_threads, max_file_bytes)


def shared_between_processes(url: str) -> bool:
    """Whether several worker processes opening this store see one state."""
    backend = backend_for(url)
    return backend is not None and backend.shared_between_processes


async def probe(store: Store) -> None:
    """Opens and closes the store: a start-up failure found before a server binds its port or starts workers."""
    await store.open()
    await store.close()
