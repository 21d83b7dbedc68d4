"""Load without loss: 200 concurrent clients against a real `python -m mock_server serve` on loopback.

Every client creates threads (with a message inline), adds, modifies and deletes messages, modifies threads
and deletes some, recording each answer. Afterwards every object whose creation was answered 200 must read
back exactly as last answered, every list must hold exactly the surviving messages in order, and every
deleted object must answer 404.

The test runs a short version (one round per client, half of them deleting their thread), memory and
SQLite. For a longer run, bounded by time instead:

    MOCK_LOAD_SECONDS=60 MOCK_LOAD_CLIENTS=200 .venv/bin/python -m pytest -q tests/test_load.py -s

which also runs two workers on one SQLite file.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .helpers import HEADERS, QUIET, SHARED_SSL, serving

CLIENTS = int(os.environ.get("MOCK_LOAD_CLIENTS", "200"))
# Every client runs ROUNDS rounds, and when this is set, more rounds until that many seconds have passed.
SECONDS = float(os.environ["MOCK_LOAD_SECONDS"]) if os.environ.get("MOCK_LOAD_SECONDS") else None
ROUNDS = 1
# Per request; only a stalled server gets near it, and then the test fails with the stall, not a hang.
REQUEST_TIMEOUT = 60.0

JSON = dict[str, Any]
Send = Callable[..., Awaitable[httpx.Response]]


@dataclass
class Ledger:
    """What one client was answered 200 for; its objects are its own, so "latest" is never in doubt."""

    threads: dict[str, JSON] = field(default_factory=dict)
    # thread id -> its surviving messages, in creation order, each as last answered
    messages: dict[str, dict[str, JSON]] = field(default_factory=dict)
    deleted_threads: list[str] = field(default_factory=list)
    deleted_messages: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    requests: int = 0


def text(client: int, round_: int, what: str) -> str:
    # Unicode, quotes and escapes, so "exactly the content" is tested on more than ASCII.
    return f'client {client} round {round_} {what}: "é ✓ 🧵" \\n tab\t'


async def one_client(number: int, send: Send, ledger: Ledger, start: asyncio.Barrier, deadline: float | None) -> None:
    await start.wait()  # all clients in flight together
    round_ = 0
    while round_ < ROUNDS or (deadline is not None and time.monotonic() < deadline):
        tag = {"client": str(number), "round": str(round_)}
        thread = (
            await send(
                "POST",
                "/threads",
                json={"messages": [{"role": "user", "content": text(number, round_, "inline")}], "metadata": tag},
            )
        ).json()
        thread_id = thread["id"]
        ledger.threads[thread_id] = thread
        listed = (await send("GET", f"/threads/{thread_id}/messages", params={"order": "asc"})).json()["data"]
        messages = ledger.messages[thread_id] = {m["id"]: m for m in listed}
        for role in ("user", "assistant"):
            message = (
                await send(
                    "POST",
                    f"/threads/{thread_id}/messages",
                    json={"role": role, "content": text(number, round_, role), "metadata": tag},
                )
            ).json()
            messages[message["id"]] = message
        first, second, third = list(messages)
        modified = await send("POST", f"/threads/{thread_id}", json={"metadata": {"modified": f"{number}.{round_}"}})
        ledger.threads[thread_id] = modified.json()
        changed = await send(
            "POST", f"/threads/{thread_id}/messages/{second}", json={"metadata": {"changed": text(number, round_, "")}}
        )
        messages[second] = changed.json()
        await send("DELETE", f"/threads/{thread_id}/messages/{first}")
        del messages[first]
        ledger.deleted_messages.append((thread_id, first))
        if (number + round_) % 2 == 1:
            # Gone with its messages: the thread and the one left (third) must both answer 404.
            await send("DELETE", f"/threads/{thread_id}")
            del ledger.threads[thread_id], ledger.messages[thread_id]
            ledger.deleted_threads.append(thread_id)
            ledger.deleted_messages.append((thread_id, third))
        round_ += 1


async def check_client(send: Send, ledger: Ledger) -> None:
    for thread_id, expected in ledger.threads.items():
        assert (await send("GET", f"/threads/{thread_id}")).json() == expected
        listed = await send("GET", f"/threads/{thread_id}/messages", params={"order": "asc", "limit": 100})
        assert listed.json()["data"] == list(ledger.messages[thread_id].values())
        for message_id, message in ledger.messages[thread_id].items():
            assert (await send("GET", f"/threads/{thread_id}/messages/{message_id}")).json() == message
    for thread_id in ledger.deleted_threads:
        await send("GET", f"/threads/{thread_id}", expect=404)
    for thread_id, message_id in ledger.deleted_messages:
        await send("GET", f"/threads/{thread_id}/messages/{message_id}", expect=404)


async def run_load(base_url: str, clients: int) -> tuple[list[Ledger], Tally]:
    tally = Tally()
    # One connection per client, as separate programs would have: one shared pool of 200 connections
    # spends more time choosing a connection than the server spends answering.
    https = [
        httpx.AsyncClient(
            base_url=base_url,
            headers=HEADERS,
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=1),
            verify=SHARED_SSL,
        )
        for _ in range(clients)
    ]

    def sender(http: httpx.AsyncClient) -> Send:
        async def send(method: str, path: str, *, expect: int = 200, **options: Any) -> httpx.Response:
            response = await http.request(method, path, **options)
            tally.requests += 1
            tally.statuses[response.status_code] += 1
            if response.status_code != expect:
                # Recorded, then raised: the client stops, since its ledger can no longer say what is stored.
                tally.failures.append(f"{method} {path} -> {response.status_code} {response.text[:300]}")
                raise AssertionError(tally.failures[-1])
            return response

        return send

    try:
        ledgers = [Ledger() for _ in range(clients)]
        start = asyncio.Barrier(clients)
        deadline = None if SECONDS is None else time.monotonic() + SECONDS
        await asyncio.gather(*(one_client(n, sender(https[n]), ledgers[n], start, deadline) for n in range(clients)))
        # Checked by as many clients at once, so reads race with nothing but each other.
        await asyncio.gather(*(check_client(sender(https[n]), ledgers[n]) for n in range(clients)))
    finally:
        await asyncio.gather(*(http.aclose() for http in https))
    return ledgers, tally


STORES = [pytest.param(("memory",), id="memory"), pytest.param(("sqlite",), id="sqlite")]
if SECONDS is not None:
    STORES.append(pytest.param(("sqlite", "--workers", "2"), id="sqlite-2-workers"))


@pytest.mark.parametrize("store", STORES)
def test_concurrent_clients_lose_nothing(tmp_path: Path, store: tuple[str, ...]) -> None:
    url = "memory" if store[0] == "memory" else f"sqlite:{tmp_path / 'load.db'}"
    with serving(*QUIET, "--store", url, *store[1:]) as server:
        started = time.monotonic()
        ledgers, tally = asyncio.run(run_load(f"{server.url}/v1", CLIENTS))
        elapsed = time.monotonic() - started
        health = httpx.get(f"{server.url}/__mock__/health").json()

    assert tally.failures == []
    assert set(tally.statuses) == {200, 404}
    live = sum(len(ledger.threads) for ledger in ledgers)
    # Nothing else is stored: no thread was created twice, none lost, none evicted.
    assert health["store"]["threads"] == live
    assert health["store"]["evicted"] == 0
    assert sum(len(ledger.deleted_threads) for ledger in ledgers) >= CLIENTS // 2
    assert live >= CLIENTS // 2
    assert "Traceback" not in server.output
    print(f"\n{store}: {CLIENTS} clients, {tally.requests} requests in {elapsed:.1f}s, {live} threads kept")
