"""The fleet tests' Redis: one real redis-server per test module (each test in a namespace of its own), and a
persistent one per test that kills or restarts it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from .redis_server import RedisServer

_namespaces = itertools.count()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", persistent=True).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The module's Redis, in a namespace no other test uses."""
    return f"{redis_server.url}?namespace=test{next(_namespaces)}"
