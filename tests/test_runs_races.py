"""Runs moved by several requests at once: a stream and polls, polls together, runs started together, metadata
merged together. On a store that yields to the event loop inside every call (as a network backend does), so
that what is not atomic interleaves; each run still takes each step once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from mock_server import Settings, create_app
from mock_server.errors import APIError
from mock_server.ids import Identity
from mock_server.runs.machine import RUN, RunMachine
from mock_server.runs.objects import assistant_object, run_object
from mock_server.store import Backend, ListQuery, Store, Versioned, store_for
from mock_server.store.conformance import Yielding, thread
from mock_server.store.registry import backends

from .helpers import HEADERS, TEXT_REPLY_EVENTS

pytestmark = pytest.mark.anyio

# The message of a thread with an active run, as the real API refused it.
ACTIVE_RUN = "already has an active run"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "yielding"])
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A backend registered for the test only: the memory store behind a turn of the event loop in every call."""
    yielding = Backend("yielding", "yielding", lambda url, *limits: Yielding(store_for("memory", *limits)))
    monkeypatch.setitem(backends(), "yielding", yielding)
    return str(request.param)


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(store=store_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1", headers=HEADERS) as client:
        yield client


async def ok(response: Any) -> dict[str, Any]:
    answered = await response
    assert answered.status_code == 200, answered.text
    body: dict[str, Any] = answered.json()
    return body


async def ok_response(response: Any) -> httpx.Response:
    answered: httpx.Response = await response
    assert answered.status_code == 200, answered.text
    return answered


async def run_on_a_thread(api: httpx.AsyncClient, text: str = "hi") -> tuple[str, str]:
    assistant = await ok(api.post("/assistants", json={"model": "gpt-4o"}))
    thread_id = (await ok(api.post("/threads", json={"messages": [{"role": "user", "content": text}]})))["id"]
    run = await ok(api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant["id"]}))
    return thread_id, run["id"]


async def assistant_messages(api: httpx.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    listed = await ok(api.get(f"/threads/{thread_id}/messages"))
    return [m for m in listed["data"] if m["role"] == "assistant"]


def events_of(stream: str) -> list[tuple[str, Any]]:
    events = []
    for block in stream.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], lines["data"]))
    return events


async def test_polls_at_once_finish_a_run_once(api: httpx.AsyncClient) -> None:
    thread_id, run_id = await run_on_a_thread(api)
    statuses: set[str] = set()
    while "completed" not in statuses:
        answers = await asyncio.gather(*(ok(api.get(f"/threads/{thread_id}/runs/{run_id}")) for _ in range(8)))
        statuses |= {answer["status"] for answer in answers}
    assert len(await assistant_messages(api, thread_id)) == 1
    steps = await ok(api.get(f"/threads/{thread_id}/runs/{run_id}/steps"))
    assert [step["type"] for step in steps["data"]] == ["message_creation"]


async def test_a_stream_and_polls_end_a_run_once(api: httpx.AsyncClient) -> None:
    rule = {"match": "weather", "tool_calls": [{"function": "get_weather"}], "then": "Sunny."}
    (await api.post("http://mock/__mock__/replies", json=rule)).raise_for_status()
    thread_id, run_id = await run_on_a_thread(api, "weather?")
    path = f"/threads/{thread_id}/runs/{run_id}"
    while (run := await ok(api.get(path)))["status"] != "requires_action":
        pass
    call_id = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    outputs = {"tool_outputs": [{"tool_call_id": call_id, "output": "20C"}], "stream": True}

    async def poll_to_the_end() -> None:
        while (await ok(api.get(path)))["status"] != "completed":
            pass

    streamed, *_ = await asyncio.gather(
        ok_response(api.post(f"{path}/submit_tool_outputs", json=outputs)), *(poll_to_the_end() for _ in range(4))
    )
    events = events_of(streamed.text)
    assert events[-1] == ("done", "[DONE]")
    assert events[-2][0] == "thread.run.completed"
    assert orjson.loads(events[-2][1])["status"] == "completed"
    messages = await assistant_messages(api, thread_id)
    assert [m["content"][0]["text"]["value"] for m in messages] == ["Sunny."]


async def test_a_paced_file_search_stream_and_ten_pollers_search_and_cite_once(api: httpx.AsyncClient) -> None:
    text = b"Refunds are paid within 30 days of a return."
    form = {"file": ("refunds.txt", text)}
    file_id = (await ok(api.post("/files", files=form, data={"purpose": "assistants"})))["id"]
    store_id = (await ok(api.post("/vector_stores", json={"file_ids": [file_id]})))["id"]
    resources = {"file_search": {"vector_store_ids": [store_id]}}
    body = {"model": "gpt-4o", "tools": [{"type": "file_search"}], "tool_resources": resources}
    assistant = await ok(api.post("/assistants", json=body))
    thread_id = (await ok(api.post("/threads", json={"messages": [{"role": "user", "content": "refunds?"}]})))["id"]
    run_body = {"assistant_id": assistant["id"], "stream": True}
    streamed = asyncio.create_task(
        ok_response(
            api.post(f"/threads/{thread_id}/runs", json=run_body, headers={"X-Mock-Pace": "deltas_per_second=50"})
        )
    )
    while not (runs := (await ok(api.get(f"/threads/{thread_id}/runs")))["data"]):
        await asyncio.sleep(0)
    path = f"/threads/{thread_id}/runs/{runs[0]['id']}"

    async def poll_to_the_end() -> None:
        while (await ok(api.get(path)))["status"] != "completed":
            pass

    await asyncio.gather(*(poll_to_the_end() for _ in range(10)))
    names = [name for name, _ in events_of((await streamed).text)]
    assert names.count("thread.run.step.created") == 2 and names.count("thread.run.completed") == 1
    steps = (await ok(api.get(f"{path}/steps")))["data"]
    assert sorted(step["type"] for step in steps) == ["message_creation", "tool_calls"]
    (message,) = await assistant_messages(api, thread_id)
    (annotation,) = message["content"][0]["text"]["annotations"]
    assert annotation["file_citation"]["file_id"] == file_id


