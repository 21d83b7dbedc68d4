"""What the SDK tests share: a client of the official SDK on the test's server, and a way to add a reply rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI

from mock_server.server import BackgroundServer


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="sk-mock", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def add_reply(server: BackgroundServer) -> Callable[..., None]:
    def add(**rule: Any) -> None:
        httpx.post(f"{server.base_url.removesuffix('/v1')}/__mock__/replies", json=rule).raise_for_status()

    return add
