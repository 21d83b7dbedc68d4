"""A fleet as users run one: three `threads-mock serve` processes on three ports, one real redis-server, and
many concurrent clients of the official SDK (AsyncOpenAI) spread over them. State, fault counters, the rate
limit and the journal are the fleet's, not an instance's."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from openai import DEFAULT_CONNECTION_LIMITS, AsyncOpenAI, DefaultAsyncHttpxClient

from ..helpers import HEADERS, QUIET, Served, serving

INSTANCES = 3
CLIENTS = int(os.environ.get("FLEET_CLIENTS", "200"))
PROJECT_KEY = "sk-fleet"
SDK_DEPRECATIONS = [
    pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:deprecated$:DeprecationWarning"),
]
pytestmark = SDK_DEPRECATIONS


@pytest.fixture
def start_fleet(redis_url: str) -> Iterator[Any]:
    """Starts INSTANCES servers on one Redis namespace (this test's), stopped after the test."""
    with ExitStack() as stack:

        def start(*args: str, count: int = INSTANCES, store: str = redis_url) -> list[Served]:
            return [stack.enter_context(serving(*QUIET, "--store", store, *args)) for _ in range(count)]

        yield start


def sdk(server: Served, client: int | None = None) -> AsyncOpenAI:
    """The SDK as a user's program makes it; no retries, so that every request the test counts is one request.
    `client` marks each of its requests with an X-Fleet-Client header, which the journal keeps."""
    headers = {} if client is None else {"X-Fleet-Client": str(client)}
    # The SDK keeps an idle connection 5 s, as long as uvicorn does: a request sent on one just as the server
    # closes it fails with "Server disconnected" (seen under load). Clients let go of them sooner here.
    limits = type(DEFAULT_CONNECTION_LIMITS)(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=1.0)
    return AsyncOpenAI(
        base_url=f"{server.url}/v1",
        api_key=PROJECT_KEY,
        max_retries=0,
        timeout=60,
        default_headers=headers,
        http_client=DefaultAsyncHttpxClient(limits=limits),
    )


def admin(server: Served, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{server.url}/__mock__{path}", timeout=30, **kwargs)


def raw(server: Served) -> httpx.AsyncClient:
    headers = {**HEADERS, "Authorization": f"Bearer {PROJECT_KEY}"}
    return httpx.AsyncClient(base_url=f"{server.url}/v1", headers=headers, timeout=30)


def test_many_clients_share_threads_runs_and_one_ordered_journal(start_fleet: Any) -> None:
    """Each client makes a thread on one instance, reads it on the next, messages it on the third, runs it on
    the first and polls it on the second: every answer is the fleet's; the journal has every request once, in
    each client's order."""
    fleet = start_fleet()

    async def main() -> list[dict[str, Any]]:
        setup = sdk(fleet[0])
        assistant = await setup.beta.assistants.create(model="gpt-4o", name="Fleet")
        await setup.close()

        async def client(n: int) -> dict[str, Any]:
            a, b, c = (sdk(fleet[(n + i) % INSTANCES], client=n) for i in range(3))
            try:
                thread = await a.beta.threads.create(messages=[{"role": "user", "content": f"hello {n}"}])
                assert (await b.beta.threads.retrieve(thread.id)).id == thread.id
                await c.beta.threads.messages.create(thread.id, role="user", content=f"again {n}")
                run = await a.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
                polls = 0
                while run.status not in ("completed", "failed", "cancelled", "expired", "incomplete"):
                    run = await b.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
                    polls += 1
                messages = await c.beta.threads.messages.list(thread.id, order="asc")
                return {
                    "n": n,
                    "status": run.status,
                    "texts": [m.content[0].text.value for m in messages.data],  # type: ignore[union-attr]
                    "requests": 5 + polls,
                }
            finally:
                for each in (a, b, c):
                    await each.close()

        return await asyncio.gather(*(client(n) for n in range(CLIENTS)))

    results = asyncio.run(main())
    for result in results:
        n = result["n"]
        assert result["status"] == "completed", result
        assert result["texts"] == [f"hello {n}", f"again {n}", f'You said: "again {n}"'], result
    # The journal, read from any instance, holds each client's requests once and in the order it sent them.
    for server in fleet:
        entries = admin(server, "GET", "/requests").json()["data"]
        ids = [entry["id"] for entry in entries]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        by_client: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            if "x-fleet-client" in entry["headers"]:
                by_client.setdefault(entry["headers"]["x-fleet-client"], []).append(entry)
        assert len(by_client) == CLIENTS
        for result in results:
            sent = by_client[str(result["n"])]
            assert len(sent) == result["requests"], (result, [(e["method"], e["path"]) for e in sent])
            assert [e["method"] for e in sent[:3]] == ["POST", "GET", "POST"]
            assert sent[-1]["method"] == "GET" and sent[-1]["path"].endswith("/messages")
    # The dashboard's table reads the same shared journal, whichever instance the page polls.
    for server in fleet:
        rows = admin(server, "GET", "/dashboard/requests").json()
        assert rows["last_id"] == max(entry["id"] for entry in entries)
        assert {row["id"] for row in rows["data"]} <= {entry["id"] for entry in entries}
        assert len(rows["data"]) == min(len(entries), 1000) and not rows["reset"]


def test_a_run_streamed_from_one_and_polled_from_another_ends_once(start_fleet: Any) -> None:
    streamer, poller = start_fleet("--pace", "first_delta_ms=200,deltas_per_second=20", count=2)

    async def main() -> tuple[list[str], list[str], Any]:
        a, b = sdk(streamer), sdk(poller)
        assistant = await a.beta.assistants.create(model="gpt-4o")
        thread = await a.beta.threads.create(
            messages=[{"role": "user", "content": "one two three four five six seven eight"}]
        )
        events: list[str] = []
        seen: list[str] = []
        stream = await a.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, stream=True)
        run_id = ""
        polling = True

        async def poll() -> None:
            while polling:
                if run_id:
                    run = await b.beta.threads.runs.retrieve(run_id, thread_id=thread.id)
                    seen.append(run.status)
                await asyncio.sleep(0.01)

        poller_task = asyncio.create_task(poll())
        async for event in stream:
            events.append(event.event)
            if event.event == "thread.run.created":
                run_id = event.data.id
        polling = False
        await poller_task
        messages = await b.beta.threads.messages.list(thread.id, run_id=run_id)
        steps = await b.beta.threads.runs.steps.list(run_id, thread_id=thread.id)
        final = await b.beta.threads.runs.retrieve(run_id, thread_id=thread.id)
        await a.close()
        await b.close()
        return events, seen, (messages.data, steps.data, final)

    events, seen, (messages, steps, final) = asyncio.run(main())
    assert seen, "the poller never saw the run"
    ends = [e for e in events if e in ("thread.run.completed", "thread.run.failed", "thread.run.cancelled")]
    assert ends == ["thread.run.completed"], events
    assert final.status == "completed"
    assert len(messages) == 1 and messages[0].role == "assistant"
    assert [step.type for step in steps] == ["message_creation"]


def test_the_rate_limit_admits_exactly_its_number_across_the_fleet(start_fleet: Any) -> None:
    """60 an hour: one token comes back a minute, so however long the burst takes on a loaded machine, exactly 60
    get through (at 60/min one comes back a second, and a burst of 180 requests here takes about two)."""
    fleet = start_fleet("--rate-limit", "60/h")

    async def main() -> list[httpx.Response]:
        clients = [raw(server) for server in fleet]
        try:
            return await asyncio.gather(*(clients[i % INSTANCES].get(f"/threads/thread_{i}") for i in range(3 * 60)))
        finally:
            for c in clients:
                await c.aclose()

    answers = asyncio.run(main())
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(404) == 60 and statuses.count(429) == 2 * 60, statuses
    remaining = sorted(int(a.headers["x-ratelimit-remaining-requests"]) for a in answers if a.status_code == 404)
    assert remaining == list(range(60)), "each admitted request took the fleet's next token"


def test_a_fault_added_on_one_instance_fires_its_times_across_all(start_fleet: Any) -> None:
    fleet = start_fleet()
    added = admin(fleet[0], "POST", "/faults", json={"match": "GET /v1/threads/*", "status": 503, "times": 5})
    assert added.status_code == 201, added.text
    rule_id = added.json()["id"]

    async def main() -> list[int]:
        clients = [raw(server) for server in fleet]
        try:
            answers = await asyncio.gather(*(clients[i % INSTANCES].get(f"/threads/thread_{i}") for i in range(60)))
            return [answer.status_code for answer in answers]
        finally:
            for c in clients:
                await c.aclose()

    statuses = asyncio.run(main())
    assert statuses.count(503) == 5 and statuses.count(404) == 55, statuses
    for server in fleet:
        described = admin(server, "GET", f"/faults/{rule_id}").json()
        assert (described["matched"], described["applied"]) == (60, 5)
    # Removed through another instance: gone from all, at once.
    assert admin(fleet[2], "DELETE", f"/faults/{rule_id}").status_code == 200
    for server in fleet:
        assert admin(server, "GET", "/faults").json()["data"] == []
    every_time = {"match": "GET /v1/threads/*", "status": 500}
    assert admin(fleet[1], "POST", "/faults", json=every_time).status_code == 201
    assert httpx.get(f"{fleet[0].url}/v1/threads/thread_x", headers=HEADERS).status_code == 500


def test_kill_9_of_one_instance_under_load_loses_no_acknowledged_write(start_fleet: Any) -> None:
    fleet = start_fleet()
    victim = fleet[0]
    acknowledged: dict[str, list[str]] = {}  # thread id -> the message ids an instance answered with a 200
    killed = asyncio.Event()

    async def writer(n: int) -> int:
        """Writes through its instance until the victim is killed and for a while after; counts its failures."""
        client = raw(fleet[n % INSTANCES])
        failures = 0
        written_after = 0
        try:
            while written_after < 5:
                try:
                    thread = await client.post("/threads", json={})
                    if thread.status_code != 200:
                        failures += 1
                        continue
                    thread_id = thread.json()["id"]
                    acknowledged[thread_id] = []
                    for k in range(3):
                        answer = await client.post(
                            f"/threads/{thread_id}/messages", json={"role": "user", "content": str(k)}
                        )
                        if answer.status_code == 200:
                            acknowledged[thread_id].append(answer.json()["id"])
                    if killed.is_set():
                        written_after += 1
                except httpx.TransportError:
                    failures += 1
                    if n % INSTANCES != 0:
                        raise  # a survivor must go on answering
                    if killed.is_set():
                        return failures
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        return failures

    async def main() -> list[int]:
        tasks = [asyncio.create_task(writer(n)) for n in range(30)]
        await asyncio.sleep(1.5)
        os.kill(victim.process.pid, signal.SIGKILL)
        killed.set()
        return await asyncio.gather(*tasks)

    asyncio.run(main())
    assert victim.process.wait(10) == -signal.SIGKILL
    survivors = fleet[1:]
    assert len(acknowledged) > 30

    async def check() -> None:
        client = raw(survivors[0])
        try:
            for thread_id, message_ids in acknowledged.items():
                thread = await client.get(f"/threads/{thread_id}")
                assert thread.status_code == 200, (thread_id, thread.text)
                listed = await client.get(f"/threads/{thread_id}/messages", params={"order": "asc", "limit": 100})
                kept = [m["id"] for m in listed.json()["data"]]
                assert set(message_ids) <= set(kept), (thread_id, message_ids, kept)
        finally:
            await client.aclose()

    asyncio.run(check())


def test_redis_restarted_loses_nothing_and_the_fleet_recovers_by_itself(
    start_fleet: Any, persistent_redis: Any
) -> None:
    fleet = start_fleet(count=2, store=f"{persistent_redis.url}?namespace=restart")
    one, two = (httpx.Client(base_url=f"{s.url}/v1", headers=HEADERS, timeout=30) for s in fleet)
    try:
        made = [one.post("/threads", json={"metadata": {"n": str(i)}}).json()["id"] for i in range(20)]
        persistent_redis.kill()
        for client in (one, two):
            for down in (client.post("/threads", json={}), client.get(f"/threads/{made[0]}")):
                assert down.status_code == 503, down.text
                assert down.json()["error"]["type"] == "server_error", down.text
                assert down.headers["retry-after"] == "1" and down.headers["x-request-id"]
        persistent_redis.start()  # the same port and directory: its append-only file is read back
        for client in (one, two):
            assert client.get(f"/threads/{made[0]}").status_code == 200  # no restart of the mock
        for i, thread_id in enumerate(made):
            assert two.get(f"/threads/{thread_id}").json()["metadata"] == {"n": str(i)}
        assert one.post("/threads", json={}).status_code == 200
    finally:
        one.close()
        two.close()


def test_instances_in_other_namespaces_see_nothing_of_each_other(start_fleet: Any, redis_url: str) -> None:
    base = redis_url.partition("?")[0]
    (mine,) = start_fleet(count=1, store=f"{base}?namespace=mine")
    (theirs,) = start_fleet(count=1, store=f"{base}?namespace=theirs")
    with (
        httpx.Client(base_url=f"{mine.url}/v1", headers=HEADERS) as a,
        httpx.Client(base_url=f"{theirs.url}/v1", headers=HEADERS) as b,
    ):
        thread_id = a.post("/threads", json={}).json()["id"]
        assert b.get(f"/threads/{thread_id}").status_code == 404
        b.post("/threads", json={}).raise_for_status()
        assert admin(theirs, "POST", "/reset").status_code == 200
        assert a.get(f"/threads/{thread_id}").status_code == 200
        assert admin(theirs, "GET", "/health").json()["store"]["threads"] == 0