async def test_runs_started_at_once_on_one_thread_start_one(api: httpx.AsyncClient) -> None:
    assistant = await ok(api.post("/assistants", json={"model": "gpt-4o"}))
    thread_id = (await ok(api.post("/threads")))["id"]
    answers = await asyncio.gather(
        *(api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant["id"]}) for _ in range(8))
    )
    started = [answer.json()["id"] for answer in answers if answer.status_code == 200]
    assert len(started) == 1
    refusals = [answer.json()["error"]["message"] for answer in answers if answer.status_code != 200]
    assert refusals == [f"Thread {thread_id} {ACTIVE_RUN} {started[0]}."] * 7
    runs = await ok(api.get(f"/threads/{thread_id}/runs"))
    assert [run["id"] for run in runs["data"]] == started


async def test_metadata_merged_at_once_keeps_every_key(api: httpx.AsyncClient) -> None:
    thread_id, run_id = await run_on_a_thread(api)
    assistant_id = (await ok(api.get(f"/threads/{thread_id}/runs/{run_id}")))["assistant_id"]
    message_id = (await ok(api.get(f"/threads/{thread_id}/messages")))["data"][0]["id"]
    paths = [
        f"/threads/{thread_id}",
        f"/threads/{thread_id}/messages/{message_id}",
        f"/assistants/{assistant_id}",
        f"/threads/{thread_id}/runs/{run_id}",
    ]
    answers = await asyncio.gather(
        *(api.post(path, json={"metadata": {f"k{i}": str(i)}}) for path in paths for i in range(16)),
        *(api.get(f"/threads/{thread_id}/runs/{run_id}") for _ in range(8)),  # the run moves meanwhile
    )
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers if a.status_code != 200]
    expected = {f"k{i}": str(i) for i in range(16)}
    for path in paths:
        assert (await ok(api.get(path)))["metadata"] == expected, path


# -- the machine itself: a stale copy of a run, as a stream holds one while it waits


@pytest.fixture(params=["memory", "yielding"])
def store(request: pytest.FixtureRequest) -> Store:
    store = store_for("memory")
    return Yielding(store) if request.param == "yielding" else store


async def started(store: Store, machine: RunMachine, run_id: str = "run_1", *, streamed: bool = False) -> Versioned:
    await store.create_thread("p", thread("thread_a"), [])
    assistant = assistant_object("asst_1", 1, {"model": "gpt-4o"}, {})
    record = {
        "run": run_object(run_id, "thread_a", 1, assistant, {}),
        "plan": {"outcome": "reply", "text": "Hello."},
        "hold": 0,
        "answer_at": 0.0,
        "step_id": None,
        "usage": None,
        "prompt_tokens": 1,
        "log": [] if streamed else None,
    }
    held, _ = await machine.start("p", record)
    return held


async def test_a_stale_copy_of_a_run_does_not_finish_it_again(store: Store) -> None:
    machine = RunMachine(store, Identity(1))
    held = await started(store, machine, streamed=True)
    await machine.advance("p", held)  # a poll: in_progress
    stale = await store.read_record("p", RUN, "run_1")
    assert stale is not None
    assert [name for name, _ in await machine.advance("p", held)][-1] == "thread.run.completed"
    # The stream's driver wakes with the copy it read before the polls moved the run: it sends what they did,
    # once, in order, and ends where the run is.
    sent = [name for events in [batch async for batch in machine.drive("p", stale)] for name, _ in events]
    assert sent == TEXT_REPLY_EVENTS[2:]  # from in_progress on, one delta
    final = await store.read_record("p", RUN, "run_1")
    assert final is not None and final.data["log"] is None and final.data["run"] == held.data["run"]
    listed = await store.list_messages("p", "thread_a", ListQuery())
    assert listed is not None and len(listed.items) == 1
    assert await store.get_record("p", "active_run", "thread_a") is None


async def test_runs_started_at_once_by_the_machine_start_one(store: Store) -> None:
    machine = RunMachine(store, Identity(1))
    await store.create_thread("p", thread("thread_a"), [])
    outcomes = await asyncio.gather(
        *(started_quietly(store, machine, f"run_{i}") for i in range(8)), return_exceptions=True
    )
    winners = [outcome for outcome in outcomes if isinstance(outcome, Versioned)]
    assert len(winners) == 1
    winner = winners[0].data["run"]["id"]
    refusals = [outcome.message for outcome in outcomes if isinstance(outcome, APIError)]
    assert refusals == [f"Thread thread_a {ACTIVE_RUN} {winner}."] * 7
    assert await store.get_record("p", "active_run", "thread_a") == {"run_id": winner}


async def started_quietly(store: Store, machine: RunMachine, run_id: str) -> Versioned:
    assistant = assistant_object("asst_1", 1, {"model": "gpt-4o"}, {})
    record = {"run": run_object(run_id, "thread_a", 1, assistant, {}), "plan": {"outcome": "expired"}, "hold": 0}
    held, _ = await machine.start("p", record)
    return held
